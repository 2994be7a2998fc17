"""Both clients behind one factory, so every client test runs against ``CaseSearch`` and
``AsyncCaseSearch`` alike (the way qdrant-client's congruence tests run both backends).

``connect("async", ...)`` gives an ``AsyncCaseSearch`` driven from synchronous test code
(``Blocking``): each method's coroutine runs to completion on the client's own event loop, and
``search_all``'s async iterator is read to the end.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Literal, cast

import httpx
from casesearch_client import AsyncCaseSearch, CaseSearch

Kind = Literal["sync", "async"]
KINDS: tuple[Kind, ...] = ("sync", "async")


class Blocking:
    """An ``AsyncCaseSearch`` used as a ``CaseSearch`` is (one event loop, for the pool)."""

    def __init__(self, client: AsyncCaseSearch) -> None:
        self._client = client
        self._runner = asyncio.Runner()

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._client, name)

        def blocking(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            if isinstance(result, AsyncIterator):
                return iter(self._runner.run(_drain(result)))
            return self._runner.run(result)

        return blocking

    def close(self) -> None:
        self._runner.run(self._client.aclose())
        self._runner.close()

    def __enter__(self) -> Blocking:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


async def _drain(items: AsyncIterator[Any]) -> list[Any]:
    return [item async for item in items]


def connect(
    kind: Kind,
    url: str,
    token: str,
    *,
    waits: list[float] | None = None,
    lose_answers: int = 0,
    **options: Any,
) -> CaseSearch:
    """A client of ``kind`` for ``url``. ``waits`` records each wait between attempts instead
    of waiting; ``lose_answers``: the first that many requests reach the server, but the
    connection breaks before the answer arrives (``httpx.ReadError``)."""
    losses = _Losses(lose_answers)
    if kind == "sync":
        if waits is not None:
            options["sleep"] = waits.append
        return CaseSearch(url, token, transport=_LosingAnswers(losses), **options)
    if waits is not None:
        options["sleep"] = _async_appender(waits)
    client = AsyncCaseSearch(url, token, transport=_AsyncLosingAnswers(losses), **options)
    return cast(CaseSearch, Blocking(client))  # it answers every CaseSearch call alike


def _async_appender(waits: list[float]) -> Callable[[float], Awaitable[None]]:
    async def record(seconds: float) -> None:
        waits.append(seconds)

    return record


class _Losses:
    """How many answers are still to be lost."""

    def __init__(self, count: int) -> None:
        self.count = count

    def lose(self) -> bool:
        if not self.count:
            return False
        self.count -= 1
        return True


LOST = "the connection broke after the request was sent"


class _LosingAnswers(httpx.HTTPTransport):
    def __init__(self, losses: _Losses) -> None:
        super().__init__()
        self.losses = losses

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if self.losses.lose():
            response.read()
            raise httpx.ReadError(LOST, request=request)
        return response


class _AsyncLosingAnswers(httpx.AsyncHTTPTransport):
    def __init__(self, losses: _Losses) -> None:
        super().__init__()
        self.losses = losses

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        if self.losses.lose():
            await response.aread()
            raise httpx.ReadError(LOST, request=request)
        return response
