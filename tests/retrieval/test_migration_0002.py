"""Revision 0002 on SQLite stores made before it: a store whose audit log, telemetry and change
log the modules had created themselves takes it without a change to its tables, indexes or
triggers; a store made by revision 0001 alone gains all of them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic.command import upgrade
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

from app.audit import AuditEntry, AuditLog
from app.telemetry import Telemetry
from retrieval.changes import ChangeLog
from retrieval.store import MIGRATIONS, RecordStore, migration_scripts, sqlite_engine

# What app/audit.py, app/telemetry.py and retrieval/changes.py ran on every start before
# revision 0002 (the audit columns person_ids and query_digest were added to older logs).
MODULES_DDL = """
CREATE TABLE IF NOT EXISTS audit_events ( seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL
    UNIQUE, at TEXT NOT NULL, subject TEXT NOT NULL, principals TEXT NOT NULL, action TEXT NOT
    NULL, query TEXT, filters TEXT NOT NULL, record_ids TEXT NOT NULL, case_ids TEXT NOT NULL,
    detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_events_at ON audit_events (at);
CREATE INDEX IF NOT EXISTS audit_events_subject ON audit_events (subject, at);
CREATE TABLE IF NOT EXISTS audit_refs ( seq INTEGER NOT NULL REFERENCES audit_events (seq),
    kind TEXT NOT NULL CHECK (kind IN ('case', 'record')), ref TEXT NOT NULL, PRIMARY KEY
    (kind, ref, seq));
CREATE INDEX IF NOT EXISTS audit_refs_seq ON audit_refs (seq);
CREATE TABLE IF NOT EXISTS audit_persons ( seq INTEGER NOT NULL REFERENCES audit_events (seq),
    person_id TEXT NOT NULL, PRIMARY KEY (person_id, seq));
CREATE INDEX IF NOT EXISTS audit_persons_seq ON audit_persons (seq);
CREATE TABLE IF NOT EXISTS audit_queries ( seq INTEGER PRIMARY KEY REFERENCES audit_events
    (seq), salt TEXT NOT NULL, query TEXT NOT NULL);
ALTER TABLE audit_events ADD COLUMN person_ids TEXT;
ALTER TABLE audit_events ADD COLUMN query_digest TEXT;
CREATE TRIGGER IF NOT EXISTS audit_events_no_delete BEFORE DELETE ON audit_events BEGIN SELECT
    RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_events_no_update BEFORE UPDATE ON audit_events BEGIN SELECT
    RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_persons_no_delete BEFORE DELETE ON audit_persons BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_persons_no_update BEFORE UPDATE ON audit_persons BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_queries_no_update BEFORE UPDATE ON audit_queries BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_refs_no_delete BEFORE DELETE ON audit_refs BEGIN SELECT
    RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_refs_no_update BEFORE UPDATE ON audit_refs BEGIN SELECT
    RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TABLE IF NOT EXISTS telemetry_searches ( search_id TEXT PRIMARY KEY, subject TEXT NOT
    NULL, searched_at REAL NOT NULL, day TEXT NOT NULL, result_ids TEXT NOT NULL, first_rank
    INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS telemetry_searches_day ON telemetry_searches (day);
CREATE TABLE IF NOT EXISTS telemetry_opens ( pk INTEGER PRIMARY KEY AUTOINCREMENT, search_id
    TEXT NOT NULL REFERENCES telemetry_searches (search_id), document_id TEXT NOT NULL, rank
    INTEGER NOT NULL, opened_at REAL NOT NULL, seconds REAL NOT NULL);
CREATE INDEX IF NOT EXISTS telemetry_opens_search ON telemetry_opens (search_id);
CREATE TABLE IF NOT EXISTS changes ( seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL,
    kind TEXT NOT NULL, record_id TEXT NOT NULL, source TEXT, reason TEXT);
CREATE TRIGGER IF NOT EXISTS changes_indexed AFTER INSERT ON records BEGIN INSERT INTO changes
    (at, kind, record_id, source) VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'indexed',
    NEW.id, NEW.source); END;
CREATE TRIGGER IF NOT EXISTS changes_updated AFTER UPDATE ON records WHEN OLD.content_hash IS
    NOT NEW.content_hash OR OLD.acl_hash IS NOT NEW.acl_hash BEGIN INSERT INTO changes (at,
    kind, record_id, source) VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'updated', NEW.id,
    NEW.source); END;
CREATE TRIGGER IF NOT EXISTS changes_deleted AFTER DELETE ON records BEGIN INSERT INTO changes
    (at, kind, record_id, source) VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'deleted',
    OLD.id, OLD.source); END;
CREATE TRIGGER IF NOT EXISTS changes_quarantined AFTER INSERT ON failures BEGIN INSERT INTO
    changes (at, kind, record_id, source, reason) VALUES (strftime('%Y-%m-%dT%H:%M:%fZ',
    'now'), 'quarantined', NEW.source_ref, NEW.source, NEW.reason); END;
"""


def _store_at(path: Path, revision: str) -> None:
    engine = sqlite_engine(path)
    with engine.begin() as conn:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = conn
        upgrade(config, revision)
    engine.dispose()


def _store_at_0001(path: Path) -> None:
    _store_at(path, "0001")


def _schema(path: Path) -> list[tuple[str, str, str, str | None]]:
    """Every table, index, view and trigger with its SQL, but Alembic's own table."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master"
            " WHERE name <> 'alembic_version' ORDER BY type, name"
        ).fetchall()
    return [(str(t), str(n), str(tb), s) for t, n, tb, s in rows]


def _revision(store: RecordStore) -> str | None:
    with store.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_a_store_whose_modules_made_their_tables_takes_0002_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    _store_at_0001(path)
    with sqlite3.connect(path) as conn:
        conn.executescript(MODULES_DDL)
    before = _schema(path)
    _store_at(path, "0002")
    assert _schema(path) == before


def test_a_store_of_0001_alone_gains_the_modules_tables(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    _store_at_0001(path)
    store = RecordStore(path)  # opening migrates to the newest revision
    try:
        assert _revision(store) == migration_scripts().get_current_head()
        made = {name for _, name, _, _ in _schema(path)}
        assert {"audit_events", "telemetry_searches", "telemetry_opens", "changes"} <= made
        log = AuditLog(store, create=False)
        log.record(AuditEntry(subject="s", principals=["p"], action="browse", case_ids=["C"]))
        assert log.verify().protected
        assert Telemetry(store).time_to_find().overall.searches == 0
        assert ChangeLog(store.engine).last_seq() == 0
    finally:
        store.close()
