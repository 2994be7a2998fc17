"""``AsyncCaseSearch``: ``CaseSearch`` for asyncio (``httpx.AsyncClient``): the same methods,
each awaited, with the same retries and idempotency rules (``retry``), from the same
definitions (``calls``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Any, TypeVar, Unpack

import httpx

from casesearch_client.calls import Call
from casesearch_client.endpoints import Endpoints, connection
from casesearch_client.models import SearchResult
from casesearch_client.retry import Options, Outcome, Policy, Retrying

Answer = TypeVar("Answer")


class AsyncCaseSearch(Endpoints):
    """A client for one server and one bearer token, for ``async with`` (or ``aclose()``).

    Arguments as ``CaseSearch``'s; ``sleep`` is awaited between attempts (``asyncio.sleep``)
    and ``transport`` is an ``httpx.AsyncBaseTransport``. One client may serve many
    concurrent calls (``asyncio.gather``), as one ``httpx.AsyncClient`` does.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
        **options: Unpack[Options],
    ) -> None:
        self.policy = Policy(**options)
        self._http = httpx.AsyncClient(
            **connection(base_url, token, self.policy), transport=transport
        )
        self._sleep = sleep

    async def __aenter__(self) -> AsyncCaseSearch:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def search_all(
        self, query: str, *, page_size: int = 50, **filters: Any
    ) -> AsyncIterator[SearchResult]:
        """Every result of a search, page after page (one audited search per page)."""
        offset: int | None = 0
        while offset is not None:
            page = await self.search(query, top_k=page_size, offset=offset, **filters)
            for result in page.results:
                yield result
            offset = page.next_offset

    async def _run(self, call: Call[Answer]) -> Answer:
        retrying = Retrying(self.policy, call)
        while isinstance(step := retrying.step(await self._attempt(call)), float):
            await self._sleep(step)
        return call.read(step)

    async def _attempt(self, call: Call[Any]) -> Outcome:
        try:
            return await self._http.request(call.method, call.path, **call.options)
        except httpx.TransportError as exc:
            return exc
