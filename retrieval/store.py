"""The record store: records, principals, chunks with their float32 vectors, the lexical
index, checkpoints and a change log, in one SQLite file (the embedded default) or in a
PostgreSQL database (``CASESEARCH_DATABASE_URL``), through SQLAlchemy.

The SQL is written once, in SQLite's ``?`` parameter style; on PostgreSQL the engine rewrites
the placeholders for psycopg (``_format_placeholders``). Where the two databases differ (the
lexical index: FTS5 tables on SQLite, a table of token occurrences on PostgreSQL; locking;
compaction) the methods say so. The tables come from Alembic revisions
(``retrieval/migrations``), applied when the store opens.

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
import hashlib
import json
import sqlite3
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import QueuePool

from retrieval.errors import IndexMismatchError, RetrievalError
from retrieval.models import ChunkRow, Document, Subject

IntArray = npt.NDArray[np.int64]

MIGRATIONS = Path(__file__).with_name("migrations")
"""Alembic's script directory: every change to the store's tables is a revision there."""

WRITE_LOCK = 0x63617365
"""PostgreSQL advisory lock taken by every write transaction: one writer at a time, as
SQLite's ``BEGIN IMMEDIATE`` gives (arbitrary; ASCII "case")."""


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


def is_postgresql(conn: Connection | Engine) -> bool:
    return conn.dialect.name == "postgresql"


def sqlite_connection(conn: Connection) -> sqlite3.Connection:
    """The SQLite connection under ``conn`` (same transaction, same snapshot), for bulk reads
    without SQLAlchemy's per-row cost."""
    driver = conn.connection.driver_connection
    if not isinstance(driver, sqlite3.Connection):
        raise RetrievalError("this operation needs the embedded store's SQLite driver")
    return driver


def int_column(conn: Connection, sql: str, params: Sequence[Any] = ()) -> IntArray:
    """The values of the one integer column ``sql`` selects, as an int64 array, ascending.

    The database joins the column into one text of comma-separated numbers, which numpy
    parses without making a Python object per value: a hundred thousand rows arrive as one
    value, not as a hundred thousand Python tuples (4–10× faster at scale on SQLite, the scale
    benchmark), and parsing the text takes a third of the time a JSON array's parse took
    (a common word's 588,000 offsets at a million chunks: 0.12 s against 0.16 s in all).
    """
    if is_postgresql(conn):
        joined = conn.exec_driver_sql(
            f"WITH q(v) AS ({sql}) SELECT string_agg(v::text, ',') FROM q", tuple(params)
        ).scalar_one()
    else:
        (joined,) = (
            sqlite_connection(conn)
            .execute(f"WITH q(v) AS ({sql}) SELECT group_concat(v, ',') FROM q", tuple(params))
            .fetchone()
        )
    if joined is None:  # no rows
        return np.zeros(0, dtype=np.int64)
    values = np.fromstring(str(joined), dtype=np.int64, sep=",")
    if values.size != str(joined).count(",") + 1:  # numpy stops at what is not an integer
        raise RetrievalError(f"an integer column held something else: {sql}")
    # timsort: linear on the ascending runs the database usually returns
    return np.sort(values, kind="stable")


def data_version(conn: Connection, key: str) -> int | None:
    """``acl_version`` or ``chunks_version`` as ``conn``'s snapshot sees it: a number that
    changes whenever any write changes the permissions (or the chunks, terms and vectors);
    None for a store that does not keep it (nothing may then be kept between searches)."""
    value = meta_value(conn, key)
    return None if value is None else int(value)


def fetch_rows(conn: Connection, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """All rows of ``sql`` as tuples, in ``conn``'s transaction; on SQLite through the driver's
    own cursor, without SQLAlchemy's cost per statement and per row (reads made on every
    search)."""
    if is_postgresql(conn):
        return [tuple(r) for r in conn.exec_driver_sql(sql, tuple(params))]
    rows: list[tuple[Any, ...]] = sqlite_connection(conn).execute(sql, tuple(params)).fetchall()
    return rows


def meta_value(conn: Connection, key: str) -> Any:
    """The ``meta`` table's value for ``key`` as ``conn`` sees it (None when absent)."""
    rows = fetch_rows(conn, "SELECT value FROM meta WHERE key = ?", (key,))
    return rows[0][0] if rows else None


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


def postgresql_engine(url: str) -> Engine:
    """An engine for a PostgreSQL store (``postgresql+psycopg://…``) that takes the store's
    ``?``-style SQL."""
    engine = create_engine(url, pool_size=8, max_overflow=16, pool_pre_ping=True)

    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def _placeholders(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> tuple[str, Any]:
        if getattr(context, "compiled", None) is not None:
            return statement, parameters  # SQLAlchemy's own statements are already psycopg's
        if not parameters and not many:
            return statement, None  # psycopg then reads no placeholder (nor "%") in it
        return _format_placeholders(statement), parameters

    return engine


@lru_cache(maxsize=1024)
def _format_placeholders(sql: str) -> str:
    """``sql`` with each ``?`` outside quotes made psycopg's ``%s``, and every ``%`` doubled."""
    out: list[str] = []
    quote: str | None = None
    for ch in sql:
        if ch == "%":
            out.append("%%")
        elif quote is not None:
            out.append(ch)
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
            out.append(ch)
        else:
            out.append("%s" if ch == "?" else ch)
    return "".join(out)


class StoreSchemaError(RetrievalError):
    """The store's tables were written by a newer version of the code."""


@lru_cache(maxsize=1)
def migration_scripts() -> Any:
    """Alembic's view of ``retrieval/migrations`` (its revisions and their head)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS))


def migrate(conn: Connection, where: str) -> None:
    """Bring the store's tables to the newest revision inside ``conn``'s transaction, or raise
    ``StoreSchemaError`` for a store of a revision this code does not know (a newer one)."""
    from alembic.command import upgrade
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext

    scripts = migration_scripts()
    current = MigrationContext.configure(conn).get_current_revision()
    if current == scripts.get_current_head():
        return
    if current is not None and current not in {s.revision for s in scripts.walk_revisions()}:
        raise StoreSchemaError(
            f"the store at {where} has schema revision {current}, which this version of"
            " casesearch does not know (a newer version wrote it): upgrade casesearch, or open"
            " another store"
        )
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    upgrade(config, "head")


class RecordStore:
    """Reads and writes of the store. Thread-safe: each call takes its own connection.

    Writes go through ``transaction()``; the helpers that take a ``Connection`` run inside the
    caller's transaction, so one record's text, chunks, vectors and permissions commit together.
    ``target`` is the SQLite file, or a PostgreSQL URL (``postgresql+psycopg://…``).
    """

    def __init__(self, target: Path | str) -> None:
        if isinstance(target, str) and target.startswith("postgresql"):
            self.path: Path | None = None
            self.engine = postgresql_engine(target)
            self.where = self.engine.url.render_as_string(hide_password=True)
        else:
            self.path = Path(target)
            self.engine = sqlite_engine(self.path)
            self.where = str(self.path)
        self.postgresql = is_postgresql(self.engine)
        with self.transaction() as conn:
            migrate(conn, self.where)

    def close(self) -> None:
        self.engine.dispose()

    # -- transactions -------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction, one at a time: ``BEGIN IMMEDIATE`` on SQLite (no upgrade
        deadlock), the store's advisory lock on PostgreSQL (``WRITE_LOCK``)."""
        with self.engine.connect() as conn:
            if self.postgresql:
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(?)", (WRITE_LOCK,))
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """A read transaction: every query inside sees one consistent state (on PostgreSQL,
        ``REPEATABLE READ``: SQLite's reads are snapshots by themselves)."""
        with self.engine.connect() as conn:
            if self.postgresql:
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            else:
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
        value = meta_value(conn, key)
        return None if value is None else str(value)

    def set_meta(self, conn: Connection, key: str, value: str) -> None:
        conn.exec_driver_sql(
            "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

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
                    " generation, indexed_at, id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
                    " RETURNING pk",
                    (*values, doc.id),
                ).scalar_one()
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
        pks = self._next_pks(conn, "chunks", len(chunks))
        rows = [(chunk_pk, pk, c, generation) for chunk_pk, c in zip(pks, chunks, strict=True)]
        self._insert_chunks(conn, rows)
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
        record_pks = iter(self._next_pks(conn, "records", len(items)))
        chunk_pks = iter(self._next_pks(conn, "chunks", sum(len(rows) for _, rows in items)))
        now = _now()
        records: list[tuple[Any, ...]] = []
        principals: list[tuple[int, str, str]] = []
        subjects: list[tuple[Any, ...]] = []
        chunks: list[tuple[int, int, ChunkRow, int]] = []
        pks: list[int] = []
        for doc, rows in items:
            record_pk = next(record_pks)
            pks.append(record_pk)
            records.append((record_pk, doc.id, *_content_columns(doc), source, generation, now))
            principals += [(record_pk, p, "allow") for p in sorted(set(doc.acl))]
            principals += [(record_pk, p, "deny") for p in sorted(set(doc.deny))]
            subjects += [
                (record_pk, ordinal, *_person_columns(s)) for ordinal, s in enumerate(doc.subjects)
            ]
            chunks += [(next(chunk_pks), record_pk, chunk, generation) for chunk in rows]
        _many(
            conn,
            "INSERT INTO records (pk, id, case_id, doc_type, title, text, created_at, updated_at,"
            " author, source_uri, attachments, extra, content_hash, acl_hash, source,"
            " generation, indexed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,'','',?,?,?)",
            records,
        )
        _many(conn, "INSERT INTO principals VALUES (?, ?, ?)", principals)
        _many(conn, "INSERT INTO subjects VALUES (?, ?, ?, ?, ?, ?, ?)", subjects)
        self._insert_chunks(conn, chunks)
        return pks

    def _next_pks(self, conn: Connection, table: str, count: int) -> list[int]:
        """``count`` pks for new rows of ``table`` (``records`` or ``chunks``), never used
        before: SQLite's next ones (this write transaction is the only writer), PostgreSQL's
        drawn from the table's sequence."""
        if count == 0:
            return []
        if self.postgresql:
            rows = conn.exec_driver_sql(
                "SELECT nextval(pg_get_serial_sequence(?, 'pk')) FROM generate_series(1, ?)",
                (table, count),
            )
            return [int(r[0]) for r in rows]
        raw = sqlite_connection(conn)
        used = raw.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
        highest = raw.execute(f"SELECT coalesce(max(pk), 0) FROM {table}").fetchone()
        first = max(int(used[0]) if used else 0, int(highest[0])) + 1
        return list(range(first, first + count))

    def _insert_chunks(
        self, conn: Connection, chunks: Sequence[tuple[int, int, ChunkRow, int]]
    ) -> None:
        """Write chunks (pk, record pk, chunk, generation) with their vectors and their lexical
        entries: FTS5 rows on SQLite; on PostgreSQL the terms, their token count and every token
        occurrence (``chunk_tokens``), tokenized by FTS5's own tokenizer so that both databases
        index the same tokens at the same offsets."""
        if not chunks:
            return
        if not self.postgresql:
            _many(
                conn,
                "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(pk, rpk, c.ordinal, c.char_start, c.char_end, c.vector, generation)
                 for pk, rpk, c, generation in chunks],
            )  # fmt: skip
            _many(
                conn,
                "INSERT INTO chunks_fts (rowid, terms) VALUES (?, ?)",
                [(pk, c.terms) for pk, _, c, _ in chunks],
            )
            return
        rows: list[tuple[Any, ...]] = []
        occurrences: list[tuple[str, int, int]] = []
        for pk, record_pk, chunk, generation in chunks:
            tokens = _tokens_of(chunk.terms)
            rows.append(
                (pk, record_pk, chunk.ordinal, chunk.char_start, chunk.char_end, chunk.vector,
                 generation, chunk.terms, len(tokens))
            )  # fmt: skip
            occurrences += [(token, pk, pos) for pos, token in enumerate(tokens)]
        _many(conn, "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        # a token repeated at one offset cannot happen: offsets are positions in the chunk
        _many(conn, "INSERT INTO chunk_tokens VALUES (?, ?, ?)", occurrences)

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
            (int(r[0]),)
            for r in conn.exec_driver_sql("SELECT pk FROM chunks WHERE record_pk = ?", (record_pk,))
        ]
        if not self.postgresql:  # chunk_tokens rows go with their chunk (ON DELETE CASCADE)
            _many(conn, "DELETE FROM chunks_fts WHERE rowid = ?", pks)
        _many(
            conn,
            "INSERT INTO removed_chunks VALUES (?, ?) ON CONFLICT (chunk_pk)"
            " DO UPDATE SET generation = excluded.generation",
            [(pk, generation) for (pk,) in pks],
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
        return list(self.iter_subject_rows(conn, role))

    def iter_subject_rows(self, conn: Connection, role: str) -> Iterator[SubjectRow]:
        """``subject_rows`` one at a time, as the database returns them (a directory of a
        million records is built without holding every row at once)."""
        rows = conn.exec_driver_sql(f"{_SUBJECT_ROWS} ORDER BY s.person_id, s.record_pk", (role,))
        for row in rows:
            yield _subject_row(*row)

    def subject_rows_of(
        self, conn: Connection, role: str, record_pks: Iterable[int]
    ) -> list[SubjectRow]:
        """``subject_rows`` of the given records only (ordered by person id, then record pk):
        what a directory patched after a change reads again."""
        # the condition on the view's own column reaches both arms of its UNION ALL
        rows = _select_in(conn, f"{_SUBJECT_ROWS} AND s.record_pk IN", record_pks, (role,))
        return sorted(
            (_subject_row(*row) for row in rows), key=lambda r: (r.person_id, r.record_pk)
        )

    def removed_chunk_count_since(self, conn: Connection, since: int) -> int:
        """How many chunks were removed (record rewritten or deleted) after generation
        ``since``."""
        value = conn.exec_driver_sql(
            "SELECT count(*) FROM removed_chunks WHERE generation > ?", (since,)
        ).scalar()
        return int(value or 0)

    def person_ids_of(self, conn: Connection, record_ids: Sequence[str]) -> list[str]:
        """The distinct person ids the given records name (sorted); unknown ids name nobody."""
        # Two steps, not one join: SQLite pushes a condition on the view's own column into
        # both arms of its UNION ALL, but not one reached through a join with ``records``; the
        # join materialised every subject of the store (29 ms a search on the demo corpus,
        # a quarter of a search's time, against 0.3 ms).
        pks = [r[0] for r in _select_in(conn, "SELECT pk FROM records WHERE id IN", record_ids)]
        rows = _select_in(
            conn, "SELECT DISTINCT person_id FROM effective_subjects WHERE record_pk IN", pks
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
        if not self.postgresql:
            conn.exec_driver_sql("INSERT INTO chunks_fts (chunks_fts) VALUES ('optimize')")
        return texts

    def compact(self) -> None:
        """Checkpoint the WAL (truncating it), VACUUM, and truncate again: pages freed by
        deletions leave the files.

        Raises ``RetrievalError`` when another connection's open transaction keeps the WAL
        from being emptied (the deleted pages may then still be in it: run it again).
        On PostgreSQL, ``VACUUM`` of the tables that held the text: dead rows' space is made
        reusable (the database's files, WAL and backups are the operator's to manage).
        """
        if self.postgresql:
            with self.engine.connect() as conn:
                autocommit = conn.execution_options(isolation_level="AUTOCOMMIT")
                for table in ("records", "chunks", "chunk_tokens", "subjects", "case_people"):
                    autocommit.exec_driver_sql(f"VACUUM {table}")
            return
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

    def media_in_use(self) -> set[str]:
        """SHA-256 of every recording a stored record was transcribed from
        (``extra["media"]["sha256"]``): the kept copies that must not be deleted."""
        with self.engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT extra FROM records WHERE extra LIKE ?", ('%"machine_transcript"%',)
            )
            found: set[str] = set()
            for (raw,) in rows:
                media = json.loads(raw or "{}").get("media")
                if isinstance(media, dict) and isinstance(media.get("sha256"), str):
                    found.add(media["sha256"])
        return found

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

    def lexical_chunks(self) -> int:
        """How many chunks the lexical index holds terms for (equal to ``counts()["chunks"]``
        unless the store is damaged)."""
        sql = (
            "SELECT count(DISTINCT chunk_pk) FROM chunk_tokens"
            if self.postgresql
            else "SELECT count(*) FROM chunks_fts"
        )
        with self.engine.connect() as conn:
            return int(conn.exec_driver_sql(sql).scalar_one())

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
            for pk, principal, effect in fetch_rows(
                conn,
                "SELECT record_pk, principal, effect FROM principals"
                f" WHERE record_pk IN ({marks}) ORDER BY principal",
                pks,
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
                attachments=_json_tuple(r[10]),
                extra=json.loads(r[11]) if r[11] and r[11] != "{}" else {},
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
                    other_names=_json_tuple(others),
                    dob=dt.date.fromisoformat(dob) if dob else None,
                )
            )
        return out

    def types_and_dates(
        self, conn: Connection, pks: Iterable[int]
    ) -> dict[int, tuple[str | None, str | None]]:
        """record pk → (doc type, created at as stored) for ranking rules."""
        rows = _select_in(conn, "SELECT pk, doc_type, created_at FROM records WHERE pk IN", pks)
        return {int(pk): (doc_type, created_at) for pk, doc_type, created_at in rows}

    def cases_by_pk(self, conn: Connection, pks: Iterable[int]) -> dict[int, str | None]:
        """record pk → its case id (None for a record filed under no case)."""
        rows = _select_in(conn, "SELECT pk, case_id FROM records WHERE pk IN", pks)
        return {int(pk): (None if case_id is None else str(case_id)) for pk, case_id in rows}

    def titles_and_texts(self, conn: Connection, pks: Iterable[int]) -> dict[int, tuple[str, str]]:
        """record pk → (title, text)."""
        rows = _select_in(conn, "SELECT pk, title, text FROM records WHERE pk IN", pks)
        return {int(pk): (str(title or ""), str(text)) for pk, title, text in rows}

    def record_index(self, conn: Connection) -> list[tuple[str, int, int, str]]:
        """(id, pk, generation, content hash) of every record, in pk order: what a rebuild,
        a copy or a check of the whole store walks."""
        rows = conn.exec_driver_sql(
            "SELECT id, pk, generation, content_hash FROM records ORDER BY pk"
        ).all()
        return [(str(i), int(pk), int(g), str(h)) for i, pk, g, h in rows]

    def chunk_pks_by_record(self, conn: Connection) -> dict[int, list[int]]:
        """record pk → its chunks' pks, ascending (records without chunks are absent)."""
        out: dict[int, list[int]] = {}
        for record_pk, pk in conn.exec_driver_sql(
            "SELECT record_pk, pk FROM chunks ORDER BY record_pk, pk"
        ):
            out.setdefault(int(record_pk), []).append(int(pk))
        return out

    def doc_types(self) -> frozenset[str]:
        """Every ``doc_type`` some stored record has (one scan of the records table)."""
        with self.engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT DISTINCT doc_type FROM records WHERE doc_type IS NOT NULL"
            ).all()
        return frozenset(str(row[0]) for row in rows)

    def access_rows(
        self, conn: Connection, record_id: str
    ) -> tuple[str | None, list[str], list[str]] | None:
        """A record's case id, allow and deny principals in one indexed read (None when there
        is no such record): the look-up that costs the same for a missing record and for a
        forbidden one."""
        rows = conn.exec_driver_sql(
            "SELECT r.case_id, p.principal, p.effect FROM records r"
            " LEFT JOIN principals p ON p.record_pk = r.pk WHERE r.id = ?",
            (record_id,),
        ).all()
        if not rows:
            return None
        acl = [str(r[1]) for r in rows if r[2] == "allow"]
        deny = [str(r[1]) for r in rows if r[2] == "deny"]
        return (None if rows[0][0] is None else str(rows[0][0])), acl, deny

    def timeline_rows(
        self, conn: Connection, candidates: str, params: Sequence[Any], limit: int
    ) -> list[tuple[Any, ...]]:
        """(id, case id, doc type, title, created at, source uri) of the records whose pk
        ``candidates`` (SQL from ``retrieval.access``) selects, newest first, ties by id."""
        rows = conn.exec_driver_sql(
            "SELECT id, case_id, doc_type, title, created_at, source_uri FROM records"
            f" WHERE pk IN ({candidates})"
            " ORDER BY created_at IS NULL, created_at DESC, id LIMIT ?",
            (*params, limit),
        ).all()
        return [tuple(r) for r in rows]

    def case_ids_of(
        self, conn: Connection, candidates: str, params: Sequence[Any], limit: int
    ) -> list[str]:
        """The distinct case ids (sorted) of the records ``candidates`` selects."""
        rows = conn.exec_driver_sql(
            "SELECT DISTINCT case_id FROM records"
            f" WHERE pk IN ({candidates}) AND case_id IS NOT NULL ORDER BY case_id LIMIT ?",
            (*params, limit),
        ).all()
        return [str(r[0]) for r in rows]

    def selected_pks(self, conn: Connection, candidates: str, params: Sequence[Any]) -> list[int]:
        """The record pks ``candidates`` selects."""
        return [int(r[0]) for r in conn.exec_driver_sql(candidates, tuple(params)).all()]

    def chunk_spans_of(
        self, conn: Connection, candidates: str, params: Sequence[Any]
    ) -> dict[int, list[tuple[int, int, int]]]:
        """record pk → (ordinal, char start, char end) of its chunks in order, for the records
        ``candidates`` selects."""
        rows = conn.exec_driver_sql(
            "SELECT record_pk, ordinal, char_start, char_end FROM chunks"
            f" WHERE record_pk IN ({candidates}) ORDER BY record_pk, ordinal",
            tuple(params),
        ).all()
        out: dict[int, list[tuple[int, int, int]]] = {}
        for row in rows:
            out.setdefault(int(row[0]), []).append((int(row[1]), int(row[2]), int(row[3])))
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

    def chunk_vectors(self, conn: Connection, chunk_pks: Iterable[int]) -> dict[int, bytes]:
        """chunk pk → its stored vector (float32 bytes), for the chunks that still exist."""
        rows = _select_in(conn, "SELECT pk, vector FROM chunks WHERE pk IN", chunk_pks)
        return {int(pk): bytes(vector) for pk, vector in rows}

    def chunk_rows(self, conn: Connection, record_pks: Iterable[int]) -> dict[int, list[ChunkRow]]:
        """record pk → its chunks as stored (ordinal order), terms and vectors included: what
        ``insert_documents`` takes, to copy records without analysing or embedding again."""
        return {
            record_pk: [chunk for _, chunk in chunks]
            for record_pk, chunks in self.chunks_with_pks(conn, record_pks).items()
        }

    # -- the outbox a second index follows (retrieval.qdrant_index) ---------------------------

    def changed_records(self, conn: Connection, since: int) -> list[tuple[int, bool]]:
        """Records whose generation is newer than ``since``, in pk order, each with whether
        its chunks are newer too (rewritten) or not (a permission or people change)."""
        rows = conn.exec_driver_sql(
            "SELECT r.pk, EXISTS (SELECT 1 FROM chunks c WHERE c.record_pk = r.pk"
            " AND c.generation > ?) FROM records r WHERE r.generation > ? ORDER BY r.pk",
            (since, since),
        )
        return [(int(pk), bool(rewritten)) for pk, rewritten in rows]

    def removed_chunks_since(self, conn: Connection, since: int) -> list[int]:
        """Pks of the chunks removed (record rewritten or deleted) after generation ``since``."""
        rows = conn.exec_driver_sql(
            "SELECT chunk_pk FROM removed_chunks WHERE generation > ? ORDER BY chunk_pk", (since,)
        )
        return [int(r[0]) for r in rows]

    def indexed_records(self, conn: Connection, pks: Iterable[int]) -> dict[int, IndexedRecord]:
        """What a second index keeps of each record (no text): id, case, type, day and
        permissions; pks no longer stored are absent."""
        rows = _select_in(
            conn, "SELECT pk, id, case_id, doc_type, created_at FROM records WHERE pk IN", pks
        )
        allow: dict[int, list[str]] = {}
        deny: dict[int, list[str]] = {}
        for pk, principal, effect in _select_in(
            conn, "SELECT record_pk, principal, effect FROM principals WHERE record_pk IN", pks
        ):
            (allow if effect == "allow" else deny).setdefault(int(pk), []).append(str(principal))
        return {
            int(pk): IndexedRecord(
                pk=int(pk),
                id=str(rid),
                case_id=case_id,
                doc_type=doc_type,
                created=dt.date.fromisoformat(created[:10]) if created else None,
                allow=tuple(sorted(allow.get(int(pk), ()))),
                deny=tuple(sorted(deny.get(int(pk), ()))),
            )
            for pk, rid, case_id, doc_type, created in rows
        }

    def chunks_with_pks(
        self, conn: Connection, record_pks: Iterable[int]
    ) -> dict[int, list[tuple[int, ChunkRow]]]:
        """record pk → ``(chunk pk, chunk)`` of each of its chunks, ordinal order (terms and
        vectors as stored, as ``chunk_rows`` gives them)."""
        terms = (
            "c.terms FROM chunks c"
            if self.postgresql
            else ("f.terms FROM chunks c JOIN chunks_fts f ON f.rowid = c.pk")
        )
        rows = _select_in(
            conn,
            f"SELECT c.record_pk, c.ordinal, c.pk, c.char_start, c.char_end, c.vector, {terms}"
            " WHERE c.record_pk IN",
            record_pks,
        )
        out: dict[int, list[tuple[int, ChunkRow]]] = {}
        for record_pk, ordinal, pk, start, end, vector, text in sorted(rows, key=lambda r: r[:2]):
            out.setdefault(int(record_pk), []).append(
                (int(pk), ChunkRow(int(ordinal), int(start), int(end), str(text), bytes(vector)))
            )
        return out

    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """Hold the store-wide lock ``name`` for the block, waiting for it: one holder at a
        time across every process on this store (a PostgreSQL session advisory lock; a lock
        file beside the SQLite file). Writes are not blocked by it."""
        if self.postgresql:
            key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big")
            key -= 1 << 63  # a signed bigint
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT pg_advisory_lock(?)", (key,))
                conn.commit()
                try:
                    yield
                finally:
                    conn.exec_driver_sql("SELECT pg_advisory_unlock(?)", (key,))
                    conn.commit()
            return
        import fcntl  # POSIX only, as the embedded store's deployments are

        if self.path is None:
            raise RetrievalError("the store has neither a file nor a PostgreSQL database")
        with open(self.path.with_name(f"{self.path.name}.{name}.lock"), "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass(frozen=True, slots=True)
class IndexedRecord:
    """A record as a second index keeps it beside each chunk: no text, only what a search
    filters on."""

    pk: int
    id: str
    case_id: str | None
    doc_type: str | None
    created: dt.date | None
    allow: tuple[str, ...]
    deny: tuple[str, ...]


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


def _many(conn: Connection, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """``sql`` once per row of ``rows`` in one call (SQLite's own ``executemany`` without
    SQLAlchemy's per-row cost; psycopg's pipelined one on PostgreSQL)."""
    if not rows:
        return
    if is_postgresql(conn):
        conn.exec_driver_sql(sql, list(rows))
    else:
        sqlite_connection(conn).executemany(sql, rows)


def _tokens_of(terms: str) -> list[str]:
    """The FTS5 tokens of a chunk's stored terms, in order (a token's place in this list is
    its offset, as in FTS5's ``instance`` vocabulary)."""
    from retrieval.lexical import fts5_tokens  # lexical reads the store: imported late

    return [token for word in terms.split() for token in fts5_tokens(word)]


def _json_tuple(value: str | None) -> tuple[Any, ...]:
    """A stored JSON list as a tuple (most are empty: no decoding for those)."""
    return tuple(json.loads(value)) if value and value != "[]" else ()


_SUBJECT_ROWS = (
    "SELECT s.record_pk, r.case_id, s.person_id, s.name, s.other_names, s.dob"
    " FROM effective_subjects s JOIN records r ON r.pk = s.record_pk WHERE s.role = ?"
)
"""The columns of a ``SubjectRow``, for the people of one role (``_subject_row`` reads them)."""


def _subject_row(
    pk: Any, case_id: Any, person_id: Any, name: Any, others: Any, dob: Any
) -> SubjectRow:
    return SubjectRow(
        int(pk),
        case_id,
        str(person_id),
        str(name),
        _json_tuple(others),
        dt.date.fromisoformat(dob) if dob else None,
    )


def _select_in(
    conn: Connection, sql: str, keys: Iterable[Any], params: Sequence[Any] = ()
) -> list[tuple[Any, ...]]:
    """Rows of ``sql + " (?, …)"`` for the distinct ``keys``, queried 500 at a time;
    ``params`` fill the placeholders ``sql`` itself holds, before the keys'."""
    wanted = list(dict.fromkeys(keys))
    rows: list[tuple[Any, ...]] = []
    for start in range(0, len(wanted), 500):
        batch = wanted[start : start + 500]
        sql_in = f"{sql} ({','.join('?' * len(batch))})"
        rows.extend(fetch_rows(conn, sql_in, (*params, *batch)))
    return rows


_DOC_COLUMNS = (
    "pk, id, case_id, doc_type, title, text, created_at, updated_at, author, source_uri,"
    " attachments, extra"
)
