"""The embedded store: one SQLite database (through SQLAlchemy) holding records, principals,
chunks with their float32 vectors, an FTS5 table for BM25, checkpoints and a change log.

Every record update is one transaction: text, lexical terms, vectors and permissions change
together or not at all. Each write bumps a ``generation`` counter; the in-memory dense matrix
follows the store by replaying changes newer than the generation it last saw, so a write by
another process (``casesearch index`` beside a running server) is seen on the next search.
Triggers also count every change to the permissions and to the chunks (``acl_version``,
``chunks_version`` in ``meta``), whoever writes them: what search keeps between requests is
keyed by them (``data_version``).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import QueuePool

from retrieval.errors import IndexMismatchError, RetrievalError
from retrieval.models import ChunkRow, Document, Subject

SCHEMA_VERSION = "1"

IntArray = npt.NDArray[np.int64]

_DDL = [
    """CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS records (
        pk INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        case_id TEXT, doc_type TEXT, title TEXT NOT NULL DEFAULT '', text TEXT NOT NULL,
        created_at TEXT, updated_at TEXT, author TEXT, source_uri TEXT,
        attachments TEXT NOT NULL DEFAULT '[]', extra TEXT NOT NULL DEFAULT '{}',
        content_hash TEXT NOT NULL, acl_hash TEXT NOT NULL,
        source TEXT, generation INTEGER NOT NULL, indexed_at TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS records_case ON records (case_id, created_at)",
    "CREATE INDEX IF NOT EXISTS records_source ON records (source)",
    """CREATE TABLE IF NOT EXISTS principals (
        record_pk INTEGER NOT NULL REFERENCES records (pk) ON DELETE CASCADE,
        principal TEXT NOT NULL, effect TEXT NOT NULL CHECK (effect IN ('allow', 'deny')),
        PRIMARY KEY (record_pk, effect, principal))""",
    "CREATE INDEX IF NOT EXISTS principals_lookup ON principals (principal, effect, record_pk)",
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
    """CREATE TABLE IF NOT EXISTS removed_chunks (
        chunk_pk INTEGER PRIMARY KEY, generation INTEGER NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS removed_generation ON removed_chunks (generation)",
    # the people a record is about (DESIGN.md "subjects"); stores made before this table
    # existed get it on open, and their records have no subjects until they are re-indexed
    """CREATE TABLE IF NOT EXISTS subjects (
        record_pk INTEGER NOT NULL REFERENCES records (pk) ON DELETE CASCADE,
        ordinal INTEGER NOT NULL, person_id TEXT NOT NULL, name TEXT NOT NULL,
        other_names TEXT NOT NULL DEFAULT '[]', dob TEXT, role TEXT NOT NULL,
        PRIMARY KEY (record_pk, ordinal))""",
    "CREATE INDEX IF NOT EXISTS subjects_role ON subjects (role, person_id, record_pk)",
    # a people source's latest word on who each case is about (connectors/people.py)
    """CREATE TABLE IF NOT EXISTS case_people (
        case_id TEXT NOT NULL, ordinal INTEGER NOT NULL, person_id TEXT NOT NULL,
        name TEXT NOT NULL, other_names TEXT NOT NULL DEFAULT '[]', dob TEXT,
        role TEXT NOT NULL, PRIMARY KEY (case_id, ordinal))""",
    "CREATE INDEX IF NOT EXISTS case_people_person ON case_people (person_id, case_id)",
    # what every reader of subjects sees: a record's own subjects, except those the people
    # source names for the record's case, which it supplies (or corrects) for every record of
    # that case; ordinals of supplied people follow the record's own
    """CREATE VIEW IF NOT EXISTS effective_subjects AS
        SELECT s.record_pk, s.ordinal, s.person_id, s.name, s.other_names, s.dob, s.role
          FROM subjects s JOIN records r ON r.pk = s.record_pk
         WHERE NOT EXISTS (SELECT 1 FROM case_people p
                            WHERE p.case_id = r.case_id AND p.person_id = s.person_id)
        UNION ALL
        SELECT r.pk, 1000 + p.ordinal, p.person_id, p.name, p.other_names, p.dob, p.role
          FROM case_people p JOIN records r ON r.case_id = p.case_id""",
    """CREATE TABLE IF NOT EXISTS checkpoints (
        source TEXT PRIMARY KEY, checkpoint TEXT NOT NULL, updated_at TEXT NOT NULL,
        last_run TEXT)""",
    """CREATE TABLE IF NOT EXISTS failures (
        source TEXT NOT NULL, source_ref TEXT NOT NULL, reason TEXT NOT NULL,
        first_seen TEXT NOT NULL, last_seen TEXT NOT NULL,
        PRIMARY KEY (source, source_ref))""",
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
_VERSIONS = ("acl_version", "chunks_version")


@dataclass(frozen=True, slots=True)
class StoredState:
    """What the store knows of one record, for change detection."""

    pk: int
    content_hash: str
    acl_hash: str
    source: str | None


@dataclass(frozen=True, slots=True)
class SubjectRow:
    """One person named by one record, with the record's pk and case (for name look-ups)."""

    record_pk: int
    case_id: str | None
    person_id: str
    name: str
    other_names: tuple[str, ...]
    dob: dt.date | None


@dataclass(frozen=True, slots=True)
class FailureRow:
    source: str
    source_ref: str
    reason: str
    first_seen: str
    last_seen: str


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def sqlite_connection(conn: Connection) -> sqlite3.Connection:
    """The SQLite connection under ``conn`` (same transaction, same snapshot), for bulk reads
    without SQLAlchemy's per-row cost."""
    driver = conn.connection.driver_connection
    if not isinstance(driver, sqlite3.Connection):
        raise RetrievalError("the embedded store needs SQLite's own driver")
    return driver


def int_column(raw: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> IntArray:
    """The values of the one integer column ``sql`` selects, as an int64 array, ascending.

    SQLite packs the column into one JSON array: a hundred thousand rows arrive as one value,
    not as a hundred thousand Python tuples (4–10× faster at scale, the scale benchmark).
    """
    (packed,) = raw.execute(
        f"WITH q(v) AS ({sql}) SELECT json_group_array(v) FROM q", tuple(params)
    ).fetchone()
    # timsort: linear on the ascending runs SQLite usually returns
    return np.sort(np.array(json.loads(packed), dtype=np.int64), kind="stable")


def data_version(conn: Connection, key: str) -> int | None:
    """``acl_version`` or ``chunks_version`` as ``conn``'s snapshot sees it: a number that
    changes whenever any write changes the permissions (or the chunks, terms and vectors);
    None for a store that does not keep it (nothing may then be kept between searches)."""
    row = sqlite_connection(conn).execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else int(row[0])


def sqlite_engine(path: Path) -> Engine:
    """An engine for the store file with WAL, foreign keys and a generous busy timeout."""
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        f"sqlite+pysqlite:///{path}",
        # pooled: opening a SQLite connection and setting its pragmas costs ~1 ms a request
        poolclass=QueuePool,
        pool_size=8,
        max_overflow=16,
        pool_pre_ping=False,
        connect_args={"check_same_thread": False, "timeout": 30},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return engine


class SqliteStore:
    """Reads and writes of the embedded store. Thread-safe: each call takes its own connection.

    Writes go through ``transaction()``; the helpers that take a ``Connection`` run inside the
    caller's transaction, so one record's text, chunks, vectors and permissions commit together.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.engine = sqlite_engine(path)
        with self.engine.begin() as conn:
            for statement in _DDL:
                conn.exec_driver_sql(statement)
            conn.exec_driver_sql(
                "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,)
            )
            conn.exec_driver_sql("INSERT OR IGNORE INTO meta VALUES ('generation', '0')")
            for key in _VERSIONS:
                conn.exec_driver_sql("INSERT OR IGNORE INTO meta VALUES (?, '0')", (key,))

    def close(self) -> None:
        self.engine.dispose()

    # -- transactions -------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction (``BEGIN IMMEDIATE``: one writer at a time, no upgrade deadlock)."""
        with self.engine.connect() as conn:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """A read transaction: every query inside sees one consistent state."""
        with self.engine.connect() as conn:
            conn.exec_driver_sql("BEGIN")
            try:
                yield conn
            finally:
                conn.rollback()

    # -- meta ---------------------------------------------------------------------------------

    def get_meta(self, key: str, conn: Connection | None = None) -> str | None:
        if conn is None:
            with self.engine.connect() as own:
                return self.get_meta(key, own)
        row = conn.exec_driver_sql("SELECT value FROM meta WHERE key = ?", (key,)).first()
        return None if row is None else str(row[0])

    def set_meta(self, conn: Connection, key: str, value: str) -> None:
        conn.exec_driver_sql("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def generation(self, conn: Connection | None = None) -> int:
        return int(self.get_meta("generation", conn) or 0)

    def next_generation(self, conn: Connection) -> int:
        """Bump and return the generation; call once per write transaction."""
        value = self.generation(conn) + 1
        self.set_meta(conn, "generation", str(value))
        return value

    def check_index_settings(self, embedder: str, chunking: str) -> bool:
        """True when the store was built with these settings (or is empty and now claims them).

        Returns False when it holds chunks made with other settings: the caller must rebuild.
        """
        with self.transaction() as conn:
            stored_e = self.get_meta("embedder", conn)
            stored_c = self.get_meta("chunking", conn)
            if stored_e == embedder and stored_c == chunking:
                return True
            has_chunks = conn.exec_driver_sql("SELECT 1 FROM chunks LIMIT 1").first()
            if stored_e is None or stored_c is None or not has_chunks:
                self.set_meta(conn, "embedder", embedder)
                self.set_meta(conn, "chunking", chunking)
                return True
            return False

    def require_index_settings(self, embedder: str, chunking: str) -> None:
        stored_e = self.get_meta("embedder")
        stored_c = self.get_meta("chunking")
        if stored_e is not None and (stored_e, stored_c) != (embedder, chunking):
            raise IndexMismatchError(
                f"the index was built with {stored_e} / {stored_c}, but the settings ask for "
                f"{embedder} / {chunking}: run 'casesearch index --rebuild'"
            )

    # -- records ------------------------------------------------------------------------------

    def stored_states(self, ids: Sequence[str], conn: Connection) -> dict[str, StoredState]:
        rows = _select_in(
            conn, "SELECT id, pk, content_hash, acl_hash, source FROM records WHERE id IN", ids
        )
        return {rid: StoredState(pk, ch, ah, src) for rid, pk, ch, ah, src in rows}

    def upsert_document(
        self,
        conn: Connection,
        doc: Document,
        chunks: Sequence[ChunkRow],
        *,
        content_hash: str,
        acl_hash: str,
        source: str | None,
        generation: int,
    ) -> int:
        """Insert or fully replace a record with its chunks, terms, vectors and permissions."""
        existing = conn.exec_driver_sql("SELECT pk FROM records WHERE id = ?", (doc.id,)).first()
        values = (
            *_content_columns(doc),
            content_hash,
            acl_hash,
            source,
            generation,
            _now(),
        )
        if existing is None:
            pk = int(
                conn.exec_driver_sql(
                    "INSERT INTO records (case_id, doc_type, title, text, created_at, updated_at,"
                    " author, source_uri, attachments, extra, content_hash, acl_hash, source,"
                    " generation, indexed_at, id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (*values, doc.id),
                ).lastrowid
                or 0
            )
        else:
            pk = int(existing[0])
            self._remove_chunks(conn, pk, generation)
            conn.exec_driver_sql(
                "UPDATE records SET case_id=?, doc_type=?, title=?, text=?, created_at=?,"
                " updated_at=?, author=?, source_uri=?, attachments=?, extra=?, content_hash=?,"
                " acl_hash=?, source=?, generation=?, indexed_at=? WHERE pk=?",
                (*values, pk),
            )
        self._write_principals(conn, pk, doc.acl, doc.deny)
        self._write_subjects(conn, pk, doc.subjects)
        for chunk in chunks:
            chunk_pk = conn.exec_driver_sql(
                "INSERT INTO chunks (record_pk, ordinal, char_start, char_end, vector, generation)"
                " VALUES (?,?,?,?,?,?)",
                (pk, chunk.ordinal, chunk.char_start, chunk.char_end, chunk.vector, generation),
            ).lastrowid
            conn.exec_driver_sql(
                "INSERT INTO chunks_fts (rowid, terms) VALUES (?, ?)", (chunk_pk, chunk.terms)
            )
        return pk

    def insert_documents(
        self,
        conn: Connection,
        items: Sequence[tuple[Document, Sequence[ChunkRow]]],
        *,
        source: str | None,
        generation: int,
    ) -> list[int]:
        """Insert new records with their chunks, terms, vectors, permissions and subjects in
        bulk (a first build, a benchmark's store); returns their pks in ``items`` order.

        The rows are those ``upsert_document`` writes, with ``content_hash`` and ``acl_hash``
        left empty (a later ``Indexer`` run re-reads these records once, as changed). Raises
        ``sqlite3.IntegrityError`` (the transaction must then be rolled back) when an id is
        already stored.
        """
        raw = sqlite_connection(conn)
        record_pk = _next_pk(raw, "records")
        chunk_pk = _next_pk(raw, "chunks")
        now = _now()
        records: list[tuple[Any, ...]] = []
        principals: list[tuple[int, str, str]] = []
        subjects: list[tuple[Any, ...]] = []
        chunks: list[tuple[Any, ...]] = []
        terms: list[tuple[int, str]] = []
        pks: list[int] = []
        for doc, rows in items:
            pks.append(record_pk)
            records.append((record_pk, doc.id, *_content_columns(doc), source, generation, now))
            principals += [(record_pk, p, "allow") for p in sorted(set(doc.acl))]
            principals += [(record_pk, p, "deny") for p in sorted(set(doc.deny))]
            subjects += [
                (record_pk, ordinal, *_person_columns(s)) for ordinal, s in enumerate(doc.subjects)
            ]
            for chunk in rows:
                chunks.append(
                    (chunk_pk, record_pk, chunk.ordinal, chunk.char_start, chunk.char_end,
                     chunk.vector, generation)
                )  # fmt: skip
                terms.append((chunk_pk, chunk.terms))
                chunk_pk += 1
            record_pk += 1
        raw.executemany(
            "INSERT INTO records (pk, id, case_id, doc_type, title, text, created_at, updated_at,"
            " author, source_uri, attachments, extra, content_hash, acl_hash, source,"
            " generation, indexed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,'','',?,?,?)",
            records,
        )
        raw.executemany("INSERT INTO principals VALUES (?, ?, ?)", principals)
        raw.executemany("INSERT INTO subjects VALUES (?, ?, ?, ?, ?, ?, ?)", subjects)
        raw.executemany("INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?)", chunks)
        raw.executemany("INSERT INTO chunks_fts (rowid, terms) VALUES (?, ?)", terms)
        return pks

    def update_permissions(
        self,
        conn: Connection,
        record_id: str,
        acl: Sequence[str],
        deny: Sequence[str],
        *,
        acl_hash: str,
        generation: int,
    ) -> bool:
        """Replace a record's permissions without touching chunks or vectors."""
        row = conn.exec_driver_sql("SELECT pk FROM records WHERE id = ?", (record_id,)).first()
        if row is None:
            return False
        pk = int(row[0])
        self._write_principals(conn, pk, acl, deny)
        conn.exec_driver_sql(
            "UPDATE records SET acl_hash = ?, generation = ?, indexed_at = ? WHERE pk = ?",
            (acl_hash, generation, _now(), pk),
        )
        return True

    def delete_document(self, conn: Connection, record_id: str, generation: int) -> bool:
        """Remove a record from every index. Returns False when it was not there."""
        row = conn.exec_driver_sql("SELECT pk FROM records WHERE id = ?", (record_id,)).first()
        if row is None:
            return False
        pk = int(row[0])
        self._remove_chunks(conn, pk, generation)
        conn.exec_driver_sql("DELETE FROM principals WHERE record_pk = ?", (pk,))
        conn.exec_driver_sql("DELETE FROM subjects WHERE record_pk = ?", (pk,))
        conn.exec_driver_sql("DELETE FROM records WHERE pk = ?", (pk,))
        return True

    def _remove_chunks(self, conn: Connection, record_pk: int, generation: int) -> None:
        pks = [
            int(r[0])
            for r in conn.exec_driver_sql("SELECT pk FROM chunks WHERE record_pk = ?", (record_pk,))
        ]
        for chunk_pk in pks:
            conn.exec_driver_sql("DELETE FROM chunks_fts WHERE rowid = ?", (chunk_pk,))
            conn.exec_driver_sql(
                "INSERT OR REPLACE INTO removed_chunks VALUES (?, ?)", (chunk_pk, generation)
            )
        conn.exec_driver_sql("DELETE FROM chunks WHERE record_pk = ?", (record_pk,))

    def _write_principals(
        self, conn: Connection, pk: int, acl: Sequence[str], deny: Sequence[str]
    ) -> None:
        conn.exec_driver_sql("DELETE FROM principals WHERE record_pk = ?", (pk,))
        rows = [(pk, p, "allow") for p in sorted(set(acl))]
        rows += [(pk, p, "deny") for p in sorted(set(deny))]
        if rows:
            conn.exec_driver_sql("INSERT INTO principals VALUES (?, ?, ?)", rows)

    def _write_subjects(self, conn: Connection, pk: int, subjects: Sequence[Subject]) -> None:
        conn.exec_driver_sql("DELETE FROM subjects WHERE record_pk = ?", (pk,))
        rows = [(pk, ordinal, *_person_columns(s)) for ordinal, s in enumerate(subjects)]
        if rows:
            conn.exec_driver_sql("INSERT INTO subjects VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

    def subject_rows(self, conn: Connection, role: str) -> list[SubjectRow]:
        """Every (record, person) pair with ``role``, ordered by person id then record pk.

        Rights are not checked here: callers keep only rows of records the user may see.
        """
        rows = conn.exec_driver_sql(
            "SELECT s.record_pk, r.case_id, s.person_id, s.name, s.other_names, s.dob"
            " FROM effective_subjects s JOIN records r ON r.pk = s.record_pk WHERE s.role = ?"
            " ORDER BY s.person_id, s.record_pk",
            (role,),
        ).all()
        return [
            SubjectRow(
                int(pk),
                case_id,
                str(pid),
                str(name),
                tuple(json.loads(others or "[]")),
                dt.date.fromisoformat(dob) if dob else None,
            )
            for pk, case_id, pid, name, others, dob in rows
        ]

    def person_ids_of(self, conn: Connection, record_ids: Sequence[str]) -> list[str]:
        """The distinct person ids the given records name (sorted); unknown ids name nobody."""
        rows = _select_in(
            conn,
            "SELECT DISTINCT s.person_id FROM effective_subjects s"
            " JOIN records r ON r.pk = s.record_pk WHERE r.id IN",
            record_ids,
        )
        return sorted({str(r[0]) for r in rows})

    def record_ids_naming(self, conn: Connection, person_id: str) -> list[str]:
        """Ids of every record whose subjects include ``person_id`` (sorted; rights unchecked)."""
        rows = conn.exec_driver_sql(
            "SELECT DISTINCT r.id FROM effective_subjects s"
            " JOIN records r ON r.pk = s.record_pk WHERE s.person_id = ? ORDER BY r.id",
            (person_id,),
        )
        return [str(r[0]) for r in rows]

    def replace_case_people(
        self,
        conn: Connection,
        cases: Mapping[str, Sequence[Subject]],
        generation: int,
        *,
        complete: bool = True,
    ) -> tuple[int, int]:
        """Store the people source's word ``cases`` (case id → its people). With ``complete``
        it is the whole snapshot: cases absent from it lose what an earlier one supplied;
        without, only the cases given change. Records of a changed case move to
        ``generation``. Returns (cases changed, people in ``cases``)."""
        stored: dict[str, list[tuple[Any, ...]]] = {}
        for row in conn.exec_driver_sql(
            "SELECT case_id, person_id, name, other_names, dob, role FROM case_people"
            " ORDER BY case_id, ordinal"
        ):
            stored.setdefault(str(row[0]), []).append(tuple(row[1:]))
        wanted = {
            case_id: [_person_columns(s) for s in people] for case_id, people in cases.items()
        }
        considered = stored.keys() | wanted.keys() if complete else wanted.keys()
        changed = sorted(c for c in considered if stored.get(c) != wanted.get(c))
        for case_id in changed:
            conn.exec_driver_sql("DELETE FROM case_people WHERE case_id = ?", (case_id,))
            rows = [(case_id, i, *person) for i, person in enumerate(wanted.get(case_id, []))]
            if rows:
                conn.exec_driver_sql("INSERT INTO case_people VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            conn.exec_driver_sql(
                "UPDATE records SET generation = ? WHERE case_id = ?", (generation, case_id)
            )
        return len(changed), sum(len(p) for p in wanted.values())

    def forget_person(self, conn: Connection, person_id: str) -> int:
        """Delete what the people source said of ``person_id`` (erasure); returns the rows."""
        done = conn.exec_driver_sql("DELETE FROM case_people WHERE person_id = ?", (person_id,))
        return int(done.rowcount or 0)

    # -- erasure ------------------------------------------------------------------------------

    def erase_documents(
        self, conn: Connection, record_ids: Sequence[str], generation: int
    ) -> list[tuple[str, str]]:
        """Delete the records with their chunks, vectors, lexical entries, permissions, subjects
        and quarantine entries inside ``conn``'s transaction; returns ``(title, chunk text)``
        of every chunk deleted (for the caller to forget cached embeddings of).

        Lexical entries are merged away (FTS5 ``optimize``) so no term stays in the shadow
        tables; deleted pages stay in the file until ``compact()``.
        """
        texts: list[tuple[str, str]] = []
        for record_id in dict.fromkeys(record_ids):
            doc = self.document(record_id, conn)
            if doc is not None:
                spans = conn.exec_driver_sql(
                    "SELECT c.char_start, c.char_end FROM chunks c JOIN records r"
                    " ON r.pk = c.record_pk WHERE r.id = ? ORDER BY c.ordinal",
                    (record_id,),
                )
                texts.extend((doc.title, doc.text[start:end]) for start, end in spans)
                self.delete_document(conn, record_id, generation)
            conn.exec_driver_sql("DELETE FROM failures WHERE source_ref = ?", (record_id,))
        conn.exec_driver_sql("INSERT INTO chunks_fts (chunks_fts) VALUES ('optimize')")
        return texts

    def compact(self) -> None:
        """Checkpoint the WAL (truncating it), VACUUM, and truncate again: pages freed by
        deletions leave the files.

        Raises ``RetrievalError`` when another connection's open transaction keeps the WAL
        from being emptied (the deleted pages may then still be in it: run it again).
        """
        with self.engine.connect() as conn:
            raw = sqlite_connection(conn)
            previous = raw.isolation_level
            raw.isolation_level = None  # VACUUM cannot run inside a transaction
            try:
                raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                raw.execute("VACUUM")
                busy = raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            finally:
                raw.isolation_level = previous
        if busy is None or int(busy[0]) != 0:
            raise RetrievalError(
                "the store's write-ahead log could not be emptied while other transactions are"
                " open; run the compaction again when they end"
            )

    def ids_for_source(self, source: str, conn: Connection | None = None) -> set[str]:
        if conn is None:
            with self.engine.connect() as own:
                return self.ids_for_source(source, own)
        rows = conn.exec_driver_sql("SELECT id FROM records WHERE source = ?", (source,))
        return {str(r[0]) for r in rows}

    # -- checkpoints and failures -------------------------------------------------------------

    def get_checkpoint(self, source: str) -> str | None:
        with self.engine.connect() as conn:
            row = conn.exec_driver_sql(
                "SELECT checkpoint FROM checkpoints WHERE source = ?", (source,)
            ).first()
        return None if row is None else str(row[0])

    def save_checkpoint(self, conn: Connection, source: str, checkpoint: str) -> None:
        conn.exec_driver_sql(
            "INSERT INTO checkpoints (source, checkpoint, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (source) DO UPDATE SET checkpoint = excluded.checkpoint,"
            " updated_at = excluded.updated_at",
            (source, checkpoint, _now()),
        )

    def save_run_summary(self, source: str, summary: dict[str, Any]) -> None:
        with self.transaction() as conn:
            conn.exec_driver_sql(
                "INSERT INTO checkpoints (source, checkpoint, updated_at, last_run)"
                " VALUES (?, '', ?, ?) ON CONFLICT (source) DO UPDATE SET"
                " last_run = excluded.last_run",
                (source, _now(), json.dumps(summary, sort_keys=True)),
            )

    def clear_checkpoint(self, conn: Connection, source: str) -> None:
        conn.exec_driver_sql("DELETE FROM checkpoints WHERE source = ?", (source,))

    def source_status(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT c.source, c.checkpoint, c.updated_at, c.last_run,"
                " (SELECT count(*) FROM records r WHERE r.source = c.source),"
                " (SELECT count(*) FROM failures f WHERE f.source = c.source)"
                " FROM checkpoints c ORDER BY c.source"
            ).all()
        return [
            {
                "source": r[0],
                "checkpoint": r[1],
                "checkpoint_updated_at": r[2],
                "last_run": json.loads(r[3]) if r[3] else None,
                "records": int(r[4]),
                "failures": int(r[5]),
            }
            for r in rows
        ]

    def record_failure(self, conn: Connection, source: str, source_ref: str, reason: str) -> None:
        now = _now()
        conn.exec_driver_sql(
            "INSERT INTO failures VALUES (?, ?, ?, ?, ?) ON CONFLICT (source, source_ref)"
            " DO UPDATE SET reason = excluded.reason, last_seen = excluded.last_seen",
            (source, source_ref, reason, now, now),
        )

    def clear_failure(self, conn: Connection, source: str, source_ref: str) -> None:
        conn.exec_driver_sql(
            "DELETE FROM failures WHERE source = ? AND source_ref = ?", (source, source_ref)
        )

    def clear_failures_except(
        self, conn: Connection, source: str, still_failing: Collection[str]
    ) -> int:
        """Delete ``source``'s failures whose reference is not in ``still_failing``; the count."""
        stored = conn.exec_driver_sql(
            "SELECT source_ref FROM failures WHERE source = ?", (source,)
        ).all()
        resolved = [str(ref) for (ref,) in stored if ref not in still_failing]
        for ref in resolved:
            self.clear_failure(conn, source, ref)
        return len(resolved)

    def failures(self, source: str | None = None) -> list[FailureRow]:
        query = "SELECT source, source_ref, reason, first_seen, last_seen FROM failures"
        params: tuple[Any, ...] = ()
        if source is not None:
            query += " WHERE source = ?"
            params = (source,)
        with self.engine.connect() as conn:
            rows = conn.exec_driver_sql(query + " ORDER BY source, source_ref", params).all()
        return [FailureRow(*map(str, r)) for r in rows]

    # -- reads --------------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            records = conn.exec_driver_sql("SELECT count(*) FROM records").scalar_one()
            chunks = conn.exec_driver_sql("SELECT count(*) FROM chunks").scalar_one()
        return {"records": int(records), "chunks": int(chunks)}

    def document(self, record_id: str, conn: Connection | None = None) -> Document | None:
        if conn is None:
            with self.engine.connect() as own:
                return self.document(record_id, own)
        row = conn.exec_driver_sql(
            f"SELECT {_DOC_COLUMNS} FROM records WHERE id = ?", (record_id,)
        ).first()
        if row is None:
            return None
        return self._documents_from_rows(conn, [tuple(row)])[0]

    def documents_by_pk(self, conn: Connection, pks: Iterable[int]) -> dict[int, Document]:
        rows = _select_in(conn, f"SELECT {_DOC_COLUMNS} FROM records WHERE pk IN", pks)
        docs = self._documents_from_rows(conn, rows)
        return {int(r[0]): d for r, d in zip(rows, docs, strict=True)}

    def ids_by_pk(self, conn: Connection, pks: Iterable[int]) -> dict[int, str]:
        rows = _select_in(conn, "SELECT pk, id FROM records WHERE pk IN", pks)
        return {int(pk): str(rid) for pk, rid in rows}

    def _documents_from_rows(self, conn: Connection, rows: list[tuple[Any, ...]]) -> list[Document]:
        pks = [int(r[0]) for r in rows]
        acl: dict[int, list[str]] = {pk: [] for pk in pks}
        deny: dict[int, list[str]] = {pk: [] for pk in pks}
        if pks:
            marks = ",".join("?" * len(pks))
            for pk, principal, effect in conn.exec_driver_sql(
                "SELECT record_pk, principal, effect FROM principals"
                f" WHERE record_pk IN ({marks}) ORDER BY principal",
                tuple(pks),
            ):
                (acl if effect == "allow" else deny)[int(pk)].append(str(principal))
        subjects = self._subjects_of(conn, pks)
        return [
            Document(
                id=r[1],
                case_id=r[2],
                doc_type=r[3],
                title=r[4] or "",
                text=r[5],
                created_at=dt.date.fromisoformat(r[6]) if r[6] else None,
                updated_at=dt.datetime.fromisoformat(r[7]) if r[7] else None,
                author=r[8],
                source_uri=r[9],
                attachments=tuple(json.loads(r[10] or "[]")),
                extra=json.loads(r[11] or "{}"),
                acl=tuple(acl[int(r[0])]),
                deny=tuple(deny[int(r[0])]),
                subjects=tuple(subjects.get(int(r[0]), ())),
            )
            for r in rows
        ]

    def _subjects_of(self, conn: Connection, pks: Sequence[int]) -> dict[int, list[Subject]]:
        out: dict[int, list[Subject]] = {}
        rows = _select_in(
            conn,
            "SELECT record_pk, ordinal, person_id, name, other_names, dob, role"
            " FROM effective_subjects WHERE record_pk IN",
            pks,
        )
        for pk, _ordinal, pid, name, others, dob, role in sorted(rows, key=lambda r: r[:2]):
            out.setdefault(int(pk), []).append(
                Subject(
                    id=str(pid),
                    name=str(name),
                    role=str(role),
                    other_names=tuple(json.loads(others or "[]")),
                    dob=dt.date.fromisoformat(dob) if dob else None,
                )
            )
        return out

    def record_pks(self, conn: Connection) -> list[int]:
        """Every record's pk, ascending (for copying the store to another index)."""
        return [int(r[0]) for r in conn.exec_driver_sql("SELECT pk FROM records ORDER BY pk")]

    def case_record_pks(self, conn: Connection, case_ids: Iterable[str]) -> dict[str, list[int]]:
        """case id → the pks of all its records (callers narrow them to what a user may see)."""
        rows = _select_in(conn, "SELECT case_id, pk FROM records WHERE case_id IN", case_ids)
        out: dict[str, list[int]] = {}
        for case_id, pk in rows:
            out.setdefault(str(case_id), []).append(int(pk))
        return out

    def chunk_spans(
        self, conn: Connection, chunk_pks: Iterable[int]
    ) -> dict[int, tuple[int, int, int, int]]:
        """chunk pk → (record pk, ordinal, char_start, char_end)."""
        rows = _select_in(
            conn,
            "SELECT pk, record_pk, ordinal, char_start, char_end FROM chunks WHERE pk IN",
            chunk_pks,
        )
        return {int(pk): (int(rpk), int(o), int(cs), int(ce)) for pk, rpk, o, cs, ce in rows}

    def chunk_rows(self, conn: Connection, record_pks: Iterable[int]) -> dict[int, list[ChunkRow]]:
        """record pk → its chunks as stored (ordinal order), terms and vectors included: what
        ``insert_documents`` takes, to copy records without analysing or embedding again."""
        rows = _select_in(
            conn,
            "SELECT c.record_pk, c.ordinal, c.char_start, c.char_end, f.terms, c.vector"
            " FROM chunks c JOIN chunks_fts f ON f.rowid = c.pk WHERE c.record_pk IN",
            record_pks,
        )
        out: dict[int, list[ChunkRow]] = {}
        for record_pk, ordinal, start, end, terms, vector in sorted(rows, key=lambda r: r[:2]):
            out.setdefault(int(record_pk), []).append(
                ChunkRow(int(ordinal), int(start), int(end), str(terms), bytes(vector))
            )
        return out


def _content_columns(doc: Document) -> tuple[Any, ...]:
    """``records`` columns case_id to extra, as stored, in table order."""
    return (
        doc.case_id,
        doc.doc_type,
        doc.title,
        doc.text,
        doc.created_at.isoformat() if doc.created_at else None,
        doc.updated_at.isoformat() if doc.updated_at else None,
        doc.author,
        doc.source_uri,
        json.dumps(list(doc.attachments)),
        json.dumps(dict(doc.extra), sort_keys=True, default=str),
    )


def _person_columns(s: Subject) -> tuple[Any, ...]:
    """A person's columns (``subjects`` and ``case_people``): id, name, other names, dob, role."""
    return (
        s.id,
        s.name,
        json.dumps(list(s.other_names)),
        s.dob.isoformat() if s.dob else None,
        s.role,
    )


def _next_pk(raw: sqlite3.Connection, table: str) -> int:
    """The pk AUTOINCREMENT would give ``table``'s next row (never a pk used before)."""
    used = raw.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
    highest = raw.execute(f"SELECT coalesce(max(pk), 0) FROM {table}").fetchone()
    return max(int(used[0]) if used else 0, int(highest[0])) + 1


def _select_in(conn: Connection, sql: str, keys: Iterable[Any]) -> list[tuple[Any, ...]]:
    """Rows of ``sql + " (?, …)"`` for the distinct ``keys``, queried 500 at a time."""
    wanted = list(dict.fromkeys(keys))
    rows: list[tuple[Any, ...]] = []
    for start in range(0, len(wanted), 500):
        batch = tuple(wanted[start : start + 500])
        marks = ",".join("?" * len(batch))
        rows.extend(tuple(r) for r in conn.exec_driver_sql(f"{sql} ({marks})", batch))
    return rows


_DOC_COLUMNS = (
    "pk, id, case_id, doc_type, title, text, created_at, updated_at, author, source_uri,"
    " attachments, extra"
)
