"""Exact dense search over an in-memory float32 matrix that follows the store.

Exact (not approximate) on purpose: approximate indexes measured here recalled only 0.88–0.91
of the exact top 10, and a missed safeguarding note is a harm (DESIGN.md).

With a ``remote`` vector index (Qdrant, ``CASESEARCH_QDRANT_URL``) the matrix holds no vectors:
only each live chunk's record and length (BM25's population needs them), so a process's memory
does not grow with the vectors. Dense searches then ask the remote index, and every chunk it
returns is re-checked against the store as this index last synced it and the caller's mask
from the same snapshot: a chunk the store no longer holds, or whose record the mask does not
allow (the remote still holding an older permission), is logged by record pk and dropped.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection

from retrieval import pksets
from retrieval.errors import RetrievalError
from retrieval.lexical import BoolArray, Population, decode_varint, within
from retrieval.qdrant_queries import Scope
from retrieval.store import RecordStore, is_postgresql

__all__ = ["BoolArray", "DenseIndex", "RemoteVectors"]

logger = logging.getLogger(__name__)


class RemoteVectors(Protocol):
    """A vector index outside the process (``retrieval.qdrant_index.QdrantIndex``)."""

    def nearest(
        self,
        vector: npt.NDArray[np.float32],
        *,
        limit: int,
        min_score: float | None = None,
        scope: Scope | None = None,
        record_pks: Sequence[int] | None = None,
    ) -> list[tuple[int, int, float]]:
        """Best ``limit`` chunks as ``(chunk pk, record pk, cosine)``, best first."""
        ...


POPULATIONS_KEPT = 8
"""BM25 populations kept per index (each is three arrays as long as the store's chunk pks)."""

FEW_RECORDS = 4_096
"""A set of at most this many records (one child's case) finds its rows through the rows
ordered by record (``DenseIndex._rows_of``) instead of a pass over every row."""
UNORDERED_TAIL = 0.05
UNORDERED_MIN = 1_024
"""Rows appended since the order by record was made are scanned; past ``UNORDERED_TAIL`` of
all rows and ``UNORDERED_MIN`` rows the order is made again."""


def _chunks(conn: Connection, vectors: bool = True) -> str:
    """Each chunk's pk, record, vector (NULL when not ``vectors``) and length in FTS5 tokens
    (on SQLite, FTS5's own count, a varint in its ``docsize`` table; on PostgreSQL, the
    ``length`` column)."""
    vector = "c.vector" if vectors else "NULL"
    if is_postgresql(conn):
        return f"SELECT c.pk, c.record_pk, {vector}, c.length FROM chunks c"
    return (
        f"SELECT c.pk, c.record_pk, {vector}, d.sz FROM chunks c"
        " LEFT JOIN chunks_fts_docsize d ON d.id = c.pk"
    )


class DenseIndex:
    """Vectors of every live chunk, with the record each belongs to and its length in FTS5
    tokens (for BM25's statistics over the records a caller may see, ``population``).

    ``sync`` replays the store's change log since the last generation seen: removed chunks are
    masked out, new chunks appended; the matrix is compacted when a third of it is dead.
    """

    def __init__(self, dimension: int, *, remote: RemoteVectors | None = None) -> None:
        self.dimension = dimension
        self.remote = remote
        self._vectors = np.zeros((0, dimension), dtype=np.float32)
        self._chunk_pks = np.zeros(0, dtype=np.int64)
        self._record_pks = np.zeros(0, dtype=np.int64)
        self._lengths = np.zeros(0, dtype=np.int64)
        self._live = np.zeros(0, dtype=np.bool_)
        self._row_of: dict[int, int] = {}
        self._size = 0
        # rows [0, _ordered) sorted by record pk (stable: ascending rows within a record)
        self._by_record = np.zeros(0, dtype=np.intp)
        self._record_order = np.zeros(0, dtype=np.int64)
        self._ordered = 0
        self._generation = -1
        self._lock = threading.Lock()
        self._populations: OrderedDict[tuple[int, int, bytes], Population] = OrderedDict()

    @property
    def vector_bytes(self) -> int:
        """Bytes the vectors take in this process (0 with a remote index)."""
        return int(self._vectors.nbytes)

    @property
    def size(self) -> int:
        """Number of live chunks."""
        return len(self._row_of)

    def sync(self, store: RecordStore, conn: Connection) -> None:
        """Bring the matrix to the generation visible in ``conn``'s snapshot."""
        generation = store.generation(conn)
        with self._lock:
            if generation == self._generation:
                return
            if self._generation < 0:
                self._load_all(conn)
            else:
                self._apply_changes(conn, self._generation)
            self._generation = generation
            if self._size and self.size < 0.67 * self._size:
                self._compact()

    def _load_all(self, conn: Connection) -> None:
        # rows are streamed into arrays sized up front: holding every row's blob at once
        # would double the matrix's memory while loading (1.5 GB more at a million chunks)
        n = int(conn.exec_driver_sql("SELECT count(*) FROM chunks").scalar_one())
        rows = 0 if self.remote is not None else max(n, 16)
        self._vectors = np.zeros((rows, self.dimension), dtype=np.float32)
        self._chunk_pks = np.zeros(max(n, 16), dtype=np.int64)
        self._record_pks = np.zeros(max(n, 16), dtype=np.int64)
        self._lengths = np.zeros(max(n, 16), dtype=np.int64)
        self._live = np.zeros(max(n, 16), dtype=np.bool_)
        self._row_of = {}
        self._size = 0
        self._forget_order()
        sql = f"{_chunks(conn, self.remote is None)} ORDER BY c.pk"
        for pk, record_pk, blob, size in conn.exec_driver_sql(sql):
            self._append(int(pk), int(record_pk), blob, size)

    def _apply_changes(self, conn: Connection, since: int) -> None:
        for (pk,) in conn.exec_driver_sql(
            "SELECT chunk_pk FROM removed_chunks WHERE generation > ?", (since,)
        ):
            row = self._row_of.pop(int(pk), None)
            if row is not None:
                self._live[row] = False
        added = conn.exec_driver_sql(
            f"{_chunks(conn, self.remote is None)} WHERE c.generation > ? ORDER BY c.pk", (since,)
        ).all()
        for pk, record_pk, blob, size in added:
            if int(pk) in self._row_of:
                continue
            self._append(int(pk), int(record_pk), blob, size)

    def _append(
        self,
        chunk_pk: int,
        record_pk: int,
        blob: bytes | None,
        size: bytes | int | None,
    ) -> None:
        if self._size == len(self._chunk_pks):
            capacity = max(16, 2 * len(self._chunk_pks))
            if self.remote is None:
                self._vectors = np.resize(self._vectors, (capacity, self.dimension))
            self._chunk_pks = np.resize(self._chunk_pks, capacity)
            self._record_pks = np.resize(self._record_pks, capacity)
            self._lengths = np.resize(self._lengths, capacity)
            live = np.zeros(capacity, dtype=np.bool_)
            live[: self._size] = self._live[: self._size]
            self._live = live
        row = self._size
        if self.remote is None and blob is not None:
            self._vectors[row] = np.frombuffer(blob, dtype=np.float32)
        self._chunk_pks[row] = chunk_pk
        self._record_pks[row] = record_pk
        if isinstance(size, int):
            self._lengths[row] = size
        else:
            self._lengths[row] = decode_varint(bytes(size)) if size else 0
        self._live[row] = True
        self._row_of[chunk_pk] = row
        self._size += 1

    def _compact(self) -> None:
        keep = np.flatnonzero(self._live[: self._size])
        if self.remote is None:
            self._vectors = np.ascontiguousarray(self._vectors[keep])
        self._chunk_pks = self._chunk_pks[keep]
        self._record_pks = self._record_pks[keep]
        self._lengths = self._lengths[keep]
        self._live = np.ones(len(keep), dtype=np.bool_)
        self._row_of = {int(pk): i for i, pk in enumerate(self._chunk_pks)}
        self._size = len(keep)
        self._forget_order()

    def _forget_order(self) -> None:
        """Rows were renumbered: the order by record says nothing of them any more."""
        self._by_record = np.zeros(0, dtype=np.intp)
        self._record_order = np.zeros(0, dtype=np.int64)
        self._ordered = 0

    def population(self, visible_records: BoolArray) -> Population:
        """The live chunks of the records ``visible_records[record_pk]`` marks, for BM25.

        The last few populations are kept, each under the matrix's generation and a digest of
        the mask's contents: the searches of one user (a burst as she types) or of one team
        build it once per change of the store, not once per search.
        """
        marked = np.flatnonzero(visible_records)
        digest = hashlib.blake2b(marked.tobytes(), digest_size=16).digest()
        with self._lock:
            key = (self._generation, self._size, digest)
            kept = self._populations.get(key)
            if kept is not None:
                self._populations.move_to_end(key)
                return kept
            rows = self._visible_rows(visible_records)
            chunk_pks = self._chunk_pks[rows]
            record_pks = self._record_pks[rows]
            lengths = self._lengths[rows]
            total = int(lengths.sum())
            complete = rows.size == self.size
        size = int(chunk_pks.max()) + 1 if chunk_pks.size else 0
        visible = np.zeros(size, dtype=np.bool_)
        visible[chunk_pks] = True
        record_of = np.full(size, -1, dtype=np.int64)
        record_of[chunk_pks] = record_pks
        length_of = np.zeros(size, dtype=np.int64)
        length_of[chunk_pks] = lengths
        for array in (visible, record_of, length_of):
            array.setflags(write=False)
        population = Population(
            visible=visible,
            record_of=record_of,
            length_of=length_of,
            chunks=int(rows.size),
            terms=total,
            complete=complete,
        )
        with self._lock:
            self._populations[key] = population
            while len(self._populations) > POPULATIONS_KEPT:
                self._populations.popitem(last=False)
        return population

    def _visible_rows(self, allowed_records: BoolArray) -> npt.NDArray[np.intp]:
        """The live rows (ascending) of the records ``allowed_records`` marks; called under
        the lock."""
        n = self._size
        if np.count_nonzero(allowed_records) <= FEW_RECORDS:
            return self._rows_of(allowed_records)
        return np.flatnonzero(self._live[:n] & within(allowed_records, self._record_pks[:n]))

    def _rows_of(self, allowed_records: BoolArray) -> npt.NDArray[np.intp]:
        """``_visible_rows`` for a few records: their rows looked up in the rows ordered by
        record (made again when too many rows were appended since), the rows appended since
        scanned. The same rows as a pass over every row, in the same order, so no score
        depends on which path ran."""
        n = self._size
        if self._ordered > n or n - self._ordered > max(UNORDERED_MIN, UNORDERED_TAIL * n):
            self._by_record = np.argsort(self._record_pks[:n], kind="stable")
            self._record_order = self._record_pks[:n][self._by_record]
            self._ordered = n
        records = np.flatnonzero(allowed_records)
        first = np.searchsorted(self._record_order, records, side="left")
        counts = np.searchsorted(self._record_order, records, side="right") - first
        # the runs [first, first + count) one after another
        starts = np.repeat(first - np.cumsum(counts) + counts, counts)
        ordered = self._by_record[starts + np.arange(int(counts.sum()))]
        tail = np.arange(self._ordered, n)
        tail = tail[within(allowed_records, self._record_pks[self._ordered : n])]
        rows = np.concatenate([ordered, tail])
        rows.sort()
        # each row checked against the mask itself, as the pass over every row does
        kept = self._live[rows] & within(allowed_records, self._record_pks[rows])
        live: npt.NDArray[np.intp] = rows[kept]
        return live

    def search(
        self,
        query: npt.NDArray[np.float32],
        allowed_records: BoolArray,
        limit: int,
        *,
        scope: Scope | None = None,
    ) -> list[tuple[int, int, float]]:
        """Top ``limit`` live chunks of allowed records as ``(chunk_pk, record_pk, cosine)``.

        ``allowed_records[record_pk]`` says whether a record may be returned; records beyond
        the array's end are not allowed. Ties are broken by chunk pk. ``scope`` goes inside a
        remote index's query, as in ``search_above``.
        """
        if limit <= 0:
            return []
        if self.remote is not None:
            return self.search_above(query, allowed_records, limit, -math.inf, scope=scope)[0]
        scores, chunk_pks, record_of = self._scored(query, allowed_records)
        return self._top(scores, chunk_pks, record_of, limit)

    def search_above(
        self,
        query: npt.NDArray[np.float32],
        allowed_records: BoolArray,
        limit: int,
        min_score: float,
        strong_score: float | None = None,
        *,
        scope: Scope | None = None,
    ) -> tuple[list[tuple[int, int, float]], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """``search`` keeping only chunks scoring at least ``min_score``; with the distinct
        record pks of *every* allowed chunk scoring at least ``min_score`` and at least
        ``strong_score`` (default: ``min_score``), not only of the top ``limit``.

        With a remote index, ``scope`` (the caller's principals and filters) goes inside its
        query; without one, the remote query names the allowed records themselves. Either
        way only chunks ``allowed_records`` allows are returned (module docstring)."""
        if self.remote is not None:
            return self._remote_above(
                query, allowed_records, limit, min_score, strong_score, scope, self.remote
            )
        scores, chunk_pks, record_of = self._scored(query, allowed_records)
        keep = scores >= min_score
        scores, chunk_pks, record_of = scores[keep], chunk_pks[keep], record_of[keep]
        above = pksets.distinct(record_of)
        strong = above
        if strong_score is not None and strong_score > min_score:
            strong = pksets.distinct(record_of[scores >= strong_score])
        top = self._top(scores, chunk_pks, record_of, limit) if limit > 0 else []
        return top, above, strong

    def _remote_above(
        self,
        query: npt.NDArray[np.float32],
        allowed_records: BoolArray,
        limit: int,
        min_score: float,
        strong_score: float | None,
        scope: Scope | None,
        remote: RemoteVectors,
    ) -> tuple[list[tuple[int, int, float]], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """``search_above`` through the remote index. With a finite ``min_score`` every
        chunk above it is asked for (at most the allowed chunks), as the matrix scores every
        one; without, the top ``limit``, and every allowed record counts as above."""
        with self._lock:
            rows = self._visible_rows(allowed_records)
            every = np.unique(self._record_pks[rows]).astype(np.int64)

        def ask(count: int, threshold: float | None) -> list[tuple[int, int, float]]:
            if count <= 0:
                return []
            found = remote.nearest(
                query,
                limit=count,
                min_score=threshold,
                scope=scope,
                record_pks=None if scope is not None else every.tolist(),
            )
            kept = self._recheck(found, allowed_records)
            kept = [f for f in kept if threshold is None or f[2] >= threshold]
            return sorted(kept, key=lambda f: (-f[2], f[0]))

        def records(found: list[tuple[int, int, float]]) -> npt.NDArray[np.int64]:
            return np.unique(np.asarray([r for _, r, _ in found], dtype=np.int64))

        if math.isfinite(min_score):
            kept = ask(int(rows.size), min_score)
            above = records(kept)
        else:
            kept = ask(min(max(limit, 0), int(rows.size)), None)
            above = every
        strong = above
        if strong_score is not None and strong_score > min_score:
            strong = records([f for f in kept if f[2] >= strong_score])
            if not math.isfinite(min_score):
                strong = records(ask(int(rows.size), strong_score))
        return kept[: max(limit, 0)], above, strong

    def _recheck(
        self, found: Sequence[tuple[int, int, float]], allowed_records: BoolArray
    ) -> list[tuple[int, int, float]]:
        """The chunks of ``found`` that are live here and whose record (as the store has it)
        ``allowed_records`` allows; each other one is logged by record pk and dropped."""
        kept: list[tuple[int, int, float]] = []
        with self._lock:
            for chunk_pk, record_pk, score in found:
                row = self._row_of.get(chunk_pk)
                stored = int(self._record_pks[row]) if row is not None else None
                if stored is None:
                    logger.info("dropped a dense hit of record pk %d: chunk not stored", record_pk)
                    continue
                if stored >= len(allowed_records) or not allowed_records[stored]:
                    logger.warning(
                        "dropped a dense hit of record pk %d: the record store does not allow"
                        " it to this caller (the vector index is behind)",
                        stored,
                    )
                    continue
                kept.append((chunk_pk, stored, score))
        return kept

    def _scored(
        self, query: npt.NDArray[np.float32], allowed_records: BoolArray
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Cosine, chunk pk and record pk of every live chunk of an allowed record."""
        if self.remote is not None:
            raise RetrievalError("this dense index holds no vectors: its remote index scores")
        with self._lock:
            rows = self._visible_rows(allowed_records)
            if rows.size and int(rows[-1]) - int(rows[0]) + 1 == rows.size:
                # one run of rows (everything, for a caller who sees it all): a view, not a
                # copy of the matrix; the product is the same to the last bit (same rows in
                # the same order, same alignment), so no score depends on which path ran
                block = self._vectors[int(rows[0]) : int(rows[-1]) + 1]
            else:
                block = self._vectors[rows]
            scores: npt.NDArray[np.float32] = block @ query
            return scores, self._chunk_pks[rows], self._record_pks[rows]

    @staticmethod
    def _top(
        scores: npt.NDArray[np.float32],
        chunk_pks: npt.NDArray[np.int64],
        record_of: npt.NDArray[np.int64],
        limit: int,
    ) -> list[tuple[int, int, float]]:
        if scores.size > limit:
            top = np.argpartition(-scores, limit - 1)[:limit]
        else:
            top = np.arange(scores.size)
        order = top[np.lexsort((chunk_pks[top], -scores[top]))]
        return [(int(chunk_pks[i]), int(record_of[i]), float(scores[i])) for i in order]
