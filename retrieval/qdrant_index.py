"""The scale-out index: a store's chunks in a Qdrant collection, searched through qdrant-client.

One point per chunk, with a named dense vector (``dense``, cosine) and a named sparse BM25
vector (``bm25``, Qdrant's IDF modifier), and a payload holding what a search filters on:
record id, case id, document type, the record's day (``day``: days since 1 January 1 AD, so
date ranges are integer ranges) and its allow and deny principals. Payload indexes are made for
each (a server uses them; qdrant-client's local mode ignores them).

Point ids are deterministic (UUID 5 of the record id and chunk ordinal), so replaying a change
overwrites the same points. Writes wait for Qdrant's acknowledgement (``wait=True``) before
``sync`` moves its checkpoint. A permission change is a payload update, never a re-embedding.

Two properties of ours that Qdrant does not give by itself, and how they are kept:

- **Statistics over the caller's records only.** Qdrant's IDF modifier counts over the whole
  collection unless the query names a corpus; every lexical query here names the caller's
  visible set (``SearchParams(idf=IdfCorpusParams(corpus=scope))``), so a record she may not
  see changes no IDF (the side channel closed on SQLite, README "Security model").
- **Document-length normalisation no hidden record can move.** BM25's ``b`` term divides a
  chunk's length by the mean length over the corpus; a mean over all chunks would let hidden
  ones move it. The sparse weights use a fixed reference length instead
  (``REFERENCE_LENGTH``, the chunker's target size in words), so each weight depends on its
  own chunk alone.

Fusion is reciprocal rank fusion with k = 60 (Cormack et al., SIGIR 2009; Qdrant's own RRF
defaults to 2) over the two candidate lists, which come in one batch request through the Query
API, each filtered by the caller's scope inside the query, and are fused here so that equal
scores are ordered by record id, not by the engine's internal order. ``QdrantIndex``
answers the candidate stage only: ranking rules, snippets and the re-check of permissions
against the record store stay with the caller.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from qdrant_client import QdrantClient, models

from retrieval.lexical import K1, B
from retrieval.store import SqliteStore

DENSE = "dense"
SPARSE = "bm25"
RRF_K = 60
REFERENCE_LENGTH = 60.0
"""The chunk length (terms) BM25's length normalisation divides by, fixed (see above)."""
_NAMESPACE = uuid.UUID("6f1c1f1e-6c2b-4f7e-9a55-0c9a3c1d2e70")
_PAYLOAD_INDEXES: Mapping[str, models.PayloadSchemaType] = {
    "record_id": models.PayloadSchemaType.KEYWORD,
    "case_id": models.PayloadSchemaType.KEYWORD,
    "doc_type": models.PayloadSchemaType.KEYWORD,
    "allow": models.PayloadSchemaType.KEYWORD,
    "deny": models.PayloadSchemaType.KEYWORD,
    "day": models.PayloadSchemaType.INTEGER,
}


@dataclass(frozen=True, slots=True)
class IndexedChunk:
    """One chunk as the index holds it: where it comes from, what it says, who may see it."""

    record_id: str
    ordinal: int
    case_id: str | None
    doc_type: str | None
    created: dt.date | None
    allow: tuple[str, ...]
    deny: tuple[str, ...]
    terms: str  # the analysed terms, space-separated (``retrieval.analysis``)
    vector: np.ndarray  # float32, unit length


@dataclass(frozen=True, slots=True)
class Scope:
    """Who asks and what they filter on: the caller's principals (``user:<sub>`` included)
    and the search's filters."""

    principals: frozenset[str]
    case_ids: tuple[str, ...] = ()
    doc_types: tuple[str, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Candidate:
    record_id: str
    ordinal: int
    score: float


def point_id(record_id: str, ordinal: int) -> str:
    """The chunk's point id: the same for the same record and ordinal on every replay."""
    return str(uuid.uuid5(_NAMESPACE, f"{record_id}\x00{ordinal}"))


def term_index(term: str) -> int:
    """The sparse dimension of ``term``: 32 bits of its BLAKE2b hash (stable across runs and
    machines, unlike ``hash``)."""
    return int.from_bytes(hashlib.blake2b(term.encode("utf-8"), digest_size=4).digest(), "big")


def bm25_sparse(terms: str) -> models.SparseVector:
    """The chunk's BM25 term weights without IDF (Qdrant multiplies it in at query time):
    ``tf·(k1+1) / (tf + k1·(1 − b + b·len/REFERENCE_LENGTH))`` with FTS5's k1 and b. Two
    terms hashing to one dimension add up (about one pair in a hundred thousand terms)."""
    words = terms.split()
    counts: dict[int, int] = {}
    for word in words:
        key = term_index(word)
        counts[key] = counts.get(key, 0) + 1
    norm = K1 * (1 - B + B * len(words) / REFERENCE_LENGTH)
    ordered = sorted(counts.items())
    return models.SparseVector(
        indices=[k for k, _ in ordered],
        values=[tf * (K1 + 1) / (tf + norm) for _, tf in ordered],
    )


def query_sparse(terms: Iterable[str]) -> models.SparseVector:
    """A query's terms, each once with weight 1 (the chunk side carries tf and length)."""
    keys = sorted({term_index(t) for t in terms})
    return models.SparseVector(indices=keys, values=[1.0] * len(keys))


def client_for(url: str, api_key: str | None = None) -> QdrantClient:
    """``local:PATH`` for qdrant-client's local mode on disk (``local::memory:`` in memory),
    else a server's URL."""
    if url.startswith("local:"):
        path = url.removeprefix("local:")
        return QdrantClient(location=":memory:") if path == ":memory:" else QdrantClient(path=path)
    return QdrantClient(url=url, api_key=api_key)


class QdrantIndex:
    """The chunks of one store in collection ``name``. Not thread-safe for writes (one writer,
    the indexer); searches may run concurrently."""

    def __init__(self, client: QdrantClient, name: str, dimension: int) -> None:
        self.client = client
        self.name = name
        self.dimension = dimension

    def ensure_collection(self) -> None:
        """Create the collection and its payload indexes if missing (idempotent)."""
        if not self.client.collection_exists(self.name):
            self.client.create_collection(
                self.name,
                vectors_config={
                    DENSE: models.VectorParams(size=self.dimension, distance=models.Distance.COSINE)
                },
                sparse_vectors_config={
                    SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)
                },
            )
            with warnings.catch_warnings():
                # local mode says it ignores payload indexes; a server uses them
                warnings.filterwarnings("ignore", "Payload indexes have no effect", UserWarning)
                for field, schema in _PAYLOAD_INDEXES.items():
                    self.client.create_payload_index(self.name, field, schema, wait=True)

    # -- writes -------------------------------------------------------------------------------

    def upsert(self, chunks: Sequence[IndexedChunk]) -> None:
        """Write ``chunks`` (replacing points of the same record and ordinal); returns once
        Qdrant has acknowledged them."""
        if not chunks:
            return
        points = [
            models.PointStruct(
                id=point_id(c.record_id, c.ordinal),
                vector={DENSE: c.vector.astype(np.float32).tolist(), SPARSE: bm25_sparse(c.terms)},
                payload=_payload(c),
            )
            for c in chunks
        ]
        self.client.upsert(self.name, points=points, wait=True)

    def replace_record(self, record_id: str, chunks: Sequence[IndexedChunk]) -> None:
        """The record's points become exactly ``chunks`` (fewer chunks than before: the rest
        go). Acknowledged before it returns."""
        self.upsert(chunks)
        keep = [point_id(record_id, c.ordinal) for c in chunks]
        self.client.delete(
            self.name,
            points_selector=models.FilterSelector(
                filter=models.Filter(
                    must=[_match("record_id", record_id)],
                    must_not=[models.HasIdCondition(has_id=keep)] if keep else None,
                )
            ),
            wait=True,
        )

    def set_permissions(self, record_id: str, allow: Sequence[str], deny: Sequence[str]) -> None:
        """A permission change: the record's points get the new principals, nothing else."""
        self.client.set_payload(
            self.name,
            payload={"allow": sorted(set(allow)), "deny": sorted(set(deny))},
            points=models.Filter(must=[_match("record_id", record_id)]),
            wait=True,
        )

    def delete_records(self, record_ids: Iterable[str]) -> None:
        ids = sorted(set(record_ids))
        if ids:
            self.client.delete(
                self.name,
                points_selector=models.FilterSelector(
                    filter=models.Filter(
                        must=[
                            models.FieldCondition(key="record_id", match=models.MatchAny(any=ids))
                        ]
                    )
                ),
                wait=True,
            )

    # -- search -------------------------------------------------------------------------------

    def hybrid(
        self, terms: Sequence[str], vector: np.ndarray, scope: Scope, *, limit: int
    ) -> list[Candidate]:
        """The caller's best ``limit`` chunks by RRF (k = 60) of BM25 and cosine, each list
        ``limit`` long and filtered by ``scope`` inside the query. Both lists come in one
        batch request; they are fused here, after ordering equal scores by record id and
        ordinal, because the engine's order among equal scores is its internal one, which
        other points (hidden ones included) could move."""
        allowed = scope_filter(scope)
        if allowed is None:
            return []
        requests = [_dense_request(vector, allowed, limit)]
        if terms:
            requests.append(_sparse_request(terms, allowed, limit))
        answers = self.client.query_batch_points(self.name, requests=requests)
        fused: dict[tuple[str, int], float] = {}
        for answer in answers:
            for rank, c in enumerate(_candidates(answer.points), start=1):
                key = (c.record_id, c.ordinal)
                fused[key] = fused.get(key, 0.0) + 1.0 / (RRF_K + rank)
        ranked = sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:limit]
        return [Candidate(rid, ordinal, score) for (rid, ordinal), score in ranked]

    def lexical(self, terms: Sequence[str], scope: Scope, *, limit: int) -> list[Candidate]:
        """BM25 alone, IDF over the caller's visible chunks."""
        allowed = scope_filter(scope)
        if allowed is None or not terms:
            return []
        (answer,) = self.client.query_batch_points(
            self.name, requests=[_sparse_request(terms, allowed, limit)]
        )
        return _candidates(answer.points)

    def dense(self, vector: np.ndarray, scope: Scope, *, limit: int) -> list[Candidate]:
        """Cosine alone over the caller's visible chunks."""
        allowed = scope_filter(scope)
        if allowed is None:
            return []
        (answer,) = self.client.query_batch_points(
            self.name, requests=[_dense_request(vector, allowed, limit)]
        )
        return _candidates(answer.points)

    def count(self) -> int:
        return int(self.client.count(self.name, exact=True).count)


def scope_filter(scope: Scope) -> models.Filter | None:
    """The records ``scope`` may see and asks for, as a Qdrant filter: some principal in
    ``allow``, none in ``deny`` (DESIGN.md), and the filters. None when nothing can match (no
    principals)."""
    if not scope.principals:
        return None
    held = sorted(scope.principals)
    must: list[models.Condition] = [
        models.FieldCondition(key="allow", match=models.MatchAny(any=held))
    ]
    if scope.case_ids:
        must.append(
            models.FieldCondition(key="case_id", match=models.MatchAny(any=list(scope.case_ids)))
        )
    if scope.doc_types:
        must.append(
            models.FieldCondition(key="doc_type", match=models.MatchAny(any=list(scope.doc_types)))
        )
    if scope.date_from or scope.date_to:
        must.append(
            models.FieldCondition(
                key="day",
                range=models.Range(
                    gte=scope.date_from.toordinal() if scope.date_from else None,
                    lte=scope.date_to.toordinal() if scope.date_to else None,
                ),
            )
        )
    return models.Filter(
        must=must,
        must_not=[models.FieldCondition(key="deny", match=models.MatchAny(any=held))],
    )


def _dense_request(vector: np.ndarray, allowed: models.Filter, limit: int) -> models.QueryRequest:
    return models.QueryRequest(
        query=vector.astype(np.float32).tolist(),
        using=DENSE,
        filter=allowed,
        limit=limit,
        with_payload=["record_id", "ordinal"],
    )


def _sparse_request(
    terms: Sequence[str], allowed: models.Filter, limit: int
) -> models.QueryRequest:
    return models.QueryRequest(
        query=query_sparse(terms),
        using=SPARSE,
        filter=allowed,
        params=_idf_over(allowed),
        limit=limit,
        with_payload=["record_id", "ordinal"],
    )


def _idf_over(corpus: models.Filter) -> models.SearchParams:
    return models.SearchParams(idf=models.IdfCorpusParams(corpus=corpus))


def _match(key: str, value: str) -> models.FieldCondition:
    return models.FieldCondition(key=key, match=models.MatchValue(value=value))


def _payload(c: IndexedChunk) -> dict[str, object]:
    return {
        "record_id": c.record_id,
        "ordinal": c.ordinal,
        "case_id": c.case_id,
        "doc_type": c.doc_type,
        "day": c.created.toordinal() if c.created else None,
        "allow": sorted(set(c.allow)),
        "deny": sorted(set(c.deny)),
    }


def _candidates(points: Sequence[models.ScoredPoint]) -> list[Candidate]:
    """Best first; equal scores by record id and ordinal (not the engine's internal order)."""
    out = []
    for p in points:
        payload = p.payload or {}
        out.append(Candidate(str(payload["record_id"]), int(payload["ordinal"]), float(p.score)))
    return sorted(out, key=lambda c: (-c.score, c.record_id, c.ordinal))


def copy_store(store: SqliteStore, index: QdrantIndex, *, batch: int = 500) -> int:
    """Copy every chunk of ``store`` (its terms and vectors as stored, nothing re-embedded)
    into ``index``; returns the chunks written. For a first load and for measuring the two
    backends side by side; incremental changes go through ``replace_record`` and
    ``set_permissions``."""
    with store.snapshot() as conn:
        pks = store.record_pks(conn)
    written = 0
    for start in range(0, len(pks), batch):
        part = pks[start : start + batch]
        with store.snapshot() as conn:
            docs = store.documents_by_pk(conn, part)
            rows = store.chunk_rows(conn, part)
        chunks = [
            IndexedChunk(
                record_id=doc.id,
                ordinal=row.ordinal,
                case_id=doc.case_id,
                doc_type=doc.doc_type,
                created=doc.created_at,
                allow=tuple(doc.acl),
                deny=tuple(doc.deny),
                terms=row.terms,
                vector=np.frombuffer(row.vector, dtype=np.float32),
            )
            for pk, doc in docs.items()
            for row in rows.get(pk, [])
        ]
        index.upsert(chunks)
        written += len(chunks)
    return written
