"""The audit log: one append-only, hash-chained event per search, view, browse, push and delete.

Events live in the same SQLite store as the records (tables ``audit_events`` and
``audit_refs``). Each event stores ``prev_hash`` and ``hash = sha256(prev_hash + canonical JSON
of the event)``; the first event chains from 64 zeros. SQLite triggers refuse ``UPDATE`` and
``DELETE`` on both tables, and ``verify()`` recomputes the chain, so an edit made around the
triggers (with the file and the ``sqlite3`` shell, say) is reported with the first event it
broke. ``audit_refs`` indexes the case and record ids of each event for the "who looked at case
X / record Y" questions; ``verify()`` checks it against the hashed events too, so hiding an event
from those questions by editing the index is also detected.

What the chain cannot show on its own is the removal of the *newest* events (truncation): keep
the head hash that ``verify()`` reports somewhere else (a ticket, a log shipper) and compare.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Connection

from retrieval.store import SqliteStore

Action = Literal[
    "search", "patterns", "view", "view_denied", "browse", "push", "delete", "audit_query"
]
ACTIONS: tuple[Action, ...] = (
    "search",
    "patterns",
    "view",
    "view_denied",
    "browse",
    "push",
    "delete",
    "audit_query",
)
GENESIS_HASH = "0" * 64

_DDL = [
    """CREATE TABLE IF NOT EXISTS audit_events (
        seq INTEGER PRIMARY KEY,
        event_id TEXT NOT NULL UNIQUE,
        at TEXT NOT NULL,
        subject TEXT NOT NULL,
        principals TEXT NOT NULL,
        action TEXT NOT NULL,
        query TEXT,
        filters TEXT NOT NULL,
        record_ids TEXT NOT NULL,
        case_ids TEXT NOT NULL,
        detail TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS audit_events_at ON audit_events (at)",
    "CREATE INDEX IF NOT EXISTS audit_events_subject ON audit_events (subject, at)",
    """CREATE TABLE IF NOT EXISTS audit_refs (
        seq INTEGER NOT NULL REFERENCES audit_events (seq),
        kind TEXT NOT NULL CHECK (kind IN ('case', 'record')),
        ref TEXT NOT NULL,
        PRIMARY KEY (kind, ref, seq))""",
    "CREATE INDEX IF NOT EXISTS audit_refs_seq ON audit_refs (seq)",
]
_TRIGGER_NAMES = frozenset(
    f"{table}_no_{verb}"
    for table in ("audit_events", "audit_refs")
    for verb in ("update", "delete")
)
_TRIGGERS = [
    f"""CREATE TRIGGER IF NOT EXISTS {table}_no_{verb.lower()} BEFORE {verb} ON {table}
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"""
    for table in ("audit_events", "audit_refs")
    for verb in ("UPDATE", "DELETE")
]
_COLUMNS = (
    "seq, event_id, at, subject, principals, action, query, filters, record_ids, case_ids,"
    " detail, prev_hash, hash"
)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """What to record; the log adds the sequence number, the time and the hashes."""

    subject: str
    principals: Sequence[str]
    action: Action
    query: str | None = None
    filters: Mapping[str, Any] = field(default_factory=dict)
    record_ids: Sequence[str] = ()
    case_ids: Sequence[str] = ()
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One stored event, exactly as hashed."""

    seq: int
    event_id: str
    at: str
    subject: str
    principals: tuple[str, ...]
    action: str
    query: str | None
    filters: Mapping[str, Any]
    record_ids: tuple[str, ...]
    case_ids: tuple[str, ...]
    detail: Mapping[str, Any]
    prev_hash: str
    hash: str

    def hashed_content(self) -> dict[str, Any]:
        """The fields covered by ``hash`` (everything but the hashes themselves)."""
        return {
            "seq": self.seq,
            "event_id": self.event_id,
            "at": self.at,
            "subject": self.subject,
            "principals": list(self.principals),
            "action": self.action,
            "query": self.query,
            "filters": dict(self.filters),
            "record_ids": list(self.record_ids),
            "case_ids": list(self.case_ids),
            "detail": dict(self.detail),
        }

    def as_json(self) -> dict[str, Any]:
        return {**self.hashed_content(), "prev_hash": self.prev_hash, "hash": self.hash}


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters for ``AuditLog.query``; every given filter must match. Dates are UTC days."""

    subject: str | None = None
    case_id: str | None = None
    record_id: str | None = None
    action: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True, slots=True)
class AuditPage:
    events: list[AuditEvent]
    total: int


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The result of walking the chain. ``first_bad`` is the sequence number of the first event
    whose hash, link or reference index does not match; ``None`` when the chain is intact."""

    ok: bool
    events: int
    head_seq: int | None
    head_hash: str
    first_bad: int | None = None
    first_bad_event_id: str | None = None
    reason: str | None = None
    protected: bool = True  # False: an append-only trigger has been dropped


def canonical_json(value: Any) -> str:
    """The one serialisation that is hashed: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, content: Mapping[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical_json(content)).encode("utf-8")).hexdigest()


def _utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


class AuditLog:
    """Append, query and verify the audit log of one store. Thread-safe.

    Appends run inside the caller's write transaction (``store.transaction()``), which SQLite
    serialises across threads and processes, so the chain never forks.
    """

    def __init__(self, store: SqliteStore, *, create: bool = True) -> None:
        """``create=False`` opens the log read-only as found (for verification: it neither
        creates tables nor restores dropped triggers, so it changes nothing it inspects)."""
        self.store = store
        if create:
            with store.transaction() as conn:
                for statement in (*_DDL, *_TRIGGERS):
                    conn.exec_driver_sql(statement)

    # -- writing ------------------------------------------------------------------------------

    def append(self, conn: Connection, entry: AuditEntry) -> AuditEvent:
        """Append one event inside ``conn``'s write transaction and return it as stored.

        Raises whatever the database raises; the caller decides that the request fails.
        """
        last = conn.exec_driver_sql(
            "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1"
        ).first()
        seq, prev_hash = (1, GENESIS_HASH) if last is None else (int(last[0]) + 1, str(last[1]))
        draft = AuditEvent(
            seq=seq,
            event_id=uuid.uuid4().hex,
            at=_utc_now(),
            subject=entry.subject,
            principals=tuple(sorted(set(entry.principals))),
            action=entry.action,
            query=entry.query,
            filters=_jsonable(entry.filters),
            record_ids=tuple(dict.fromkeys(entry.record_ids)),
            case_ids=tuple(sorted({c for c in entry.case_ids if c})),
            detail=_jsonable(entry.detail),
            prev_hash=prev_hash,
            hash="",
        )
        content = draft.hashed_content()
        digest = chain_hash(prev_hash, content)
        conn.exec_driver_sql(
            f"INSERT INTO audit_events ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                seq,
                draft.event_id,
                draft.at,
                draft.subject,
                canonical_json(content["principals"]),
                draft.action,
                draft.query,
                canonical_json(content["filters"]),
                canonical_json(content["record_ids"]),
                canonical_json(content["case_ids"]),
                canonical_json(content["detail"]),
                prev_hash,
                digest,
            ),
        )
        refs = _refs_of(draft)
        if refs:
            conn.exec_driver_sql(
                "INSERT INTO audit_refs (seq, kind, ref) VALUES (?, ?, ?)",
                [(seq, kind, ref) for kind, ref in sorted(refs)],
            )
        return dataclasses.replace(draft, hash=digest)

    def record(self, entry: AuditEntry) -> AuditEvent:
        """Append one event in a transaction of its own."""
        with self.store.transaction() as conn:
            return self.append(conn, entry)

    # -- reading ------------------------------------------------------------------------------

    def query(self, q: AuditQuery) -> AuditPage:
        """Events matching ``q``, newest first, with the total number that match."""
        where: list[str] = []
        params: list[Any] = []
        if q.subject is not None:
            where.append("e.subject = ?")
            params.append(q.subject)
        if q.action is not None:
            where.append("e.action = ?")
            params.append(q.action)
        if q.date_from is not None:
            where.append("e.at >= ?")
            params.append(q.date_from.isoformat())
        if q.date_to is not None:
            where.append("e.at < ?")
            params.append((q.date_to + dt.timedelta(days=1)).isoformat())
        for kind, ref in (("case", q.case_id), ("record", q.record_id)):
            if ref is not None:
                where.append("e.seq IN (SELECT seq FROM audit_refs WHERE kind = ? AND ref = ?)")
                params.extend((kind, ref))
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        columns = ", ".join(f"e.{c.strip()}" for c in _COLUMNS.split(","))
        with self.store.snapshot() as conn:
            if not _tables_exist(conn):
                return AuditPage(events=[], total=0)
            total = int(
                conn.exec_driver_sql(
                    f"SELECT count(*) FROM audit_events e{clause}", tuple(params)
                ).scalar_one()
            )
            rows = conn.exec_driver_sql(
                f"SELECT {columns} FROM audit_events e{clause} ORDER BY e.seq DESC"
                " LIMIT ? OFFSET ?",
                (*params, q.limit, q.offset),
            ).all()
        return AuditPage(events=[_event(tuple(r)) for r in rows], total=total)

    def verify(self, *, expect_head: str | None = None) -> VerifyReport:
        """Walk the whole chain in order; report the first event that does not check out.

        An event is bad when its stored hash differs from the recomputed one (an edited field),
        when its ``prev_hash`` is not the previous event's hash (an event removed, inserted or
        reordered), or when its rows in ``audit_refs`` differ from its case and record ids.

        The chain alone cannot show that its newest events were cut off. ``expect_head`` is a
        head hash kept outside this database earlier (printed by ``casesearch audit verify``):
        the chain must still contain it, else the report is not ok.
        """
        with self.store.snapshot() as conn:
            if not _tables_exist(conn):
                empty = VerifyReport(ok=True, events=0, head_seq=None, head_hash=GENESIS_HASH)
                return _expected_head(empty, expect_head, found=False)
            triggers = {
                str(r[0])
                for r in conn.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger'"
                )
            }
            report = _walk(conn, expect_head)
        return dataclasses.replace(report, protected=_TRIGGER_NAMES.issubset(triggers))


def _expected_head(report: VerifyReport, expect_head: str | None, *, found: bool) -> VerifyReport:
    """``report`` of an intact chain, made not ok when ``expect_head`` (other than the genesis)
    was not found in it."""
    if expect_head is None or expect_head == GENESIS_HASH or found:
        return report
    return dataclasses.replace(
        report,
        ok=False,
        reason=(
            f"the expected head {expect_head} is not in the chain: events after it were removed"
            " (or the hash is from another audit log)"
        ),
    )


def _walk(conn: Connection, expect_head: str | None = None) -> VerifyReport:
    count = 0
    prev_hash = GENESIS_HASH
    head_seq: int | None = None
    found = False  # an event has hash expect_head

    def broken(seq: int, event_id: str | None, reason: str) -> VerifyReport:
        return VerifyReport(
            ok=False,
            events=count,
            head_seq=head_seq,
            head_hash=prev_hash,
            first_bad=seq,
            first_bad_event_id=event_id,
            reason=reason,
        )

    events = conn.exec_driver_sql(f"SELECT {_COLUMNS} FROM audit_events ORDER BY seq")
    refs = _grouped_refs(conn.exec_driver_sql("SELECT seq, kind, ref FROM audit_refs ORDER BY seq"))
    pending = next(refs, None)
    for row in events:
        seq, event_id = int(row[0]), str(row[1])
        try:
            event = _event(tuple(row))
        except (ValueError, TypeError) as exc:
            return broken(seq, event_id, f"unreadable: {exc}")
        if event.prev_hash != prev_hash:
            return broken(seq, event_id, "prev_hash does not link")
        if chain_hash(prev_hash, event.hashed_content()) != event.hash:
            return broken(seq, event_id, "hash mismatch")
        if pending is not None and pending[0] < seq:
            return broken(pending[0], None, "reference to no event")
        stored: set[tuple[str, str]] = set()
        if pending is not None and pending[0] == seq:
            stored = pending[1]
            pending = next(refs, None)
        if stored != _refs_of(event):
            return broken(seq, event_id, "reference index differs")
        prev_hash, head_seq = event.hash, seq
        found = found or event.hash == expect_head
        count += 1
    if pending is not None:
        return broken(pending[0], None, "reference to no event")
    intact = VerifyReport(ok=True, events=count, head_seq=head_seq, head_hash=prev_hash)
    return _expected_head(intact, expect_head, found=found)


def _tables_exist(conn: Connection) -> bool:
    names = {
        str(r[0])
        for r in conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE name IN ('audit_events', 'audit_refs')"
        )
    }
    return names == {"audit_events", "audit_refs"}


def _grouped_refs(rows: Any) -> Iterator[tuple[int, set[tuple[str, str]]]]:
    current: int | None = None
    group: set[tuple[str, str]] = set()
    for seq, kind, ref in rows:
        if current is not None and int(seq) != current:
            yield current, group
            group = set()
        current = int(seq)
        group.add((str(kind), str(ref)))
    if current is not None:
        yield current, group


def _refs_of(event: AuditEvent) -> set[tuple[str, str]]:
    return {("case", c) for c in event.case_ids} | {("record", r) for r in event.record_ids}


def _event(row: tuple[Any, ...]) -> AuditEvent:
    return AuditEvent(
        seq=int(row[0]),
        event_id=str(row[1]),
        at=str(row[2]),
        subject=str(row[3]),
        principals=tuple(json.loads(row[4])),
        action=str(row[5]),
        query=None if row[6] is None else str(row[6]),
        filters=json.loads(row[7]),
        record_ids=tuple(json.loads(row[8])),
        case_ids=tuple(json.loads(row[9])),
        detail=json.loads(row[10]),
        prev_hash=str(row[11]),
        hash=str(row[12]),
    )


def _jsonable(value: Mapping[str, Any]) -> dict[str, Any]:
    """A plain JSON object (dates as ISO strings), as it will read back from the table."""
    loaded: dict[str, Any] = json.loads(json.dumps(dict(value), sort_keys=True, default=str))
    return loaded
