"""What a caller can do, whichever door they came in by (JSON API, web pages, scripts).

Every action that shows or changes records writes its audit event before it answers, and an
action whose audit event cannot be written raises ``AuditUnavailable`` (503) and returns
nothing. Role checks live here too, so a new route cannot forget them. Routes and pages only
translate between HTTP and these functions.

Access: a record is visible when one of the caller's principals (with ``user:<sub>``) is in its
``acl`` and none is in its ``deny``, evaluated by the store at request time. A missing and a
forbidden record are indistinguishable to the caller: same exception, same message, same
database work (one indexed query, then the rule in memory), one audit event each.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from app.audit import Action, AuditEntry, AuditEvent, AuditPage, AuditQuery
from app.auth import Caller
from app.errors import AuditUnavailable, Forbidden, NotFound
from app.limits import check_search_limits
from app.media import Recording, media_copies, media_of
from app.services import Services
from app.telemetry import OpenRecorded, TimeToFind
from connectors.errors import RecordError
from connectors.record import Record, Tombstone, is_tombstone, parse_record
from indexer.pipeline import _embedding_text as embedding_text
from retrieval.browse import TimelineEntry, case_timeline
from retrieval.changes import ChangeLog
from retrieval.chronology import Chronology, case_chronology
from retrieval.embedding import CachedEmbedder
from retrieval.errors import AccessCheckError, InvalidQueryError
from retrieval.models import (
    AccessScope,
    Document,
    Mode,
    SearchFilters,
    SearchRequest,
    SearchResult,
)
from retrieval.patterns import PatternQuery, PatternResult
from retrieval.people import PeopleDirectory, Person, resolve_names

logger = logging.getLogger(__name__)

INGEST = "role:ingest"
AUDITOR = "role:auditor"
QA = "role:qa"
NOT_FOUND_MESSAGE = "no record with that id is available to you"

# The indexer is not thread-safe and pushes arrive on the server's worker threads.
_INGEST_LOCK = threading.Lock()
# Audit writes from the worker threads take turns here: waiting in SQLite's busy handler
# instead means sleeping 1, 2, 5 … up to 100 ms between retries, whatever the lock's holder.
_AUDIT_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class SearchParams:
    """One search as the caller asked for it (validated at the edge)."""

    query: str
    case_id: str | None = None
    doc_types: tuple[str, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    top_k: int = 10
    offset: int = 0
    mode: Mode = "hybrid"
    # False searches the words exactly as typed: no spelling corrections, added wordings,
    # date or name reading (the pages' "search for exactly what you typed")
    understand: bool = True

    def filters_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"top_k": self.top_k, "offset": self.offset}
        if self.mode != "hybrid":
            out["mode"] = self.mode
        if not self.understand:
            out["understand"] = False
        if self.case_id is not None:
            out["case_id"] = self.case_id
        if self.doc_types:
            out["doc_types"] = list(self.doc_types)
        if self.date_from is not None:
            out["date_from"] = self.date_from.isoformat()
        if self.date_to is not None:
            out["date_to"] = self.date_to.isoformat()
        return out


@dataclass(frozen=True, slots=True)
class PushOutcome:
    """What a CMS push did; ``failures`` are ``{"source_ref", "reason"}`` for invalid items."""

    added: int
    updated: int
    unchanged: int
    acl_changed: int
    deleted: int
    failures: list[dict[str, str]] = field(default_factory=list)


# -- reading records --------------------------------------------------------------------------


def run_search(
    services: Services, caller: Caller, params: SearchParams
) -> tuple[str, SearchResult]:
    """Search the records ``caller`` may see; returns ``(search id, result)``.

    The search id is a fresh uuid4 hex; the audit event (query, filters, returned ids and case
    ids) and the telemetry search event are written in one transaction before returning.
    Raises ``InvalidRequest`` over a configured limit, ``InvalidQueryError`` for a blank query,
    ``AccessCheckError`` when permissions cannot be evaluated, ``AuditUnavailable`` when the
    audit event cannot be written.
    """
    check_search_limits(
        services.settings.limits, query=params.query, top_k=params.top_k, offset=params.offset
    )
    with services.search_slot():
        result = services.searcher.search(
            SearchRequest(
                text=params.query,
                scope=AccessScope(caller.all_principals),
                filters=SearchFilters(
                    case_id=params.case_id,
                    doc_types=params.doc_types,
                    date_from=params.date_from,
                    date_to=params.date_to,
                ),
                mode=params.mode,
                top_k=params.top_k,
                offset=params.offset,
                understand=params.understand,
            )
        )
    search_id = uuid.uuid4().hex
    ids = [hit.document_id for hit in result.hits]
    entry = _entry(
        caller,
        "search",
        query=params.query,
        filters=params.filters_json(),
        record_ids=ids,
        case_ids=[c for c in [params.case_id, *(h.case_id for h in result.hits)] if c],
        detail={"search_id": search_id, "results": len(ids)},
    )

    # Resolved outside the audit transaction: first use creates tables in a transaction of its
    # own, which must not wait on the write lock this thread is about to hold.
    telemetry = services.telemetry

    def record_search(conn: Connection) -> None:
        telemetry.record_search(conn, search_id, caller.subject, ids, first_rank=params.offset + 1)

    _audit(services, entry, also=record_search)
    return search_id, result


@dataclass(frozen=True, slots=True)
class PatternParams:
    """One pattern question as the caller asked it (validated at the edge)."""

    query: str | None = None
    category: str | None = None
    case_id: str | None = None
    doc_types: tuple[str, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    include_weak: bool = False

    def filters_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"all": self.include_weak}
        for key in ("category", "case_id", "date_from", "date_to"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value.isoformat() if isinstance(value, dt.date) else value
        if self.doc_types:
            out["doc_types"] = list(self.doc_types)
        return out


def run_patterns(services: Services, caller: Caller, params: PatternParams) -> PatternResult:
    """The cases showing a concern, over the records ``caller`` may see only; audited.

    Raises ``InvalidQueryError`` for an unknown category or a blank question (or both given),
    ``AccessCheckError`` when permissions cannot be evaluated and ``AuditUnavailable`` when the
    audit event cannot be written (nothing is returned then).
    """
    if (params.query is None) == (params.category is None):
        raise InvalidQueryError("give either a query or a category")
    if params.query is not None:
        check_search_limits(services.settings.limits, query=params.query, top_k=1, offset=0)
    with services.search_slot():
        result = services.patterns.find(
            PatternQuery(
                scope=AccessScope(caller.all_principals),
                text=params.query,
                category=params.category,
                filters=SearchFilters(
                    case_id=params.case_id,
                    doc_types=params.doc_types,
                    date_from=params.date_from,
                    date_to=params.date_to,
                ),
                include_weak=params.include_weak,
            )
        )
    shown = [e for c in result.cases for e in c.evidence] + list(result.set_apart)
    entry = _entry(
        caller,
        "patterns",
        query=params.query or "",
        filters=params.filters_json(),
        record_ids=list(dict.fromkeys(e.document_id for e in shown)),
        case_ids=[c.case_id for c in result.cases],
        detail={"cases": result.total_cases, "records": result.total_records},
    )
    _audit(services, entry)
    return result


def open_document(
    services: Services,
    caller: Caller,
    document_id: str,
    *,
    search_id: str | None = None,
    recording: bool = False,
) -> Document:
    """The record ``document_id`` if ``caller`` may see it (``recording``: to play its
    recording, which the ``view`` event's detail says).

    Raises ``NotFound`` with one message whether the record is missing or forbidden, after
    auditing the attempt (``view``, or ``view_denied`` with the reason for the auditor).
    When ``search_id`` names one of the caller's searches that returned this record, the open
    is recorded for time-to-find; any other ``search_id`` is ignored (never an error, so it
    cannot be used to probe). Raises ``AccessCheckError`` when the check cannot be evaluated
    and ``AuditUnavailable`` when the audit event cannot be written.
    """
    scope = AccessScope(caller.all_principals)
    exists, case_id, doc = _visible_document(services, scope, document_id)
    if doc is None:
        _audit(
            services,
            _entry(
                caller,
                "view_denied",
                record_ids=[document_id],
                case_ids=[case_id] if case_id else [],
                detail={"reason": "forbidden" if exists else "missing"},
            ),
        )
        raise NotFound(NOT_FOUND_MESSAGE)
    _audit(
        services,
        _entry(
            caller,
            "view",
            record_ids=[doc.id],
            case_ids=[doc.case_id] if doc.case_id else [],
            detail={
                **({"search_id": search_id} if search_id else {}),
                **({"opened": "recording"} if recording else {}),
            },
        ),
    )
    if search_id:
        try:
            services.telemetry.record_open(search_id, caller.subject, doc.id)
        except NotFound:
            pass
        except Exception:
            logger.warning("time-to-find open not recorded", exc_info=True)
    return doc


def open_recording(services: Services, caller: Caller, document_id: str) -> Recording:
    """The kept recording of the record ``document_id``, if ``caller`` may see the record.

    The same check, audit event (``view``, detail ``opened: recording``) and ``NotFound`` as
    ``open_document``; a visible record that is no recording, or whose copy is gone, is the
    same ``NotFound``.
    """
    doc = open_document(services, caller, document_id, recording=True)
    media = media_of(doc.extra)
    try:
        path = media_copies(services.settings).path(str((media or {}).get("sha256")))
    except ValueError:
        raise NotFound(NOT_FOUND_MESSAGE) from None
    if media is None or not path.is_file():
        raise NotFound(NOT_FOUND_MESSAGE)
    return Recording(path=path, mime=str(media.get("mime") or "application/octet-stream"))


def case_timeline_for(
    services: Services,
    caller: Caller,
    case_id: str,
    doc_types: Sequence[str] = (),
    *,
    offset: int = 0,
    limit: int | None = None,
) -> list[TimelineEntry]:
    """The caller's visible records of ``case_id`` (optionally of ``doc_types``), newest first.

    A case with no visible record answers an empty list, exactly like a case that does not
    exist. Audited as ``browse`` with the ids of the page shown (``offset``, ``limit``; all of
    them without a limit) and the total. The whole list is returned: callers page it.
    """
    filters = SearchFilters(case_id=case_id, doc_types=tuple(doc_types))
    entries = case_timeline(services.store, AccessScope(caller.all_principals), filters)
    shown = entries[offset : None if limit is None else offset + limit]
    filters_json: dict[str, Any] = {"case_id": case_id}
    if doc_types:
        filters_json["doc_types"] = list(doc_types)
    _audit(
        services,
        _entry(
            caller,
            "browse",
            filters=filters_json,
            record_ids=[e.document_id for e in shown],
            case_ids=[case_id],
            detail={"results": len(entries), "offset": offset, "shown": len(shown)},
        ),
    )
    return entries


def record_open(
    services: Services, caller: Caller, search_id: str, document_id: str
) -> OpenRecorded:
    """Record that ``caller`` opened ``document_id`` from their search ``search_id``.

    Raises ``NotFound`` (one message) for an unknown search, somebody else's search, or a record
    that search did not return.
    """
    return services.telemetry.record_open(search_id, caller.subject, document_id)


def time_to_find(
    services: Services, caller: Caller, date_from: dt.date | None, date_to: dt.date | None
) -> TimeToFind:
    """The time-to-find summary; needs ``role:auditor`` or ``role:qa`` (else ``Forbidden``)."""
    _require(caller, AUDITOR, QA)
    return services.telemetry.time_to_find(date_from, date_to)


def audit_events(services: Services, caller: Caller, query: AuditQuery) -> AuditPage:
    """Audit events matching ``query``, newest first; needs ``role:auditor``.

    Reading the audit log is itself audited (``audit_query``, written after the read so the
    answer does not include its own event).
    """
    _require(caller, AUDITOR)
    page = services.audit.query(query)
    filters = {
        k: (v.isoformat() if isinstance(v, dt.date) else v)
        for k, v in {
            "subject": query.subject,
            "case_id": query.case_id,
            "record_id": query.record_id,
            "person": query.person,
            "action": query.action,
            "date_from": query.date_from,
            "date_to": query.date_to,
            "limit": query.limit,
            "offset": query.offset,
        }.items()
        if v is not None
    }
    _audit(
        services,
        _entry(
            caller,
            "audit_query",
            filters=filters,
            detail={"events": len(page.events), "total": page.total},
        ),
    )
    return page


# -- changing records -------------------------------------------------------------------------


def push_records(
    services: Services, caller: Caller, raw_records: Sequence[Mapping[str, Any]]
) -> PushOutcome:
    """Upsert records and apply tombstones pushed by a CMS; needs ``role:ingest``.

    Invalid items are reported in ``failures`` and the rest are applied. The audit event (ids
    and case ids of the valid items) is written *before* anything changes, so no change is
    ever unaccounted for; if it cannot be written nothing is applied.
    """
    _require(caller, INGEST)
    items: list[Record | Tombstone] = []
    failures: list[dict[str, str]] = []
    for position, raw in enumerate(raw_records):
        ref = str(raw.get("id") or f"records[{position}]")
        try:
            if is_tombstone(raw):
                items.append(Tombstone(str(raw["id"])))
            else:
                items.append(parse_record(raw, source_ref=ref))
        except RecordError as exc:
            failures.append({"source_ref": exc.source_ref, "reason": exc.reason})
    _audit(
        services,
        _entry(
            caller,
            "push",
            record_ids=[item.id for item in items],
            case_ids=[i.case_id for i in items if isinstance(i, Record) and i.case_id],
            detail={
                "upserts": sum(isinstance(i, Record) for i in items),
                "tombstones": sum(isinstance(i, Tombstone) for i in items),
                "invalid": len(failures),
            },
        ),
    )
    with _INGEST_LOCK:
        summary = services.indexer.apply(items, source="push")
    return PushOutcome(
        added=summary.added,
        updated=summary.updated,
        unchanged=summary.unchanged,
        acl_changed=summary.acl_changed,
        deleted=summary.deleted,
        failures=failures,
    )


def delete_record(services: Services, caller: Caller, record_id: str) -> None:
    """Remove a record from every index; needs ``role:ingest``. Idempotent. Audited first."""
    _require(caller, INGEST)
    existing = services.store.document(record_id)
    _audit(
        services,
        _entry(
            caller,
            "delete",
            record_ids=[record_id],
            case_ids=[existing.case_id] if existing and existing.case_id else [],
            detail={"existed": existing is not None},
        ),
    )
    with _INGEST_LOCK:
        services.indexer.apply([Tombstone(record_id)], source="push")


# -- internals --------------------------------------------------------------------------------


def _visible_document(
    services: Services, scope: AccessScope, document_id: str
) -> tuple[bool, str | None, Document | None]:
    """``(exists, case id, document if visible)``.

    Missing and forbidden records cost the same: one indexed query returning the record's
    case id and its few permission rows, then the access rule in memory. (A check through the
    candidate clause would cost a scan of everything the caller may see, but only when the
    record exists: a timing difference that grows with the corpus.) Any failure raises
    ``AccessCheckError``: the caller must fail closed.
    """
    try:
        with services.store.snapshot() as conn:
            found = services.store.access_rows(conn, document_id)
            if found is None:
                return False, None, None
            case_id, acl, deny = found
            if not scope.permits(acl, deny):
                return True, case_id, None
            doc = services.store.document(document_id, conn)
    except Exception as exc:
        raise AccessCheckError("the permission check could not be evaluated") from exc
    # Checked again on the loaded record: either reading saying no is a no.
    if doc is None or not scope.permits(doc.acl, doc.deny):
        return True, case_id, None
    return True, case_id, doc


def _require(caller: Caller, *principals: str) -> None:
    if not caller.all_principals.intersection(principals):
        raise Forbidden(f"this operation needs one of the principals {sorted(principals)}")


def _entry(caller: Caller, action: Action, **fields: Any) -> AuditEntry:
    return AuditEntry(
        subject=caller.subject,
        principals=sorted(caller.all_principals),
        action=action,
        **fields,
    )


def _audit(
    services: Services, entry: AuditEntry, *, also: Callable[[Connection], None] | None = None
) -> None:
    """Write ``entry`` (and, best effort, ``also`` in the same transaction).

    Raises ``AuditUnavailable`` when the event cannot be written. ``also`` runs inside a
    savepoint: its failure is logged and undone without losing the audit event.
    """
    try:
        log = services.audit
        with _AUDIT_LOCK, services.store.transaction() as conn:
            log.append(conn, entry)
            if also is not None:
                conn.exec_driver_sql("SAVEPOINT extra")
                try:
                    also(conn)
                except Exception:
                    logger.warning("telemetry not recorded", exc_info=True)
                    conn.exec_driver_sql("ROLLBACK TO SAVEPOINT extra")
                conn.exec_driver_sql("RELEASE SAVEPOINT extra")
    except Exception as exc:
        logger.error("audit event not written; refusing the request", exc_info=True)
        raise AuditUnavailable(
            "the request was not completed because it could not be recorded in the audit log"
        ) from exc


def case_chronology_for(
    services: Services,
    caller: Caller,
    case_id: str,
    *,
    categories: Sequence[str] = (),
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> Chronology:
    """The case's dated significant events from the records ``caller`` may see, oldest first.

    A case with no visible record answers no events, exactly like a case that does not exist.
    Raises ``InvalidQueryError`` for an unknown category. Audited as ``browse`` (with
    ``"view": "chronology"``) listing the records quoted; ``AuditUnavailable`` when the event
    cannot be written (nothing is returned then).
    """
    chronology = case_chronology(
        services.store,
        AccessScope(caller.all_principals),
        case_id,
        categories=tuple(categories) or None,
        date_from=date_from,
        date_to=date_to,
    )
    filters_json: dict[str, Any] = {"case_id": case_id}
    if categories:
        filters_json["categories"] = list(categories)
    for key, value in (("date_from", date_from), ("date_to", date_to)):
        if value is not None:
            filters_json[key] = value.isoformat()
    _audit(
        services,
        _entry(
            caller,
            "browse",
            filters=filters_json,
            record_ids=list(dict.fromkeys(e.citation.document_id for e in chronology.events)),
            case_ids=[case_id],
            detail={"view": "chronology", "results": len(chronology.events)},
        ),
    )
    return chronology


# -- data subjects: export and erasure --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SubjectExport:
    """Every record about one person that the caller may see, and the audit of who saw them
    (events naming the person or one of those records, oldest first)."""

    person_id: str
    records: list[Document]
    events: list[AuditEvent]


@dataclass(frozen=True, slots=True)
class ErasureOutcome:
    """What ``erase`` removed. ``unredacted_queries``: older audit events that returned an
    erased record and whose query text is chained, so it stays (README, "Erasure")."""

    record_ids: tuple[str, ...]
    chunks: int
    cached_vectors: int
    redacted_queries: int
    unredacted_queries: int
    audit_seq: int


def audit_by_person(services: Services, caller: Caller, person_id: str) -> list[AuditEvent]:
    """Every audit event naming ``person_id`` (newest first); needs ``role:auditor``.

    Audited as ``audit_query`` with ``{"person": person_id}``.
    """
    _require(caller, AUDITOR)
    events = _events_about(services, person_id, ())
    _audit(
        services,
        _entry(
            caller,
            "audit_query",
            filters={"person": person_id},
            detail={"events": len(events), "total": len(events)},
        ),
    )
    return events[::-1]


def record_sign_in(services: Services, caller: Caller, method: str) -> None:
    """Audit a page sign-in (``method``: "oidc" or "development") with the principals it gave.
    Raises ``AuditUnavailable`` when it cannot be written (the session is then not started)."""
    _audit(services, _entry(caller, "sign_in", detail={"method": method}))


def record_sign_out(services: Services, caller: Caller) -> None:
    """Audit a page sign-out (best effort: the cookie is cleared even if this fails)."""
    try:
        _audit(services, _entry(caller, "sign_out"))
    except AuditUnavailable:
        logger.warning("the sign-out of %s could not be audited", caller.subject)


def record_change_feed_read(services: Services, caller: Caller, record_ids: Sequence[str]) -> None:
    """Audit a read of the change feed (``changes``) with the record ids it listed. Raises
    ``AuditUnavailable`` when it cannot be written (the page is then not answered)."""
    _audit(
        services,
        _entry(caller, "changes", record_ids=record_ids, detail={"listed": len(record_ids)}),
    )


def people_for_audit(services: Services, caller: Caller, text: str) -> list[Person]:
    """The children a DPO's look-up means: the one whose person id is ``text``, else those
    ``text`` names (nicknames and misspellings as in search), over every child of the store;
    needs ``role:auditor``. Audited as ``audit_query`` with ``{"person_name": text}``."""
    _require(caller, AUDITOR)
    with services.store.snapshot() as conn:
        everyone = PeopleDirectory(services.store.subject_rows(conn, "child")).everyone()
    exact = [p for p in everyone if p.id == text]
    found = exact or list(resolve_names(text, everyone).people)
    _audit(
        services,
        _entry(
            caller,
            "audit_query",
            filters={"person_name": text},
            detail={"people": [p.id for p in found]},
        ),
    )
    return found


def export_subject(services: Services, caller: Caller, person_id: str) -> SubjectExport:
    """The records naming ``person_id`` that ``caller`` may see, with their audit events.

    Audited as ``export_subject`` with the exported record ids (the export's own event is not
    in the export).
    """
    scope = AccessScope(caller.all_principals)
    with services.store.snapshot() as conn:
        ids = services.store.record_ids_naming(conn, person_id)
        docs = [services.store.document(i, conn) for i in ids]
    records = [d for d in docs if d is not None and scope.permits(d.acl, d.deny)]
    events = _events_about(services, person_id, [d.id for d in records])
    _audit(
        services,
        _entry(
            caller,
            "export_subject",
            filters={"person": person_id},
            record_ids=[d.id for d in records],
            case_ids=[d.case_id for d in records if d.case_id],
            detail={"records": len(records), "events": len(events)},
        ),
    )
    return SubjectExport(person_id=person_id, records=records, events=events)


def erase(
    services: Services,
    operator: str,
    *,
    reason: str,
    record_ids: Sequence[str] = (),
    person_id: str | None = None,
) -> ErasureOutcome:
    """Erase records (``record_ids`` and/or every record naming ``person_id``) from every store.

    In one transaction: the records' text, chunks, vectors, lexical entries, permissions,
    subjects (and what a people source said of ``person_id``) and quarantine entries go, the
    query texts of audit events that returned them are deleted, and an ``erase`` event (who,
    why, the ids: never text) is appended; the generation bump makes a running server drop the
    vectors on its next search. Then the embedding cache forgets the chunk and query texts,
    and every SQLite file is compacted.
    Raises ``InvalidQueryError`` when ``reason`` is blank or nothing is named.
    """
    if not reason.strip():
        raise InvalidQueryError("an erasure needs a reason")
    if not record_ids and person_id is None:
        raise InvalidQueryError("name the records or the person to erase")
    store = services.store
    with _INGEST_LOCK, _AUDIT_LOCK, store.transaction() as conn:
        ids = list(dict.fromkeys(record_ids))
        if person_id is not None:
            ids.extend(i for i in store.record_ids_naming(conn, person_id) if i not in ids)
        redacted = services.audit.redact_queries(conn, ids)
        event = services.audit.append(
            conn,
            AuditEntry(
                subject=operator,
                principals=(),
                action="erase",
                record_ids=ids,
                detail={
                    "reason": reason,
                    "person": person_id,
                    "redacted_queries": list(redacted.seqs),
                    "unredacted_queries": redacted.kept,
                },
            ),
        )
        texts = store.erase_documents(conn, ids, store.next_generation(conn))
        # a quarantine reason in the change feed may quote the record's text
        ChangeLog(store.engine).erase(conn, ids)
        if person_id is not None:
            store.forget_person(conn, person_id)  # what a people source said of them
    cached = 0
    embedder = services.embedder
    if isinstance(embedder, CachedEmbedder):
        forget = [embedding_text(title, text) for title, text in texts]
        cached = embedder.forget([*forget, *redacted.texts])
    store.compact()
    # the erased recordings' kept copies (the server would otherwise still hold their sound)
    media_copies(services.settings).prune(store.media_in_use())
    return ErasureOutcome(
        record_ids=tuple(ids),
        chunks=len(texts),
        cached_vectors=cached,
        redacted_queries=len(redacted.seqs),
        unredacted_queries=redacted.kept,
        audit_seq=event.seq,
    )


def _events_about(
    services: Services, person_id: str, record_ids: Sequence[str]
) -> list[AuditEvent]:
    """Events naming ``person_id`` or one of ``record_ids`` (older events carry no person
    ids, so records find those), oldest first."""
    found: dict[int, AuditEvent] = {}
    queries = [AuditQuery(person=person_id)] + [AuditQuery(record_id=r) for r in record_ids]
    for query in queries:
        offset = 0
        while True:
            page = services.audit.query(dataclasses.replace(query, limit=1000, offset=offset))
            found.update((e.seq, e) for e in page.events)
            offset += len(page.events)
            if not page.events or offset >= page.total:
                break
    return [found[s] for s in sorted(found)]
