"""A CMS push, record by record: every good record is applied and every bad one reported.

Checks at the edge, before anything is audited or indexed: a record with a string that cannot
be stored (a lone surrogate such as ``"\\ud800"``), longer than ``limits.max_record_chars``
or of a ``doc_type`` outside the vocabulary (``app.api.vocabulary``) is rejected on its own.
The rest go through ``actions.push_records`` (one audit event, one indexing pass); should
indexing fail as a whole, each record is retried alone so that one record the indexer cannot
take does not hold back the others. The whole push is refused
with 413 when its records hold more than ``limits.max_push_chars`` characters, which bounds
the time one request can keep a core busy embedding.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app import actions
from app.api.schemas import RecordOutcome, RecordsResult
from app.api.vocabulary import push_doc_type_problem
from app.auth import Caller
from app.errors import AppError, PayloadTooLarge
from app.services import Services
from connectors.record import is_tombstone
from retrieval.changes import PUSH_SOURCE, ChangeLog

logger = logging.getLogger(__name__)

APPLIED = "applied"
REJECTED = "rejected"
MAX_DEPTH = 64  # nesting of one record's JSON (the connectors' limit too)


@dataclass(frozen=True, slots=True)
class PushAnswer:
    """The body and its status: 200 all applied, 207 some rejected, 422 none applied."""

    status_code: int
    result: RecordsResult


def push(
    services: Services, caller: Caller, raw_records: Sequence[Mapping[str, Any]]
) -> PushAnswer:
    """Apply the good records of a push and report each bad one (in request order).

    Raises ``PayloadTooLarge`` when the records hold more than ``limits.max_push_chars``
    characters (nothing is applied), and whatever ``actions.push_records`` raises for the
    whole request (``Forbidden``, ``AuditUnavailable``).
    """
    limits = services.settings.limits
    refs = [_shown(_ref(raw, i)) for i, raw in enumerate(raw_records)]
    errors: dict[int, str] = {}
    total = 0
    for i, raw in enumerate(raw_records):
        problem = _unstorable(raw)
        if problem is None and not is_tombstone(raw):
            problem = push_doc_type_problem(raw, services.settings)
        if problem is None:  # and so at most MAX_DEPTH deep
            size = _chars(raw)
            if size > limits.max_record_chars:
                problem = (
                    f"the record holds {size} characters; at most {limits.max_record_chars}"
                    " per record"
                )
            total += size
        if problem is not None:
            errors[i] = problem
    if total > limits.max_push_chars:
        raise PayloadTooLarge(
            f"the records hold {total} characters; at most {limits.max_push_chars} per push"
            " (send smaller batches)"
        )
    good = [i for i in range(len(raw_records)) if i not in errors]
    counts = {"added": 0, "updated": 0, "unchanged": 0, "acl_changed": 0, "deleted": 0}
    try:
        _apply(services, caller, raw_records, good, errors, counts)
    except AppError:
        raise
    except Exception as exc:
        if len(good) <= 1:
            for i in good:
                errors[i] = _index_failure(refs[i], exc)
        else:
            for i in good:
                try:
                    _apply(services, caller, raw_records, [i], errors, counts)
                except AppError:
                    raise
                except Exception as alone:
                    errors[i] = _index_failure(refs[i], alone)
    # Qdrant (when configured) takes what this push committed before the answer, so the next
    # search finds it through any API process; a failure is logged, the records are stored
    services.indexer.follow_index()
    results = [
        RecordOutcome(id=ref, status=REJECTED, error=errors[i])
        if i in errors
        else RecordOutcome(id=ref, status=APPLIED)
        for i, ref in enumerate(refs)
    ]
    failures = [{"source_ref": refs[i], "reason": errors[i]} for i in sorted(errors)]
    result = RecordsResult(**counts, failed=len(errors), failures=failures, results=results)
    ChangeLog(services.store.engine).record_failed(
        ((refs[i], errors[i]) for i in sorted(errors)), source=PUSH_SOURCE
    )
    if not errors:
        return PushAnswer(200, result)
    return PushAnswer(422 if len(errors) == len(refs) else 207, result)


def _apply(
    services: Services,
    caller: Caller,
    raw_records: Sequence[Mapping[str, Any]],
    indices: list[int],
    errors: dict[int, str],
    counts: dict[str, int],
) -> None:
    """Push ``raw_records[indices]``; records the parser refused go into ``errors``."""
    batch = [raw_records[i] for i in indices]
    outcome = actions.push_records(services, caller, batch)
    # actions names a failure by the record's id, or records[N] by its place in ``batch``.
    by_ref: dict[str, list[int]] = {}
    for position, i in enumerate(indices):
        by_ref.setdefault(_ref(raw_records[i], position), []).append(i)
    for failure in outcome.failures:
        waiting = by_ref.get(failure["source_ref"])
        if waiting:
            errors[waiting.pop(0)] = failure["reason"]
    counts["added"] += outcome.added
    counts["updated"] += outcome.updated
    counts["unchanged"] += outcome.unchanged
    counts["acl_changed"] += outcome.acl_changed
    counts["deleted"] += outcome.deleted


def _index_failure(ref: str, exc: Exception) -> str:
    logger.warning("pushed record %s could not be indexed (%s)", ref, type(exc).__name__)
    return "the record could not be indexed"


def _ref(raw: Mapping[str, Any], position: int) -> str:
    """How ``actions.push_records`` names a record: its id, else ``records[position]``."""
    return str(raw.get("id") or f"records[{position}]")


def _shown(text: str) -> str:
    """``text`` as it can be answered: a lone surrogate is written as its escape."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _chars(value: Any) -> int:
    """Characters of every string in a JSON value (keys included)."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, Mapping):
        return sum(len(str(k)) + _chars(v) for k, v in value.items())
    if isinstance(value, list):
        return sum(_chars(v) for v in value)
    return 0


def _unstorable(value: Any, where: str = "", depth: int = 0) -> str | None:
    """Why ``value`` cannot be stored: a string UTF-8 cannot encode (a lone surrogate), or
    nesting deeper than ``MAX_DEPTH``."""
    if depth > MAX_DEPTH:
        return f"the record is nested more than {MAX_DEPTH} levels deep"
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            field = where or "a field"
            return f"{field}: contains a lone surrogate, which cannot be stored as UTF-8"
        return None
    if isinstance(value, Mapping):
        for key, item in value.items():
            name = f"{where}.{_shown(str(key))}" if where else _shown(str(key))
            problem = _unstorable(str(key), name) or _unstorable(item, name, depth + 1)
            if problem is not None:
                return problem
    if isinstance(value, list):
        for n, item in enumerate(value):
            problem = _unstorable(item, f"{where}[{n}]", depth + 1)
            if problem is not None:
                return problem
    return None
