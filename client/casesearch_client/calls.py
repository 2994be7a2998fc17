"""The API's calls without I/O: each function here takes a method's arguments and returns the
``Call`` to send (method, path, body or query, whether it is idempotent) and how to read its
answer. ``CaseSearch`` and ``AsyncCaseSearch`` send the same calls, so each call is written
once, here; its docstring is the client method's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from casesearch_client import models

Answer = TypeVar("Answer")
Model = TypeVar("Model", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Call(Generic[Answer]):
    """One request and how its (successful) answer becomes the method's result.

    ``idempotent``: sending it twice does what sending it once does, so a connection that
    broke after it was sent may be retried (see ``retry.Retrying``).
    """

    method: str
    path: str
    read: Callable[[httpx.Response], Answer]
    idempotent: bool = True
    options: Mapping[str, Any] = field(default_factory=dict)  # httpx's json= / params=


def _model(answer: type[Model]) -> Callable[[httpx.Response], Model]:
    return lambda response: answer.model_validate(response.json())


def _nothing(response: httpx.Response) -> None:
    return None


# -- reading ----------------------------------------------------------------------------------


def search(
    query: str,
    *,
    case_id: str | None = None,
    doc_types: Sequence[str] = (),
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    top_k: int = 10,
    offset: int = 0,
    understand: bool = True,
) -> Call[models.SearchPage]:
    """One page of results within the caller's rights (``next_offset`` for the next).
    ``understand=False`` searches the words exactly as typed. Never retried once sent: the
    server audits every search it serves."""
    body: dict[str, Any] = {"query": query, "top_k": top_k, "offset": offset}
    if not understand:
        body["understand"] = False
    body.update(_filters(case_id, doc_types, date_from, date_to))
    return Call(
        "POST", "/v1/search", _model(models.SearchPage), idempotent=False, options={"json": body}
    )


def document(document_id: str, *, search_id: str | None = None) -> Call[models.Document]:
    """The record; ``NotFound`` whether it is missing or not available to the caller."""
    params = {"search_id": search_id} if search_id else None
    path = f"/v1/documents/{_segment(document_id)}"
    return Call("GET", path, _model(models.Document), options={"params": params})


def timeline(
    case_id: str,
    *,
    doc_types: Sequence[str] = (),
    limit: int = 100,
    offset: int = 0,
) -> Call[models.Timeline]:
    """The case's records the caller may see, newest first, one page."""
    params: dict[str, Any] = {"limit": limit, "offset": offset, "doc_type": list(doc_types)}
    path = f"/v1/cases/{_segment(case_id)}/timeline"
    return Call("GET", path, _model(models.Timeline), options={"params": params})


def patterns(
    *,
    query: str | None = None,
    category: str | None = None,
    case_id: str | None = None,
    doc_types: Sequence[str] = (),
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    include_weak: bool = False,
) -> Call[models.Patterns]:
    """The cases that show a concern: give ``query`` (free text) or ``category``."""
    body: dict[str, Any] = {"all": include_weak}
    if query is not None:
        body["query"] = query
    if category is not None:
        body["category"] = category
    body.update(_filters(case_id, doc_types, date_from, date_to))
    return Call(
        "POST", "/v1/patterns", _model(models.Patterns), idempotent=False, options={"json": body}
    )


def chronology(
    case_id: str,
    *,
    categories: Sequence[str] = (),
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> Call[models.Chronology]:
    """The case's dated significant events, each a verbatim cited sentence."""
    params: dict[str, Any] = {"category": list(categories)}
    if date_from is not None:
        params["date_from"] = date_from.isoformat()
    if date_to is not None:
        params["date_to"] = date_to.isoformat()
    path = f"/v1/cases/{_segment(case_id)}/chronology"
    return Call("GET", path, _model(models.Chronology), options={"params": params})


# -- writing (role:ingest) ----------------------------------------------------------------------


def push(records: Sequence[Mapping[str, Any]]) -> Call[models.PushResult]:
    """Add or replace records (and apply ``{"id": …, "deleted": true}`` tombstones).

    Each record is applied or rejected on its own: the answer's ``rejected`` lists those
    refused, with the reason. Raises ``PushRejected`` when none was applied. Idempotent (a
    record the server already holds is "unchanged"), so retried like a read.
    """
    body = {"records": list(records)}
    return Call("POST", "/v1/records", _model(models.PushResult), options={"json": body})


def delete(record_id: str) -> Call[None]:
    """Remove a record from every index; nothing happens if it is not there."""
    return Call("DELETE", f"/v1/records/{_segment(record_id)}", _nothing)


def changes(since: str | None = None, *, limit: int = 100) -> Call[models.ChangesPage]:
    """What changed after the cursor ``since`` (``next_cursor`` of the previous page)."""
    params: dict[str, Any] = {"limit": limit}
    if since is not None:
        params["since"] = since
    return Call("GET", "/v1/changes", _model(models.ChangesPage), options={"params": params})


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
