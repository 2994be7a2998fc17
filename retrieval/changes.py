"""The change log behind ``GET /v1/changes``: what was indexed, updated, deleted, failed or
quarantined, in order (a store module: the only SQL for it).

The log and its triggers on ``records`` and ``failures`` come with the store's tables (revision
0002 of ``retrieval/migrations``): the triggers write the log inside the transaction that makes
the change, whichever process makes it (the server, or ``casesearch index`` beside it), so the
log and the store never disagree. Rejected pushes, which change nothing in the store, are
written with ``record_failed``.

Entries are numbered in commit order, so a reader that has seen entry N has seen every entry
before it: on SQLite one writer at a time holds the file; on PostgreSQL every writer holds the
store's advisory lock (``store.transaction()``, and ``record_failed`` here), so no entry with a
smaller number can commit after a larger one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, Engine

from retrieval.store import WRITE_LOCK, is_postgresql

ChangeKind = Literal["indexed", "updated", "deleted", "failed", "quarantined"]
PUSH_SOURCE = "push"
RETENTION_DAYS = 90

# the time of an entry as the triggers write it (revision 0002), e.g. 2026-12-06T20:15:03.120Z
_SQLITE_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
_POSTGRESQL_NOW = (
    "to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
)


@dataclass(frozen=True, slots=True)
class Change:
    seq: int
    at: str
    kind: ChangeKind
    record_id: str
    source: str | None
    reason: str | None


class ChangeLog:
    """Reads and writes the change log of the store behind ``engine``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.postgresql = is_postgresql(engine)

    def install(self) -> None:
        """Drop entries older than ``RETENTION_DAYS`` (the server runs it at start)."""
        cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=RETENTION_DAYS)
        with self.engine.begin() as conn:
            conn.exec_driver_sql(
                "DELETE FROM changes WHERE at < ?", (cutoff.strftime("%Y-%m-%dT%H:%M:%S"),)
            )

    def record_failed(self, failures: Iterable[tuple[str, str]], *, source: str) -> None:
        """Log ``(record id or reference, reason)`` pairs as ``failed`` from ``source``."""
        rows = [(ref, source, reason) for ref, reason in failures]
        if not rows:
            return
        now = _POSTGRESQL_NOW if self.postgresql else _SQLITE_NOW
        with self.engine.begin() as conn:
            if self.postgresql:
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(?)", (WRITE_LOCK,))
            conn.exec_driver_sql(
                "INSERT INTO changes (at, kind, record_id, source, reason)"
                f" VALUES ({now}, 'failed', ?, ?, ?)",
                rows,
            )

    def erase(self, conn: Connection, record_ids: Sequence[str]) -> int:
        """Blank the reasons of the entries about ``record_ids``, inside ``conn``'s write
        transaction (an erasure's: a failure's reason may quote the record's text); how many
        entries had one. The entries stay, so the feed keeps its order."""
        ids = list(dict.fromkeys(record_ids))
        blanked = 0
        for start in range(0, len(ids), 500):
            batch = tuple(ids[start : start + 500])
            marks = ",".join("?" * len(batch))
            blanked += conn.exec_driver_sql(
                f"UPDATE changes SET reason = NULL WHERE reason IS NOT NULL"
                f" AND record_id IN ({marks})",
                batch,
            ).rowcount
        return blanked

    def since(self, after: int, limit: int, principals: Collection[str]) -> list[Change]:
        """Up to ``limit`` changes after sequence number ``after``, oldest first, that a caller
        holding ``principals`` may be told of: every change from the push source, and a change
        from another source only when its record is in the index now and ``principals`` may
        see it (an allow and no deny). Deleted and quarantined records of other sources are
        never listed: there is no record left to check."""
        held = sorted(set(principals))
        params: list[Any] = [after, PUSH_SOURCE]
        if held:
            marks = ",".join("?" * len(held))
            visible = (
                "EXISTS (SELECT 1 FROM records r JOIN principals p ON p.record_pk = r.pk"
                f" WHERE r.id = c.record_id AND p.effect = 'allow' AND p.principal IN ({marks}))"
                " AND NOT EXISTS (SELECT 1 FROM records r JOIN principals p"
                " ON p.record_pk = r.pk WHERE r.id = c.record_id AND p.effect = 'deny'"
                f" AND p.principal IN ({marks}))"
            )
            params += [*held, *held]
        else:
            visible = "1 = 0"  # no principal: no allow to match
        with self.engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT c.seq, c.at, c.kind, c.record_id, c.source, c.reason FROM changes c"
                " WHERE c.seq > ? AND (c.source = ? OR"
                f" (c.kind IN ('indexed', 'updated') AND {visible}))"
                " ORDER BY c.seq LIMIT ?",
                (*params, limit),
            ).all()
        return [
            Change(
                seq=int(r[0]),
                at=str(r[1]),
                kind=r[2],
                record_id=str(r[3]),
                source=None if r[4] is None else str(r[4]),
                reason=None if r[5] is None else str(r[5]),
            )
            for r in rows
        ]

    def last_seq(self) -> int:
        """The newest entry's sequence number (0 when the log is empty)."""
        with self.engine.connect() as conn:
            value = conn.exec_driver_sql("SELECT max(seq) FROM changes").scalar()
        return int(value or 0)
