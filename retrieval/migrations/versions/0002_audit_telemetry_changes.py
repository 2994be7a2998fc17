"""The tables the audit log, the time-to-find telemetry and the change feed used to create for
themselves (``app/audit.py``, ``app/telemetry.py``, ``retrieval/changes.py``), now made with
the store's other tables.

On SQLite every statement is ``IF NOT EXISTS`` and the audit columns added after the log's first
version are added only where missing, so a store those modules already wrote takes this revision
as it is. A store that never ran them gains the change log's triggers here: from this revision
on every change to ``records`` and ``failures`` is logged, not only those made after the server
first started.

On PostgreSQL the same tables with its types, and the same rules in PL/pgSQL: the audit tables
refuse ``UPDATE``, ``DELETE`` and ``TRUNCATE`` (``audit_queries`` accepts the ``DELETE`` of an
erasure, as on SQLite), and the change log's triggers write the log in the writing transaction.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

APPEND_ONLY = "the audit log is append-only"


def _audit_tables(integer: str) -> list[str]:
    return [
        f"""CREATE TABLE IF NOT EXISTS audit_events (
            seq {integer} PRIMARY KEY,
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
            hash TEXT NOT NULL,
            person_ids TEXT,
            query_digest TEXT)""",
        "CREATE INDEX IF NOT EXISTS audit_events_at ON audit_events (at)",
        "CREATE INDEX IF NOT EXISTS audit_events_subject ON audit_events (subject, at)",
        f"""CREATE TABLE IF NOT EXISTS audit_refs (
            seq {integer} NOT NULL REFERENCES audit_events (seq),
            kind TEXT NOT NULL CHECK (kind IN ('case', 'record')),
            ref TEXT NOT NULL,
            PRIMARY KEY (kind, ref, seq))""",
        "CREATE INDEX IF NOT EXISTS audit_refs_seq ON audit_refs (seq)",
        # the data subjects of each event (chained through audit_events.person_ids)
        f"""CREATE TABLE IF NOT EXISTS audit_persons (
            seq {integer} NOT NULL REFERENCES audit_events (seq),
            person_id TEXT NOT NULL,
            PRIMARY KEY (person_id, seq))""",
        "CREATE INDEX IF NOT EXISTS audit_persons_seq ON audit_persons (seq)",
        # query texts, apart from the chain (which holds their salted digest) so erasure can go
        f"""CREATE TABLE IF NOT EXISTS audit_queries (
            seq {integer} PRIMARY KEY REFERENCES audit_events (seq),
            salt TEXT NOT NULL,
            query TEXT NOT NULL)""",
    ]


def _telemetry_tables(real: str, serial_pk: str) -> list[str]:
    return [
        f"""CREATE TABLE IF NOT EXISTS telemetry_searches (
            search_id TEXT PRIMARY KEY,
            subject TEXT NOT NULL,
            searched_at {real} NOT NULL,
            day TEXT NOT NULL,
            result_ids TEXT NOT NULL,
            first_rank INTEGER NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS telemetry_searches_day ON telemetry_searches (day)",
        f"""CREATE TABLE IF NOT EXISTS telemetry_opens (
            pk {serial_pk},
            search_id TEXT NOT NULL REFERENCES telemetry_searches (search_id),
            document_id TEXT NOT NULL,
            rank INTEGER NOT NULL,
            opened_at {real} NOT NULL,
            seconds {real} NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS telemetry_opens_search ON telemetry_opens (search_id)",
    ]


def _changes_table(serial_pk: str) -> str:
    return f"""CREATE TABLE IF NOT EXISTS changes (
        seq {serial_pk}, at TEXT NOT NULL, kind TEXT NOT NULL,
        record_id TEXT NOT NULL, source TEXT, reason TEXT)"""


# -- SQLite ------------------------------------------------------------------------------------

# audit rows may not change; audit_queries rows may be deleted (erasure: verify() checks that
# each deletion was one)
_SQLITE_APPEND_ONLY = sorted(
    [
        *(
            (table, verb)
            for table in ("audit_events", "audit_refs", "audit_persons")
            for verb in ("update", "delete")
        ),
        ("audit_queries", "update"),
    ]
)
_SQLITE_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"

_SQLITE = [
    *_audit_tables("INTEGER"),
    *(
        f"""CREATE TRIGGER IF NOT EXISTS {table}_no_{verb} BEFORE {verb.upper()} ON {table}
        BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"""
        for table, verb in _SQLITE_APPEND_ONLY
    ),
    *_telemetry_tables("REAL", "INTEGER PRIMARY KEY AUTOINCREMENT"),
    _changes_table("INTEGER PRIMARY KEY AUTOINCREMENT"),
    f"""CREATE TRIGGER IF NOT EXISTS changes_indexed AFTER INSERT ON records BEGIN
        INSERT INTO changes (at, kind, record_id, source)
        VALUES ({_SQLITE_NOW}, 'indexed', NEW.id, NEW.source); END""",
    # a rebuild rewrites rows with the same hashes: not a change anyone needs to hear of
    f"""CREATE TRIGGER IF NOT EXISTS changes_updated AFTER UPDATE ON records
        WHEN OLD.content_hash IS NOT NEW.content_hash OR OLD.acl_hash IS NOT NEW.acl_hash BEGIN
        INSERT INTO changes (at, kind, record_id, source)
        VALUES ({_SQLITE_NOW}, 'updated', NEW.id, NEW.source); END""",
    f"""CREATE TRIGGER IF NOT EXISTS changes_deleted AFTER DELETE ON records BEGIN
        INSERT INTO changes (at, kind, record_id, source)
        VALUES ({_SQLITE_NOW}, 'deleted', OLD.id, OLD.source); END""",
    f"""CREATE TRIGGER IF NOT EXISTS changes_quarantined AFTER INSERT ON failures BEGIN
        INSERT INTO changes (at, kind, record_id, source, reason)
        VALUES ({_SQLITE_NOW}, 'quarantined', NEW.source_ref, NEW.source, NEW.reason); END""",
]
# added to audit_events after the log's first version: a store of that version lacks them
_SQLITE_ADDED_COLUMNS = (("person_ids", "TEXT"), ("query_digest", "TEXT"))

# -- PostgreSQL --------------------------------------------------------------------------------

# Statement-level BEFORE triggers: they fire for TRUNCATE too (which row triggers do not see),
# and for a statement that would touch no row.
_POSTGRESQL_APPEND_ONLY = [
    *(
        (table, verb)
        for table in ("audit_events", "audit_refs", "audit_persons")
        for verb in ("update", "delete", "truncate")
    ),
    ("audit_queries", "update"),
    ("audit_queries", "truncate"),
]
# what SQLite's strftime('%Y-%m-%dT%H:%M:%fZ', 'now') gives
_POSTGRESQL_NOW = (
    "to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
)

_POSTGRESQL = [
    *_audit_tables("BIGINT"),
    f"""CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '{APPEND_ONLY}' USING ERRCODE = 'integrity_constraint_violation',
                DETAIL = TG_OP || ' on ' || TG_TABLE_NAME || ' refused';
        END $$""",
    *(
        f"""CREATE OR REPLACE TRIGGER {table}_no_{verb} BEFORE {verb.upper()} ON {table}
        FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()"""
        for table, verb in _POSTGRESQL_APPEND_ONLY
    ),
    *_telemetry_tables("DOUBLE PRECISION", "BIGSERIAL PRIMARY KEY"),
    _changes_table("BIGSERIAL PRIMARY KEY"),
    f"""CREATE OR REPLACE FUNCTION changes_log() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_ARGV[0] = 'quarantined' THEN
                INSERT INTO changes (at, kind, record_id, source, reason)
                VALUES ({_POSTGRESQL_NOW}, 'quarantined', NEW.source_ref, NEW.source,
                        NEW.reason);
            ELSIF TG_OP = 'DELETE' THEN
                INSERT INTO changes (at, kind, record_id, source)
                VALUES ({_POSTGRESQL_NOW}, TG_ARGV[0], OLD.id, OLD.source);
            ELSE
                INSERT INTO changes (at, kind, record_id, source)
                VALUES ({_POSTGRESQL_NOW}, TG_ARGV[0], NEW.id, NEW.source);
            END IF;
            RETURN NULL;
        END $$""",
    """CREATE OR REPLACE TRIGGER changes_indexed AFTER INSERT ON records
        FOR EACH ROW EXECUTE FUNCTION changes_log('indexed')""",
    """CREATE OR REPLACE TRIGGER changes_updated AFTER UPDATE ON records FOR EACH ROW
        WHEN (OLD.content_hash IS DISTINCT FROM NEW.content_hash
              OR OLD.acl_hash IS DISTINCT FROM NEW.acl_hash)
        EXECUTE FUNCTION changes_log('updated')""",
    """CREATE OR REPLACE TRIGGER changes_deleted AFTER DELETE ON records
        FOR EACH ROW EXECUTE FUNCTION changes_log('deleted')""",
    """CREATE OR REPLACE TRIGGER changes_quarantined AFTER INSERT ON failures
        FOR EACH ROW EXECUTE FUNCTION changes_log('quarantined')""",
]


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for statement in _POSTGRESQL:
            bind.exec_driver_sql(statement)
        return
    # the tables first (a store of the log's first version keeps its audit_events), then the
    # columns that version lacks, then the triggers and the rest
    tables = [s for s in _SQLITE if s.startswith("CREATE TABLE")]
    for statement in tables:
        bind.exec_driver_sql(statement)
    present = {str(r[1]) for r in bind.exec_driver_sql("PRAGMA table_info(audit_events)")}
    for name, kind in _SQLITE_ADDED_COLUMNS:
        if name not in present:
            bind.exec_driver_sql(f"ALTER TABLE audit_events ADD COLUMN {name} {kind}")
    for statement in _SQLITE:
        if statement not in tables:
            bind.exec_driver_sql(statement)


def downgrade() -> None:
    raise NotImplementedError("the store is migrated forward only: restore a backup to go back")
