"""``CaseSearch``: the case-record search API over HTTP, typed, with retries.

Retries: an answer of 429 or 503 means the server did nothing (it refused before acting), so
every call is retried on them, after the answer's ``Retry-After`` or else an exponential
backoff, at most ``retries`` times and never waiting longer than ``max_wait`` seconds at once
(a longer ``Retry-After`` is raised at once as ``RateLimited`` / ``Unavailable``). A connection
that could not be made is retried the same way. A connection that failed after the request was
sent is retried only for idempotent calls: reads, ``delete`` and ``push`` (the server applies
a record it already holds as "unchanged"); a search is then not sent twice, since each search
the server serves writes an audit event.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from casesearch_client.errors import (
    ApiError,
    Forbidden,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    PushRejected,
    RateLimited,
    ServerError,
    TransportError,
    Unauthorized,
    Unavailable,
)
from casesearch_client.models import (
    ChangesPage,
    Chronology,
    Document,
    Patterns,
    PushResult,
    SearchPage,
    SearchResult,
    Timeline,
)

Answer = TypeVar("Answer", bound=BaseModel)
RETRY_STATUSES = frozenset({429, 503})
_BY_STATUS: dict[int, type[ApiError]] = {
    400: InvalidRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    413: PayloadTooLarge,
    422: InvalidRequest,
}


class CaseSearch:
    """A client for one server and one bearer token. Use as a context manager, or ``close()``.

    ``token`` is a JWT with the caller's ``sub`` and ``principals`` (for pushes, one holding
    ``role:ingest``). ``transport`` is for tests and proxies (an ``httpx.BaseTransport``).
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.5,
        max_wait: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
        )
        self.retries = retries
        self.backoff = backoff
        self.max_wait = max_wait
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

    # -- reading ------------------------------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        case_id: str | None = None,
        doc_types: Sequence[str] = (),
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
        top_k: int = 10,
        offset: int = 0,
        understand: bool = True,
    ) -> SearchPage:
        """One page of results within the caller's rights (``next_offset`` for the next).
        ``understand=False`` searches the words exactly as typed."""
        body: dict[str, Any] = {"query": query, "top_k": top_k, "offset": offset}
        if not understand:
            body["understand"] = False
        body.update(_filters(case_id, doc_types, date_from, date_to))
        return self._call("POST", "/v1/search", SearchPage, json=body, idempotent=False)

    def search_all(
        self, query: str, *, page_size: int = 50, **filters: Any
    ) -> Iterator[SearchResult]:
        """Every result of a search, page after page (one audited search per page)."""
        offset: int | None = 0
        while offset is not None:
            page = self.search(query, top_k=page_size, offset=offset, **filters)
            yield from page.results
            offset = page.next_offset

    def document(self, document_id: str, *, search_id: str | None = None) -> Document:
        """The record; ``NotFound`` whether it is missing or not available to the caller."""
        params = {"search_id": search_id} if search_id else None
        return self._call("GET", f"/v1/documents/{_segment(document_id)}", Document, params=params)

    def timeline(
        self,
        case_id: str,
        *,
        doc_types: Sequence[str] = (),
        limit: int = 100,
        offset: int = 0,
    ) -> Timeline:
        """The case's records the caller may see, newest first, one page."""
        params: dict[str, Any] = {"limit": limit, "offset": offset, "doc_type": list(doc_types)}
        return self._call("GET", f"/v1/cases/{_segment(case_id)}/timeline", Timeline, params=params)

    def patterns(
        self,
        *,
        query: str | None = None,
        category: str | None = None,
        case_id: str | None = None,
        doc_types: Sequence[str] = (),
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
        include_weak: bool = False,
    ) -> Patterns:
        """The cases that show a concern: give ``query`` (free text) or ``category``."""
        body: dict[str, Any] = {"all": include_weak}
        if query is not None:
            body["query"] = query
        if category is not None:
            body["category"] = category
        body.update(_filters(case_id, doc_types, date_from, date_to))
        return self._call("POST", "/v1/patterns", Patterns, json=body, idempotent=False)

    def chronology(
        self,
        case_id: str,
        *,
        categories: Sequence[str] = (),
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
    ) -> Chronology:
        """The case's dated significant events, each a verbatim cited sentence."""
        params: dict[str, Any] = {"category": list(categories)}
        if date_from is not None:
            params["date_from"] = date_from.isoformat()
        if date_to is not None:
            params["date_to"] = date_to.isoformat()
        return self._call(
            "GET", f"/v1/cases/{_segment(case_id)}/chronology", Chronology, params=params
        )

    # -- writing (role:ingest) ----------------------------------------------------------------

    def push(self, records: Sequence[Mapping[str, Any]]) -> PushResult:
        """Add or replace records (and apply ``{"id": …, "deleted": true}`` tombstones).

        Each record is applied or rejected on its own: the answer's ``rejected`` lists those
        refused, with the reason. Raises ``PushRejected`` when none was applied.
        """
        return self._call(
            "POST", "/v1/records", PushResult, json={"records": list(records)}, idempotent=True
        )

    def delete(self, record_id: str) -> None:
        """Remove a record from every index; nothing happens if it is not there."""
        self._send("DELETE", f"/v1/records/{_segment(record_id)}", idempotent=True)

    def changes(self, since: str | None = None, *, limit: int = 100) -> ChangesPage:
        """What changed after the cursor ``since`` (``next_cursor`` of the previous page)."""
        params: dict[str, Any] = {"limit": limit}
        if since is not None:
            params["since"] = since
        return self._call("GET", "/v1/changes", ChangesPage, params=params)

    # -- internals ----------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        answer: type[Answer],
        *,
        idempotent: bool = True,
        **options: Any,
    ) -> Answer:
        response = self._send(method, path, idempotent=idempotent, **options)
        return answer.model_validate(response.json())

    def _send(self, method: str, path: str, *, idempotent: bool, **options: Any) -> httpx.Response:
        attempt = 0
        while True:
            try:
                response = self._http.request(method, path, **options)
            except httpx.TransportError as exc:
                never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                if attempt >= self.retries or not (never_sent or idempotent):
                    raise TransportError(f"{method} {path}: {exc}") from exc
                self._sleep(self._backoff(attempt))
                attempt += 1
                continue
            if response.status_code < 400:
                return response
            error = _error_of(response)
            wait = getattr(error, "retry_after", None)
            if response.status_code in RETRY_STATUSES and attempt < self.retries:
                delay = self._backoff(attempt) if wait is None else wait
                if delay <= self.max_wait:
                    self._sleep(delay)
                    attempt += 1
                    continue
            raise error

    def _backoff(self, attempt: int) -> float:
        """Exponential with full jitter: a random wait up to ``backoff * 2**attempt``."""
        return min(self.max_wait, random.uniform(0, self.backoff * 2**attempt))  # noqa: S311


def _filters(
    case_id: str | None,
    doc_types: Sequence[str],
    date_from: dt.date | None,
    date_to: dt.date | None,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if case_id is not None:
        out["case_id"] = case_id
    if doc_types:
        out["doc_types"] = list(doc_types)
    if date_from is not None:
        out["date_from"] = date_from.isoformat()
    if date_to is not None:
        out["date_to"] = date_to.isoformat()
    return out


def _segment(value: str) -> str:
    """``value`` as one URL path segment (every reserved character escaped)."""
    return quote(value, safe="")


def _retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (given as seconds or as an HTTP date), or None."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _error_of(response: httpx.Response) -> ApiError:
    """The exception for an error answer, with the server's code and message."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    detail = body.get("error") if isinstance(body, dict) else None
    if isinstance(detail, dict):
        code, message = str(detail.get("code", "http_error")), str(detail.get("message", ""))
    else:
        code, message = "http_error", response.text[:200]
    if status == 422 and isinstance(body, dict) and "results" in body:
        return PushRejected(status, code, message, PushResult.model_validate(body))
    if status == 429:
        return RateLimited(status, code, message, _retry_after(response))
    if status == 503:
        return Unavailable(status, code, message, _retry_after(response))
    if status >= 500:
        return ServerError(status, code, message)
    return _BY_STATUS.get(status, ApiError)(status, code, message)
