"""The store as it stood when migrations began (schema_version 1 in ``meta``).

On SQLite every statement is ``IF NOT EXISTS``, so a store made before migrations existed
takes this revision as it is and gains only Alembic's version table. PostgreSQL gets the same
tables with its own types; the lexical index there is a table of token occurrences
(``chunk_tokens``) in place of SQLite's FTS5 tables, and the chunk's terms and token count are
columns of ``chunks`` (retrieval/lexical.py reads both the same way).

Revision ID: 0001
Revises:
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_SUBJECT_VIEW = """CREATE VIEW {exists} effective_subjects AS
        SELECT s.record_pk, s.ordinal, s.person_id, s.name, s.other_names, s.dob, s.role
          FROM subjects s JOIN records r ON r.pk = s.record_pk
         WHERE NOT EXISTS (SELECT 1 FROM case_people p
                            WHERE p.case_id = r.case_id AND p.person_id = s.person_id)
        UNION ALL
        SELECT r.pk, 1000 + p.ordinal, p.person_id, p.name, p.other_names, p.dob, p.role
          FROM case_people p JOIN records r ON r.case_id = p.case_id"""


def _tables(pk: str, integer: str) -> list[str]:
    """The tables both databases share, with the key and integer types filled in."""
    return [
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        f"""CREATE TABLE IF NOT EXISTS records (
            pk {pk},
            id TEXT NOT NULL UNIQUE,
            case_id TEXT, doc_type TEXT, title TEXT NOT NULL DEFAULT '', text TEXT NOT NULL,
            created_at TEXT, updated_at TEXT, author TEXT, source_uri TEXT,
            attachments TEXT NOT NULL DEFAULT '[]', extra TEXT NOT NULL DEFAULT '{{}}',
            content_hash TEXT NOT NULL, acl_hash TEXT NOT NULL,
            source TEXT, generation {integer} NOT NULL, indexed_at TEXT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS records_case ON records (case_id, created_at)",
        "CREATE INDEX IF NOT EXISTS records_source ON records (source)",
        f"""CREATE TABLE IF NOT EXISTS principals (
            record_pk {integer} NOT NULL REFERENCES records (pk) ON DELETE CASCADE,
            principal TEXT NOT NULL, effect TEXT NOT NULL CHECK (effect IN ('allow', 'deny')),
            PRIMARY KEY (record_pk, effect, principal))""",
        "CREATE INDEX IF NOT EXISTS principals_lookup ON principals (principal, effect, record_pk)",
        f"""CREATE TABLE IF NOT EXISTS removed_chunks (
            chunk_pk {integer} PRIMARY KEY, generation {integer} NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS removed_generation ON removed_chunks (generation)",
        f"""CREATE TABLE IF NOT EXISTS subjects (
            record_pk {integer} NOT NULL REFERENCES records (pk) ON DELETE CASCADE,
            ordinal INTEGER NOT NULL, person_id TEXT NOT NULL, name TEXT NOT NULL,
            other_names TEXT NOT NULL DEFAULT '[]', dob TEXT, role TEXT NOT NULL,
            PRIMARY KEY (record_pk, ordinal))""",
        "CREATE INDEX IF NOT EXISTS subjects_role ON subjects (role, person_id, record_pk)",
        """CREATE TABLE IF NOT EXISTS case_people (
            case_id TEXT NOT NULL, ordinal INTEGER NOT NULL, person_id TEXT NOT NULL,
            name TEXT NOT NULL, other_names TEXT NOT NULL DEFAULT '[]', dob TEXT,
            role TEXT NOT NULL, PRIMARY KEY (case_id, ordinal))""",
        "CREATE INDEX IF NOT EXISTS case_people_person ON case_people (person_id, case_id)",
        """CREATE TABLE IF NOT EXISTS checkpoints (
            source TEXT PRIMARY KEY, checkpoint TEXT NOT NULL, updated_at TEXT NOT NULL,
            last_run TEXT)""",
        """CREATE TABLE IF NOT EXISTS failures (
            source TEXT NOT NULL, source_ref TEXT NOT NULL, reason TEXT NOT NULL,
            first_seen TEXT NOT NULL, last_seen TEXT NOT NULL,
            PRIMARY KEY (source, source_ref))""",
    ]


_SQLITE = [
    *_tables("INTEGER PRIMARY KEY AUTOINCREMENT", "INTEGER"),
    """CREATE TABLE IF NOT EXISTS chunks (
        pk INTEGER PRIMARY KEY AUTOINCREMENT,
        record_pk INTEGER NOT NULL REFERENCES records (pk) ON DELETE CASCADE,
        ordinal INTEGER NOT NULL, char_start INTEGER NOT NULL, char_end INTEGER NOT NULL,
        vector BLOB NOT NULL, generation INTEGER NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS chunks_record ON chunks (record_pk, ordinal)",
    "CREATE INDEX IF NOT EXISTS chunks_generation ON chunks (generation)",
    "CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5 (terms, tokenize = 'unicode61')",
    # each term occurrence (term, chunk, offset): BM25 counts its statistics per caller
    "CREATE VIRTUAL TABLE IF NOT EXISTS chunks_vocab USING fts5vocab (chunks_fts, instance)",
    _SUBJECT_VIEW.format(exists="IF NOT EXISTS"),
    # versions of the permissions and of the chunks, bumped in the writing transaction by
    # whatever writes them: what search keeps between requests is keyed by them
    *(
        f"""CREATE TRIGGER IF NOT EXISTS {table}_{event.lower()}_bumps_version
        AFTER {event} ON {table} BEGIN
        UPDATE meta SET value = value + 1 WHERE key = '{key}'; END"""
        for table, key in (("principals", "acl_version"), ("chunks", "chunks_version"))
        for event in ("INSERT", "UPDATE", "DELETE")
    ),
]

_POSTGRESQL = [
    *_tables("BIGSERIAL PRIMARY KEY", "BIGINT"),
    # terms: the analysed words FTS5 would hold; length: their number of FTS5 tokens
    """CREATE TABLE IF NOT EXISTS chunks (
        pk BIGSERIAL PRIMARY KEY,
        record_pk BIGINT NOT NULL REFERENCES records (pk) ON DELETE CASCADE,
        ordinal INTEGER NOT NULL, char_start INTEGER NOT NULL, char_end INTEGER NOT NULL,
        vector BYTEA NOT NULL, generation BIGINT NOT NULL,
        terms TEXT NOT NULL, length INTEGER NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS chunks_record ON chunks (record_pk, ordinal)",
    "CREATE INDEX IF NOT EXISTS chunks_generation ON chunks (generation)",
    # every token occurrence, as SQLite's fts5vocab 'instance' table lists them
    """CREATE TABLE IF NOT EXISTS chunk_tokens (
        term TEXT NOT NULL,
        chunk_pk BIGINT NOT NULL REFERENCES chunks (pk) ON DELETE CASCADE,
        pos INTEGER NOT NULL,
        PRIMARY KEY (term, chunk_pk, pos))""",
    "CREATE INDEX IF NOT EXISTS chunk_tokens_chunk ON chunk_tokens (chunk_pk)",
    _SUBJECT_VIEW.format(exists="").replace("CREATE VIEW", "CREATE OR REPLACE VIEW"),
    """CREATE OR REPLACE FUNCTION bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE meta SET value = (value::bigint + 1)::text WHERE key = TG_ARGV[0];
            RETURN NULL;
        END $$""",
    *(
        f"""CREATE OR REPLACE TRIGGER {table}_bumps_version
        AFTER INSERT OR UPDATE OR DELETE ON {table}
        FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version('{key}')"""
        for table, key in (("principals", "acl_version"), ("chunks", "chunks_version"))
    ),
]

_META = ("schema_version", "generation", "acl_version", "chunks_version")


def upgrade() -> None:
    bind = op.get_bind()
    for statement in _POSTGRESQL if bind.dialect.name == "postgresql" else _SQLITE:
        bind.exec_driver_sql(statement)
    for key in _META:
        value = "1" if key == "schema_version" else "0"
        bind.exec_driver_sql(
            "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO NOTHING", (key, value)
        )


def downgrade() -> None:
    raise NotImplementedError("the store is migrated forward only: restore a backup to go back")
