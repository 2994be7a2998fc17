"""The change log behind ``GET /v1/changes``: what was indexed, updated, deleted, failed or
quarantined, in order (a store module: the only SQL for it).

Triggers on ``records`` and ``failures`` write the log inside the transaction that makes the
change, whichever process makes it (the server, or ``casesearch index`` beside it), so the log
and the store never disagree. The triggers live in the database once ``ChangeLog.install`` has
run (the server runs it at start); changes made before that are not in the log. Rejected
pushes, which change nothing in the store, are written with ``record_failed``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Engine

ChangeKind = Literal["indexed", "updated", "deleted", "failed", "quarantined"]
PUSH_SOURCE = "push"
RETENTION_DAYS = 90

_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
_DDL = [
    """CREATE TABLE IF NOT EXISTS changes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, kind TEXT NOT NULL,
        record_id TEXT NOT NULL, source TEXT, reason TEXT)""",
    f"""CREATE TRIGGER IF NOT EXISTS changes_indexed AFTER INSERT ON records BEGIN
        INSERT INTO changes (at, kind, record_id, source)
        VALUES ({_NOW}, 'indexed', NEW.id, NEW.source); END""",
    # a rebuild rewrites rows with the same hashes: not a change anyone needs to hear of
    f"""CREATE TRIGGER IF NOT EXISTS changes_updated AFTER UPDATE ON records
        WHEN OLD.content_hash IS NOT NEW.content_hash OR OLD.acl_hash IS NOT NEW.acl_hash BEGIN
        INSERT INTO changes (at, kind, record_id, source)
        VALUES ({_NOW}, 'updated', NEW.id, NEW.source); END""",
    f"""CREATE TRIGGER IF NOT EXISTS changes_deleted AFTER DELETE ON records BEGIN
        INSERT INTO changes (at, kind, record_id, source)
        VALUES ({_NOW}, 'deleted', OLD.id, OLD.source); END""",
    f"""CREATE TRIGGER IF NOT EXISTS changes_quarantined AFTER INSERT ON failures BEGIN
        INSERT INTO changes (at, kind, record_id, source, reason)
        VALUES ({_NOW}, 'quarantined', NEW.source_ref, NEW.source, NEW.reason); END""",
]


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

    def install(self) -> None:
        """Create the log and its triggers (idempotent); drop entries older than
        ``RETENTION_DAYS``."""
        cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=RETENTION_DAYS)
        with self.engine.begin() as conn:
            for statement in _DDL:
                conn.exec_driver_sql(statement)
            conn.exec_driver_sql(
                "DELETE FROM changes WHERE at < ?", (cutoff.strftime("%Y-%m-%dT%H:%M:%S"),)
            )

    def record_failed(self, failures: Iterable[tuple[str, str]], *, source: str) -> None:
        """Log ``(record id or reference, reason)`` pairs as ``failed`` from ``source``."""
        rows = [(ref, source, reason) for ref, reason in failures]
        if not rows:
            return
        with self.engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO changes (at, kind, record_id, source, reason)"
                f" VALUES ({_NOW}, 'failed', ?, ?, ?)",
                rows,
            )

    def since(self, after: int, limit: int, principals: Collection[str]) -> list[Change]:
        """Up to ``limit`` changes after sequence number ``after``, oldest first, that a caller
        holding ``principals`` may be told of: every change from the push source, and a change
        from another source only when its record is in the index now and ``principals`` may
        see it (an allow and no deny). Deleted and quarantined records of other sources are
        never listed: there is no record left to check."""
        visible = (
            "EXISTS (SELECT 1 FROM records r JOIN principals p ON p.record_pk = r.pk"
            " WHERE r.id = c.record_id AND p.effect = 'allow'"
            " AND p.principal IN (SELECT value FROM json_each(:principals)))"
            " AND NOT EXISTS (SELECT 1 FROM records r JOIN principals p ON p.record_pk = r.pk"
            " WHERE r.id = c.record_id AND p.effect = 'deny'"
            " AND p.principal IN (SELECT value FROM json_each(:principals)))"
        )
        with self.engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT c.seq, c.at, c.kind, c.record_id, c.source, c.reason FROM changes c"
                " WHERE c.seq > :after AND (c.source = :push OR"
                f" (c.kind IN ('indexed', 'updated') AND {visible}))"
                " ORDER BY c.seq LIMIT :limit",
                {
                    "after": after,
                    "push": PUSH_SOURCE,
                    "principals": json.dumps(sorted(principals)),
                    "limit": limit,
                },
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
