"""The audit log: one append-only, hash-chained event per search, view, browse, push and delete.

Events live in the same store as the records (tables ``audit_events`` and ``audit_refs``, made
by revision 0002 of ``retrieval/migrations``), SQLite or PostgreSQL alike. Each event stores
``prev_hash`` and ``hash = sha256(prev_hash + canonical JSON of the event)``; the first event
chains from 64 zeros. Triggers in the database refuse ``UPDATE`` and ``DELETE`` on the log's
tables (and ``TRUNCATE`` on PostgreSQL), ``verify()`` says whether they are all in force, and it
recomputes the chain, so an edit made around the triggers (with the file and the ``sqlite3``
shell, say, or a PostgreSQL owner dropping them) is reported with the first event it broke.
``audit_refs`` indexes the case and record ids of each event for the "who looked at case X /
record Y" questions; ``verify()`` checks it against the hashed events too, so hiding an event
from those questions by editing the index is also detected.

What the chain cannot show on its own is the removal of the *newest* events (truncation): keep
the head hash that ``verify()`` reports somewhere else (a ticket, a log shipper) and compare.

Data subjects and erasure. Events written by this version also carry ``person_ids`` (the people
the event's records name, read from the store's ``subjects`` when the event is written) and are
indexed in ``audit_persons``; both are covered by the chain (``person_ids`` is hashed, and
``verify()`` checks the index against it). Their query text is kept apart in ``audit_queries``
with a random salt, and the chain covers ``query_digest = sha256(salt + NUL + query)`` instead of
the text, so an erasure can delete the text (and its salt) without breaking the chain; ``verify()``
accepts a missing text only when a later ``erase`` event names that event in
``detail.redacted_queries``. Events written before this version hash their query text itself and
have no ``person_ids``: their text cannot be removed without breaking the chain.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from sqlalchemy import Connection

from retrieval.store import WRITE_LOCK, RecordStore, is_postgresql

Action = Literal[
    "search",
    "patterns",
    "view",
    "view_denied",
    "browse",
    "push",
    "delete",
    "audit_query",
    "export_subject",
    "erase",
    "sign_in",
    "sign_out",
    "changes",
]
ACTIONS: tuple[Action, ...] = get_args(Action)
GENESIS_HASH = "0" * 64

# The append-only triggers, by dialect: revision 0002 (retrieval/migrations) makes them with
# the tables; ``AuditLog`` (the server, at start) puts back any that were dropped or disabled.
# audit_queries rows may be deleted (erasure): verify() checks each deletion was an erasure.
APPEND_ONLY = "the audit log is append-only"
_SQLITE_GUARDS = tuple(
    sorted(
        [
            *(
                (table, verb)
                for table in ("audit_events", "audit_refs", "audit_persons")
                for verb in ("update", "delete")
            ),
            ("audit_queries", "update"),
        ]
    )
)
# PostgreSQL's TRUNCATE goes around row deletes: it is refused too
_POSTGRESQL_GUARDS = tuple(
    sorted(
        [
            *(
                (table, verb)
                for table in ("audit_events", "audit_refs", "audit_persons")
                for verb in ("update", "delete", "truncate")
            ),
            ("audit_queries", "update"),
            ("audit_queries", "truncate"),
        ]
    )
)
_POSTGRESQL_GUARD_FUNCTION = f"""CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '{APPEND_ONLY}' USING ERRCODE = 'integrity_constraint_violation',
                DETAIL = TG_OP || ' on ' || TG_TABLE_NAME || ' refused';
        END $$"""


def _guard_ddl(table: str, verb: str, *, postgresql: bool) -> str:
    """The trigger that refuses ``verb`` on ``table`` (named ``{table}_no_{verb}``)."""
    if postgresql:
        return (
            f"CREATE OR REPLACE TRIGGER {table}_no_{verb} BEFORE {verb.upper()} ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()"
        )
    return (
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_{verb} BEFORE {verb.upper()} ON {table}"
        f" BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
    )


_COLUMNS = (
    "seq, event_id, at, subject, principals, action, query, filters, record_ids, case_ids,"
    " detail, prev_hash, hash"
)
# every event column, in ``_event``'s order, from ``audit_events e``
_SELECT = (
    "SELECT "
    + ", ".join(f"e.{c.strip()}" for c in _COLUMNS.split(","))
    + ", e.person_ids, e.query_digest, q.salt, q.query FROM audit_events e"
    " LEFT JOIN audit_queries q ON q.seq = e.seq"
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
    # None on events written before data subjects were recorded (they hash without it)
    person_ids: tuple[str, ...] | None = None
    # set when the query text is kept apart (``audit_queries``): the chain covers this digest
    query_digest: str | None = None
    query_salt: str | None = field(default=None, repr=False)

    def hashed_content(self) -> dict[str, Any]:
        """The fields covered by ``hash`` (everything but the hashes themselves; the query's
        salted digest instead of its text when the text is kept apart)."""
        content: dict[str, Any] = {
            "seq": self.seq,
            "event_id": self.event_id,
            "at": self.at,
            "subject": self.subject,
            "principals": list(self.principals),
            "action": self.action,
            "filters": dict(self.filters),
            "record_ids": list(self.record_ids),
            "case_ids": list(self.case_ids),
            "detail": dict(self.detail),
        }
        if self.query_digest is None:
            content["query"] = self.query
        else:
            content["query_digest"] = self.query_digest
        if self.person_ids is not None:
            content["person_ids"] = list(self.person_ids)
        return content

    def as_json(self) -> dict[str, Any]:
        """The hashed content with the query text (None once erased) and the hashes."""
        return {
            **self.hashed_content(),
            "query": self.query,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters for ``AuditLog.query``; every given filter must match. Dates are UTC days."""

    subject: str | None = None  # the user who acted (token ``sub``)
    case_id: str | None = None
    record_id: str | None = None
    person: str | None = None  # a data subject: events whose records name this person id
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
class RedactedQueries:
    """What ``AuditLog.redact_queries`` removed: the events (``seqs``) and their texts (for the
    caller to forget elsewhere, e.g. the embedding cache), and how many older events keep a
    chained query text that cannot be removed (``kept``)."""

    seqs: tuple[int, ...]
    texts: tuple[str, ...]
    kept: int


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


def query_digest(salt: str, query: str) -> str:
    return hashlib.sha256(f"{salt}\x00{query}".encode()).hexdigest()


def _utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


class AuditLog:
    """Append, query and verify the audit log of one store. Thread-safe.

    Appends run inside the caller's write transaction (``store.transaction()``), which SQLite
    serialises across threads and processes, so the chain never forks.
    """

    def __init__(self, store: RecordStore, *, create: bool = True) -> None:
        """The log's tables come with the store (revision 0002 of ``retrieval/migrations``).

        ``create=True`` (the server, when it starts) puts back any append-only trigger that was
        dropped (or, on PostgreSQL, disabled or pointed at another function). ``create=False``
        opens the log as found, for verification: it changes nothing it inspects.
        """
        self.store = store
        if create:
            self.restore_guards()

    def restore_guards(self) -> tuple[str, ...]:
        """Recreate the append-only triggers that are not in force; their names (none when
        every one is)."""
        with self.store.transaction() as conn:
            missing = _unguarded(conn)
            postgresql = is_postgresql(conn)
            if missing and postgresql:
                conn.exec_driver_sql(_POSTGRESQL_GUARD_FUNCTION)
            for table, verb in missing:
                if postgresql:
                    conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_{verb} ON {table}")
                conn.exec_driver_sql(_guard_ddl(table, verb, postgresql=postgresql))
        return tuple(f"{table}_no_{verb}" for table, verb in missing)

    # -- writing ------------------------------------------------------------------------------

    def append(self, conn: Connection, entry: AuditEntry) -> AuditEvent:
        """Append one event inside ``conn``'s write transaction and return it as stored.

        Sequence numbers have no gaps and the chain never forks: appends are serialised by the
        store's write lock (SQLite's ``BEGIN IMMEDIATE``; on PostgreSQL the advisory lock, taken
        here too in case ``conn`` did not come from ``store.transaction()``), and ``seq`` is
        the key, so two appends after the same event cannot both commit.
        Raises whatever the database raises; the caller decides that the request fails.
        """
        if is_postgresql(conn):
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(?)", (WRITE_LOCK,))
        last = conn.exec_driver_sql(
            "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1"
        ).first()
        seq, prev_hash = (1, GENESIS_HASH) if last is None else (int(last[0]) + 1, str(last[1]))
        record_ids = tuple(dict.fromkeys(entry.record_ids))
        salt = None if entry.query is None else uuid.uuid4().hex
        draft = AuditEvent(
            seq=seq,
            event_id=uuid.uuid4().hex,
            at=_utc_now(),
            subject=entry.subject,
            principals=tuple(sorted(set(entry.principals))),
            action=entry.action,
            query=entry.query,
            filters=_jsonable(entry.filters),
            record_ids=record_ids,
            case_ids=tuple(sorted({c for c in entry.case_ids if c})),
            detail=_jsonable(entry.detail),
            prev_hash=prev_hash,
            hash="",
            person_ids=tuple(self.store.person_ids_of(conn, record_ids)),
            query_digest=None if salt is None else query_digest(salt, entry.query or ""),
            query_salt=salt,
        )
        content = draft.hashed_content()
        digest = chain_hash(prev_hash, content)
        conn.exec_driver_sql(
            f"INSERT INTO audit_events ({_COLUMNS}, person_ids, query_digest)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                seq,
                draft.event_id,
                draft.at,
                draft.subject,
                canonical_json(content["principals"]),
                draft.action,
                None,  # the text goes to audit_queries
                canonical_json(content["filters"]),
                canonical_json(content["record_ids"]),
                canonical_json(content["case_ids"]),
                canonical_json(content["detail"]),
                prev_hash,
                digest,
                canonical_json(content["person_ids"]),
                draft.query_digest,
            ),
        )
        if salt is not None:
            conn.exec_driver_sql(
                "INSERT INTO audit_queries (seq, salt, query) VALUES (?, ?, ?)",
                (seq, salt, draft.query),
            )
        if draft.person_ids:
            conn.exec_driver_sql(
                "INSERT INTO audit_persons (seq, person_id) VALUES (?, ?)",
                [(seq, p) for p in draft.person_ids],
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
        if q.person is not None:
            where.append("e.seq IN (SELECT seq FROM audit_persons WHERE person_id = ?)")
            params.append(q.person)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        with self.store.snapshot() as conn:
            total = int(
                conn.exec_driver_sql(
                    f"SELECT count(*) FROM audit_events e{clause}", tuple(params)
                ).scalar_one()
            )
            rows = conn.exec_driver_sql(
                f"{_SELECT}{clause} ORDER BY e.seq DESC LIMIT ? OFFSET ?",
                (*params, q.limit, q.offset),
            ).all()
        return AuditPage(events=[_event(tuple(r)) for r in rows], total=total)

    def redact_queries(self, conn: Connection, record_ids: Sequence[str]) -> RedactedQueries:
        """Delete the query texts (and salts) of the events that named ``record_ids``, inside
        ``conn``'s write transaction; the caller must append the ``erase`` event naming
        ``RedactedQueries.seqs`` in ``detail.redacted_queries`` in the same transaction, or
        ``verify()`` reports the removal.

        Events written before query texts were kept apart cannot lose theirs without breaking
        the chain: they are counted in ``RedactedQueries.kept``.
        """
        ids = list(dict.fromkeys(record_ids))
        seqs: set[int] = set()
        for start in range(0, len(ids), 500):
            batch = tuple(ids[start : start + 500])
            marks = ",".join("?" * len(batch))
            seqs.update(
                int(r[0])
                for r in conn.exec_driver_sql(
                    f"SELECT seq FROM audit_refs WHERE kind = 'record' AND ref IN ({marks})",
                    batch,
                )
            )
        ordered = sorted(seqs)
        texts: list[str] = []
        kept = 0
        redacted: list[int] = []
        for start in range(0, len(ordered), 500):
            batch_seqs = tuple(ordered[start : start + 500])
            marks = ",".join("?" * len(batch_seqs))
            for seq, text in conn.exec_driver_sql(
                f"SELECT seq, query FROM audit_queries WHERE seq IN ({marks})", batch_seqs
            ):
                redacted.append(int(seq))
                texts.append(str(text))
            kept += int(
                conn.exec_driver_sql(
                    "SELECT count(*) FROM audit_events WHERE query IS NOT NULL"
                    f" AND seq IN ({marks})",
                    batch_seqs,
                ).scalar_one()
            )
            conn.exec_driver_sql(f"DELETE FROM audit_queries WHERE seq IN ({marks})", batch_seqs)
        return RedactedQueries(seqs=tuple(sorted(redacted)), texts=tuple(texts), kept=kept)

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
            protected = not _unguarded(conn)
            report = _walk(conn, expect_head)
        return dataclasses.replace(report, protected=protected)


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

    events = conn.exec_driver_sql(f"{_SELECT} ORDER BY e.seq")
    refs = _grouped_refs(conn.exec_driver_sql("SELECT seq, kind, ref FROM audit_refs ORDER BY seq"))
    pending = next(refs, None)
    persons = _grouped_refs(
        conn.exec_driver_sql("SELECT seq, 'person', person_id FROM audit_persons ORDER BY seq")
    )
    pending_person = next(persons, None)
    missing_text: list[tuple[int, str]] = []  # events whose query text was deleted
    erased: set[int] = set()  # events an erase event says it redacted
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
        if pending_person is not None and pending_person[0] < seq:
            return broken(pending_person[0], None, "person index names no event")
        people: set[tuple[str, str]] = set()
        if pending_person is not None and pending_person[0] == seq:
            people = pending_person[1]
            pending_person = next(persons, None)
        if people != {("person", p) for p in event.person_ids or ()}:
            return broken(seq, event_id, "person index differs")
        if event.query_digest is not None:
            if event.query is None:
                missing_text.append((seq, event_id))
            elif query_digest(event.query_salt or "", event.query) != event.query_digest:
                return broken(seq, event_id, "query text does not match its digest")
        if event.action == "erase":
            erased.update(int(s) for s in event.detail.get("redacted_queries", ()))
        prev_hash, head_seq = event.hash, seq
        found = found or event.hash == expect_head
        count += 1
    if pending is not None:
        return broken(pending[0], None, "reference to no event")
    if pending_person is not None:
        return broken(pending_person[0], None, "person index names no event")
    for seq, event_id in missing_text:
        if seq not in erased:
            return broken(seq, event_id, "query text removed without an erasure")
    intact = VerifyReport(ok=True, events=count, head_seq=head_seq, head_hash=prev_hash)
    return _expected_head(intact, expect_head, found=found)


_TRIGGER_TYPE = {"delete": 8, "update": 16, "truncate": 32}  # pg_trigger.tgtype's event bits


def _unguarded(conn: Connection) -> list[tuple[str, str]]:
    """The append-only triggers, as ``(table, verb)``, that are not in force: dropped (SQLite,
    PostgreSQL), or on PostgreSQL disabled, firing on another event or running a function
    other than the log's guard.

    On PostgreSQL a superuser can still skip every trigger for a session
    (``session_replication_role = replica``); only the chain shows what such a session did.
    """
    if not is_postgresql(conn):
        names = {
            str(r[0])
            for r in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        }
        return [(t, v) for t, v in _SQLITE_GUARDS if f"{t}_no_{v}" not in names]
    tables = sorted({table for table, _ in _POSTGRESQL_GUARDS})
    marks = ",".join("to_regclass(?)" for _ in tables)
    rows = conn.exec_driver_sql(
        "SELECT c.relname, t.tgname, t.tgtype FROM pg_trigger t"
        " JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid"
        f" WHERE t.tgrelid IN ({marks}) AND NOT t.tgisinternal AND t.tgenabled <> 'D'"
        " AND p.prosrc LIKE ?",
        (*tables, f"%RAISE EXCEPTION '{APPEND_ONLY}'%"),
    ).all()
    in_force = {
        (str(table), str(name))
        for table, name, kind in rows
        if any(
            str(name) == f"{table}_no_{verb}" and int(kind) & bit
            for verb, bit in _TRIGGER_TYPE.items()
        )
    }
    return [(t, v) for t, v in _POSTGRESQL_GUARDS if (t, f"{t}_no_{v}") not in in_force]


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
    kept_apart = row[14] is not None
    query = row[16] if kept_apart else row[6]
    return AuditEvent(
        seq=int(row[0]),
        event_id=str(row[1]),
        at=str(row[2]),
        subject=str(row[3]),
        principals=tuple(json.loads(row[4])),
        action=str(row[5]),
        query=None if query is None else str(query),
        filters=json.loads(row[7]),
        record_ids=tuple(json.loads(row[8])),
        case_ids=tuple(json.loads(row[9])),
        detail=json.loads(row[10]),
        prev_hash=str(row[11]),
        hash=str(row[12]),
        person_ids=None if row[13] is None else tuple(json.loads(row[13])),
        query_digest=None if row[14] is None else str(row[14]),
        query_salt=None if row[15] is None else str(row[15]),
    )


def _jsonable(value: Mapping[str, Any]) -> dict[str, Any]:
    """A plain JSON object (dates as ISO strings), as it will read back from the table."""
    loaded: dict[str, Any] = json.loads(json.dumps(dict(value), sort_keys=True, default=str))
    return loaded
