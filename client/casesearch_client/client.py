"""``CaseSearch``: the case-record search API over HTTP, typed, with retries (see ``retry``).

The methods (``search``, ``document``, ``timeline``, ``patterns``, ``chronology``, ``push``,
``delete``, ``changes``) are defined once, in ``calls``, and shared with ``AsyncCaseSearch``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any, TypeVar, Unpack

import httpx

from casesearch_client.calls import Call
from casesearch_client.endpoints import Endpoints, connection
from casesearch_client.models import SearchResult
from casesearch_client.retry import Options, Outcome, Policy, Retrying

Answer = TypeVar("Answer")


class CaseSearch(Endpoints):
    """A client for one server and one bearer token. Use as a context manager, or ``close()``.

    ``token`` is a JWT with the caller's ``sub`` and ``principals`` (for pushes, one holding
    ``role:ingest``). ``options``: ``timeout`` (30 s a request), ``retries`` (3),
    ``backoff`` (0.5 s) and ``max_wait`` (30 s), as ``retry.Policy`` says. ``sleep`` waits
    between attempts; ``transport`` is for tests and proxies (an ``httpx.BaseTransport``).
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
        **options: Unpack[Options],
    ) -> None:
        self.policy = Policy(**options)
        self._http = httpx.Client(**connection(base_url, token, self.policy), transport=transport)
        self._sleep = sleep

    def __enter__(self) -> CaseSearch:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def search_all(
        self, query: str, *, page_size: int = 50, **filters: Any
    ) -> Iterator[SearchResult]:
        """Every result of a search, page after page (one audited search per page)."""
        offset: int | None = 0
        while offset is not None:
            page = self.search(query, top_k=page_size, offset=offset, **filters)
            yield from page.results
            offset = page.next_offset

    def _run(self, call: Call[Answer]) -> Answer:
        retrying = Retrying(self.policy, call)
        while isinstance(step := retrying.step(self._attempt(call)), float):
            self._sleep(step)
        return call.read(step)

    def _attempt(self, call: Call[Any]) -> Outcome:
        try:
            return self._http.request(call.method, call.path, **call.options)
        except httpx.TransportError as exc:
            return exc
