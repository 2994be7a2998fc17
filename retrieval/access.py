"""The candidate set: records the caller may see that also pass the search filters.

Applied before any ranking, in SQL, inside the same read snapshot as the lexical search, so
top-k is computed over permitted records only and nothing outside them can influence which
records are returned or how many. The rule (DESIGN.md): a record is visible when one of the
caller's principals is in its ``acl`` and none is in its ``deny``; no ``acl``, no access.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any
from weakref import WeakKeyDictionary

import numpy as np
from sqlalchemy import Connection, Engine

from retrieval.dense import BoolArray
from retrieval.errors import AccessCheckError
from retrieval.models import AccessScope, SearchFilters
from retrieval.store import data_version, int_column

# A real user may be in thousands of directory groups. SQLite binds at most 32,766 parameters
# and a search binds each principal twice (allow and deny); the token check caps principals at
# the same number (app/settings.py, auth.max_principals).
MAX_PRINCIPALS = 10_000

Mask = tuple[BoolArray, int]


def candidate_clause(scope: AccessScope, filters: SearchFilters) -> tuple[str, list[Any]]:
    """SQL selecting ``records.pk`` of visible, filter-passing records, with its parameters.

    Raises ``AccessCheckError`` for a scope that cannot be evaluated safely.
    """
    principals = _principals(scope)
    if not principals:
        return "SELECT pk FROM records WHERE 1 = 0", []
    marks = ",".join("?" * len(principals))
    sql = [
        "SELECT r.pk FROM records r WHERE EXISTS (SELECT 1 FROM principals p",
        f" WHERE p.record_pk = r.pk AND p.effect = 'allow' AND p.principal IN ({marks}))",
        " AND NOT EXISTS (SELECT 1 FROM principals p",
        f" WHERE p.record_pk = r.pk AND p.effect = 'deny' AND p.principal IN ({marks}))",
    ]
    params: list[Any] = [*principals, *principals]
    where, values = _filter_sql(filters)
    sql.append(where)
    params.extend(values)
    return "".join(sql), params


def _principals(scope: AccessScope) -> list[str]:
    """The caller's principals, sorted; ``AccessCheckError`` when there are too many."""
    principals = sorted(scope.principals)
    if len(principals) > MAX_PRINCIPALS:
        raise AccessCheckError(f"more than {MAX_PRINCIPALS} principals in one request")
    return principals


def _filter_sql(filters: SearchFilters) -> tuple[str, list[Any]]:
    """``AND …`` conditions on ``records r`` for the case, type and date filters."""
    sql: list[str] = []
    params: list[Any] = []
    if filters.case_id is not None:
        sql.append(" AND r.case_id = ?")
        params.append(filters.case_id)
    if filters.case_ids:
        sql.append(f" AND r.case_id IN ({','.join('?' * len(filters.case_ids))})")
        params.extend(filters.case_ids)
    if filters.doc_types:
        sql.append(f" AND r.doc_type IN ({','.join('?' * len(filters.doc_types))})")
        params.extend(filters.doc_types)
    if filters.date_from is not None:
        sql.append(" AND r.created_at >= ?")
        params.append(filters.date_from.isoformat())
    if filters.date_to is not None:
        sql.append(" AND substr(r.created_at, 1, 10) <= ?")
        params.append(filters.date_to.isoformat())
    return "".join(sql), params


MASKS_KEPT = 32
"""Visible-record masks kept per store (one per set of principals; a bit per record each)."""

_lock = threading.Lock()
_kept: WeakKeyDictionary[Engine, OrderedDict[tuple[int | None, tuple[str, ...]], Mask]] = (
    WeakKeyDictionary()
)


def visible_records(conn: Connection, scope: AccessScope) -> tuple[BoolArray, int]:
    """A boolean mask indexed by record pk of the records ``scope`` may see, and their number.

    The mask is read-only and kept, per store and set of principals, until a write changes
    any permission (the store's ``acl_version``, bumped inside the writing transaction and
    read inside this snapshot): a user's searches read her rights once per change, not once
    per search, and never a mask older than the snapshot they run in.

    The same rule as ``candidate_clause`` without filters, read through the principals index
    (the caller's allow rows, then her deny rows cleared from the mask), so its cost follows
    what the caller may see rather than the size of the store. Raises ``AccessCheckError``
    when it cannot be read.
    """
    principals = _principals(scope)
    if not principals:
        return np.zeros(0, dtype=np.bool_), 0
    marks = ",".join("?" * len(principals))
    rows = "SELECT record_pk FROM principals WHERE effect = '{}' AND principal IN ({})"
    try:
        version = data_version(conn, "acl_version")
        key = (version, tuple(principals))
        with _lock:
            kept = _kept.setdefault(conn.engine, OrderedDict())
            if version is not None and key in kept:
                kept.move_to_end(key)
                return kept[key]
        allowed = int_column(conn, rows.format("allow", marks), principals)
        denied = int_column(conn, rows.format("deny", marks), principals)
    except Exception as exc:
        raise AccessCheckError("the permission check could not be evaluated") from exc
    mask = np.zeros(int(allowed.max()) + 1 if allowed.size else 0, dtype=np.bool_)
    mask[allowed] = True
    mask[denied[denied < mask.size]] = False
    mask.setflags(write=False)
    answer = mask, int(np.count_nonzero(mask))
    if version is not None:
        with _lock:
            kept[key] = answer
            while len(kept) > MASKS_KEPT:
                kept.popitem(last=False)
    return answer


def filtered_records(conn: Connection, filters: SearchFilters) -> BoolArray:
    """A boolean mask indexed by record pk of the records that pass ``filters`` (rights are
    not checked here: combine it with ``visible_records``)."""
    where, params = _filter_sql(filters)
    return _mask(conn, f"SELECT r.pk FROM records r WHERE 1 = 1{where}", params)[0]


def scope_masks(
    conn: Connection, scope: AccessScope, filters: SearchFilters
) -> tuple[BoolArray, BoolArray]:
    """Masks indexed by record pk: the records ``scope`` may see, and those of them that also
    pass ``filters`` (the candidates). One read of the caller's rights serves both."""
    visible, _ = visible_records(conn, scope)
    if filters == SearchFilters():
        return visible, visible
    passing = filtered_records(conn, filters)
    return visible, visible[: len(passing)] & passing[: len(visible)]


def candidate_records(
    conn: Connection, scope: AccessScope, filters: SearchFilters
) -> tuple[BoolArray, int]:
    """A boolean mask indexed by record pk, and the number of candidate records."""
    sql, params = candidate_clause(scope, filters)
    return _mask(conn, sql, params)


def _mask(conn: Connection, sql: str, params: list[Any]) -> tuple[BoolArray, int]:
    try:
        pks = int_column(conn, sql, params)
    except Exception as exc:
        raise AccessCheckError("the permission check could not be evaluated") from exc
    mask = np.zeros(int(pks.max()) + 1 if pks.size else 0, dtype=np.bool_)
    mask[pks] = True
    return mask, int(pks.size)
