"""Browsing without a query: a case's records as a timeline, newest first.

Uses the same candidate clause as search, so a record the caller may not see is never listed
and never counted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from retrieval.access import candidate_clause
from retrieval.models import AccessScope, SearchFilters
from retrieval.store import RecordStore


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    document_id: str
    case_id: str | None
    doc_type: str | None
    title: str
    created_at: dt.date | None
    source_uri: str | None


def case_timeline(
    store: RecordStore,
    scope: AccessScope,
    filters: SearchFilters,
    *,
    limit: int = 500,
) -> list[TimelineEntry]:
    """Visible records passing ``filters`` (normally one case), newest first, ties by id."""
    sql, params = candidate_clause(scope, filters)
    with store.snapshot() as conn:
        rows = store.timeline_rows(conn, sql, params, limit)
    return [
        TimelineEntry(
            document_id=str(r[0]),
            case_id=r[1],
            doc_type=r[2],
            title=r[3] or "",
            created_at=dt.date.fromisoformat(r[4][:10]) if r[4] else None,
            source_uri=r[5],
        )
        for r in rows
    ]


def visible_cases(store: RecordStore, scope: AccessScope, *, limit: int = 1000) -> list[str]:
    """Case ids with at least one record the caller may see, sorted."""
    sql, params = candidate_clause(scope, SearchFilters())
    with store.snapshot() as conn:
        return store.case_ids_of(conn, sql, params, limit)
