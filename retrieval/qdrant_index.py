"""The scale-out index: a store's chunks in a Qdrant collection, searched through qdrant-client.

One point per chunk, with a named dense vector (``dense``, cosine) and a named sparse BM25
vector (``bm25``, Qdrant's IDF modifier), and a payload holding what a search filters on:
record id, case id, document type, the record's day (``day``: days since 1 January 1 AD, so
date ranges are integer ranges) and its allow and deny principals. Payload indexes are made for
each (a server uses them; qdrant-client's local mode ignores them).

Point ids are deterministic (UUID 5 of the record id and chunk ordinal), so replaying a change
overwrites the same points. Writes wait for Qdrant's acknowledgement (``wait=True``) before
``sync`` moves its checkpoint. A permission change is a payload update, never a re-embedding.

**The outbox is the store's generation log** (``QdrantIndex.sync``). Every write transaction of
the record store bumps its ``generation`` and stamps what it wrote: chunks it wrote carry it,
chunks it removed are logged in ``removed_chunks`` with it, records whose permissions (or
people) it changed carry it. Qdrant's acknowledged generation is kept in the store's ``meta``
(``ACKNOWLEDGED``), written only after every Qdrant write of a sync returned with
``wait=True``. A sync applies everything newer than it, so a crash (or a Qdrant error) between
the store's commit and the Qdrant write leaves the change newer than the acknowledged
generation, and the next sync replays it: nothing committed is lost, and a replay overwrites
the same points. One sync runs at a time per store (``RecordStore.exclusive``), so an older
snapshot never overwrites a newer one's points.

**Councils sharing a collection** (``tenant``, ``CASESEARCH_QDRANT_TENANT``): each point also
carries its council's id under ``tenant`` (a keyword payload index with ``is_tenant``, which a
server uses to keep a tenant's points together), point ids include it, and every query,
update, deletion, count and scroll is limited to it. BM25's IDF over the caller's visible set
is then over her council's points too, since the corpus filter is the scope filter.

Each point's payload also holds its record's and its own pk in the store (``record_pk``,
``chunk_pk``: a search re-checks every hit against the store by them, and a removed chunk is
deleted by its pk), a hash of its terms and vector (``content_hash``) and of its permissions
(``acl_hash``), which ``casesearch reconcile`` compares (``retrieval.qdrant_reconcile``).

**Which lists a search takes from Qdrant.** ``HybridSearcher`` takes only the dense list from
Qdrant (``nearest``). Its lexical list stays the record store's BM25 (FTS5 on SQLite, the token
table on PostgreSQL, proven identical): that BM25 scores the query's term groups (wordings
matched as nearby terms), leaves out terms common to a whole case file, and counts document
length over the caller's visible chunks, none of which the sparse vectors here can express
(their length normalisation is fixed, their dimensions hashed). The sparse vectors are still
written, so the collection serves Qdrant-native hybrid queries (``hybrid``, ``lexical``: the
congruence evaluation, ``evaluation/qdrant_congruence.py``) without a rebuild.

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

This module holds the collection and what is done to it (``QdrantIndex``: creating and
checking it, writes, deletions, ``sync``, the search calls and their fusion) and
``copy_store``. What a point is made of (its id, vectors and payload) is in
``retrieval.qdrant_points``; how a search is asked (the scope as a filter, the dense and
sparse requests, their answers as candidates) is in ``retrieval.qdrant_queries``.
"""

from __future__ import annotations

import logging
import math
import threading
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from qdrant_client import QdrantClient, models

from retrieval.errors import IndexMismatchError
from retrieval.qdrant_collection import DEFAULT_COLLECTION, check_collection_name, check_tenant
from retrieval.qdrant_points import (
    DENSE,
    SPARSE,
    TENANT,
    IndexedChunk,
    bm25_sparse,
    indexed_chunks,
    point_id,
    point_payload,
    record_fields,
)
from retrieval.qdrant_queries import (
    Candidate,
    Scope,
    candidates,
    dense_request,
    scope_filter,
    sparse_request,
)
from retrieval.store import IndexedRecord, RecordStore

logger = logging.getLogger(__name__)

RRF_K = 60
ACKNOWLEDGED = "qdrant_generation"
"""The store's ``meta`` key holding the generation the default collection has acknowledged
(another collection's key names it: ``acknowledged_key``)."""
SYNC_LOCK = "qdrant-sync"
SYNC_BATCH = 256
"""Records read and written per Qdrant request during a sync."""
_PAYLOAD_INDEXES: Mapping[str, models.PayloadSchemaType] = {
    "record_id": models.PayloadSchemaType.KEYWORD,
    "case_id": models.PayloadSchemaType.KEYWORD,
    "doc_type": models.PayloadSchemaType.KEYWORD,
    "allow": models.PayloadSchemaType.KEYWORD,
    "deny": models.PayloadSchemaType.KEYWORD,
    "day": models.PayloadSchemaType.INTEGER,
    "record_pk": models.PayloadSchemaType.INTEGER,
    "chunk_pk": models.PayloadSchemaType.INTEGER,
}


@dataclass(frozen=True, slots=True)
class SyncReport:
    """What one ``sync`` did: the generation now acknowledged, the chunks written with their
    vectors, the records whose payload alone was updated, and the removed chunks deleted."""

    generation: int
    upserted: int = 0
    payloads: int = 0
    deleted: int = 0


def client_for(url: str, api_key: str | None = None) -> QdrantClient:
    """``local:PATH`` for qdrant-client's local mode on disk (``local::memory:`` in memory),
    else a server's URL."""
    if url.startswith("local:"):
        path = url.removeprefix("local:")
        return QdrantClient(location=":memory:") if path == ":memory:" else QdrantClient(path=path)
    return QdrantClient(url=url, api_key=api_key)


class QdrantIndex:
    """The chunks of one store in collection ``name``. Not thread-safe for writes (one writer,
    the indexer); searches may run concurrently. Raises ``ValueError`` for a name Qdrant (or
    this project, ``COLLECTION_NAME``) would not take.

    With ``tenant`` (a council's id) the collection may hold other councils' points too: each
    point carries ``tenant`` in its payload (a keyword index with ``is_tenant``, so a server
    keeps each council's points together and answers its queries from them), its id includes
    the tenant, and every query, update, deletion, count and scroll here is limited to it, so
    a council neither sees nor touches (nor, in reconcile, deletes as strays) another's points.
    """

    def __init__(
        self, client: QdrantClient, name: str, dimension: int, *, tenant: str | None = None
    ) -> None:
        check_collection_name(name)
        self.client = client
        self.name = name
        self.dimension = dimension
        self.tenant = None if tenant is None else check_tenant(tenant)
        self._sync_lock = threading.Lock()

    def point_id(self, record_id: str, ordinal: int) -> str:
        return point_id(record_id, ordinal, self.tenant)

    def _own(self) -> list[models.Condition]:
        """The condition that keeps an operation to this index's tenant (none without)."""
        return [] if self.tenant is None else [_match(TENANT, self.tenant)]

    def _own_filter(self) -> models.Filter | None:
        own = self._own()
        return models.Filter(must=own) if own else None

    def _records(self, record_id: str) -> models.Filter:
        return models.Filter(must=[_match("record_id", record_id), *self._own()])

    def _scope(self, scope: Scope) -> models.Filter | None:
        """``scope_filter`` limited to this tenant."""
        allowed = scope_filter(scope)
        if allowed is None or self.tenant is None:
            return allowed
        must = allowed.must if isinstance(allowed.must, list) else []
        return models.Filter(must=[*must, *self._own()], must_not=allowed.must_not)

    @property
    def acknowledged_key(self) -> str:
        """The store's ``meta`` key for the generation this collection holds. One key per
        collection, so that pointing the settings at another (empty) collection makes the
        next sync start from nothing instead of trusting the old collection's progress."""
        return ACKNOWLEDGED if self.name == DEFAULT_COLLECTION else f"{ACKNOWLEDGED}:{self.name}"

    def ensure_collection(self) -> None:
        """Create the collection and its payload indexes if missing (idempotent); an existing
        one is checked first (``check_collection``)."""
        if self.client.collection_exists(self.name):
            self.check_collection()
            self._tenant_index()
            return
        self.client.create_collection(
            self.name,
            vectors_config={
                DENSE: models.VectorParams(size=self.dimension, distance=models.Distance.COSINE)
            },
            sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
        )
        with warnings.catch_warnings():
            # local mode says it ignores payload indexes; a server uses them
            warnings.filterwarnings("ignore", "Payload indexes have no effect", UserWarning)
            for field, schema in _PAYLOAD_INDEXES.items():
                self.client.create_payload_index(self.name, field, schema, wait=True)
        self._tenant_index()

    def _tenant_index(self) -> None:
        """With a tenant, the ``tenant`` keyword index marked ``is_tenant`` (idempotent)."""
        if self.tenant is None:
            return
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Payload indexes have no effect", UserWarning)
            self.client.create_payload_index(
                self.name,
                TENANT,
                models.KeywordIndexParams(type=models.KeywordIndexType.KEYWORD, is_tenant=True),
                wait=True,
            )

    def check_collection(self) -> None:
        """Raise ``IndexMismatchError`` unless the existing collection has the vectors this
        index writes: a named ``dense`` vector of the model's dimension with cosine distance
        and a ``bm25`` sparse vector with the IDF modifier. Checked when the collection is
        opened, so that a collection made for another model (or by another program) stops the
        process with a message saying what to do, not the first upsert with Qdrant's error."""
        params = self.client.get_collection(self.name).config.params
        vectors = params.vectors if isinstance(params.vectors, Mapping) else {}
        dense = vectors.get(DENSE)
        sparse = (params.sparse_vectors or {}).get(SPARSE)
        remedy = (
            " Set CASESEARCH_QDRANT_COLLECTION to a new name and run 'casesearch reconcile', which"
            " makes that collection and fills it from the store's vectors (nothing is"
            " re-embedded); then delete the old collection"
        )
        if dense is None or sparse is None:
            raise IndexMismatchError(
                f"Qdrant collection {self.name!r} has no {DENSE!r} dense and {SPARSE!r} sparse"
                f" vectors (it has {sorted(vectors) or 'no named vectors'}): it was not made by"
                f" casesearch.{remedy}"
            )
        if dense.size != self.dimension or dense.distance != models.Distance.COSINE:
            raise IndexMismatchError(
                f"Qdrant collection {self.name!r} holds {dense.size}-dimensional"
                f" {dense.distance.value} vectors, but the embedding model makes"
                f" {self.dimension}-dimensional cosine ones.{remedy}. If the store itself was"
                " built with another model, rebuild it first ('casesearch index --rebuild')"
            )
        if sparse.modifier != models.Modifier.IDF:
            raise IndexMismatchError(
                f"Qdrant collection {self.name!r} has its {SPARSE!r} sparse vectors without the"
                f" IDF modifier, so its BM25 scores would ignore term rarity.{remedy}"
            )

    # -- writes -------------------------------------------------------------------------------

    def upsert(self, chunks: Sequence[IndexedChunk]) -> None:
        """Write ``chunks`` (replacing points of the same record and ordinal); returns once
        Qdrant has acknowledged them."""
        if not chunks:
            return
        points = [
            models.PointStruct(
                id=self.point_id(c.record_id, c.ordinal),
                vector={DENSE: c.vector.astype(np.float32).tolist(), SPARSE: bm25_sparse(c.terms)},
                payload=point_payload(c, self.tenant),
            )
            for c in chunks
        ]
        self.client.upsert(self.name, points=points, wait=True)

    def replace_record(self, record_id: str, chunks: Sequence[IndexedChunk]) -> None:
        """The record's points become exactly ``chunks`` (fewer chunks than before: the rest
        go). Acknowledged before it returns."""
        self.upsert(chunks)
        keep = [self.point_id(record_id, c.ordinal) for c in chunks]
        self.client.delete(
            self.name,
            points_selector=models.FilterSelector(
                filter=models.Filter(
                    must=[_match("record_id", record_id), *self._own()],
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
            points=self._records(record_id),
            wait=True,
        )

    def delete_records(self, record_ids: Iterable[str]) -> None:
        ids = sorted(set(record_ids))
        if ids:
            self._delete_where("record_id", ids)

    def _delete_where(self, key: str, values: Sequence[str] | Sequence[int]) -> None:
        """Delete the points whose payload ``key`` is one of ``values``, acknowledged."""
        self.client.delete(
            self.name,
            points_selector=models.FilterSelector(
                filter=models.Filter(
                    must=[
                        models.FieldCondition(key=key, match=models.MatchAny(any=list(values))),
                        *self._own(),
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
        allowed = self._scope(scope)
        if allowed is None:
            return []
        requests = [dense_request(vector, allowed, limit)]
        if terms:
            requests.append(sparse_request(terms, allowed, limit))
        answers = self.client.query_batch_points(self.name, requests=requests)
        fused: dict[tuple[str, int], float] = {}
        for answer in answers:
            for rank, c in enumerate(candidates(answer.points), start=1):
                key = (c.record_id, c.ordinal)
                fused[key] = fused.get(key, 0.0) + 1.0 / (RRF_K + rank)
        ranked = sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:limit]
        return [Candidate(rid, ordinal, score) for (rid, ordinal), score in ranked]

    def lexical(self, terms: Sequence[str], scope: Scope, *, limit: int) -> list[Candidate]:
        """BM25 alone, IDF over the caller's visible chunks."""
        allowed = self._scope(scope)
        if allowed is None or not terms:
            return []
        (answer,) = self.client.query_batch_points(
            self.name, requests=[sparse_request(terms, allowed, limit)]
        )
        return candidates(answer.points)

    def dense(self, vector: np.ndarray, scope: Scope, *, limit: int) -> list[Candidate]:
        """Cosine alone over the caller's visible chunks."""
        allowed = self._scope(scope)
        if allowed is None:
            return []
        (answer,) = self.client.query_batch_points(
            self.name, requests=[dense_request(vector, allowed, limit)]
        )
        return candidates(answer.points)

    def count(self) -> int:
        """This index's points (its tenant's, with one)."""
        return int(self.client.count(self.name, count_filter=self._own_filter(), exact=True).count)

    def set_record_fields(self, records: Sequence[IndexedRecord]) -> None:
        """Give each record's points its current record fields (permissions, case, type,
        day), vectors and chunk fields untouched; one request, acknowledged."""
        if not records:
            return
        operations = [
            models.SetPayloadOperation(
                set_payload=models.SetPayload(payload=record_fields(r), filter=self._records(r.id))
            )
            for r in records
        ]
        self.client.batch_update_points(self.name, update_operations=operations, wait=True)

    def delete_chunks(self, chunk_pks: Sequence[int]) -> None:
        """Delete the points of these store chunks (a point overwritten by a newer chunk of
        the same record and ordinal carries the newer pk, and stays)."""
        for start in range(0, len(chunk_pks), 1000):
            self._delete_where("chunk_pk", list(chunk_pks[start : start + 1000]))

    # -- following the store ------------------------------------------------------------------

    def sync_lock(self) -> threading.Lock:
        """Held by ``sync`` (and ``reconcile``) in this process, beside the store-wide lock."""
        return self._sync_lock

    def acknowledged(self, store: RecordStore) -> int | None:
        """The store generation Qdrant holds everything up to (None: never synced)."""
        value = store.get_meta(self.acknowledged_key)
        return None if value is None else int(value)

    def sync(self, store: RecordStore) -> SyncReport:
        """Apply every change of ``store`` newer than the acknowledged generation, then
        acknowledge the generation of the snapshot read (module docstring).

        Chunks written after it are upserted with their stored vectors (nothing is embedded);
        records changed after it whose chunks were not get a payload update
        (``set_record_fields``); chunks removed after it are deleted. Raises whatever
        qdrant-client raises (the acknowledged generation then stays where it was, and the
        next sync replays the lot). Waits for another process's sync of the same store.
        """
        with self._sync_lock, store.exclusive(SYNC_LOCK):
            since = self.acknowledged(store)
            start = -1 if since is None else since
            with store.snapshot() as conn:
                target = store.generation(conn)
                if since is not None and target <= since:
                    return SyncReport(generation=since)
                changed = store.changed_records(conn, start)
                removed = store.removed_chunks_since(conn, start)
                upserted = payloads = 0
                for first in range(0, len(changed), SYNC_BATCH):
                    part = changed[first : first + SYNC_BATCH]
                    records = store.indexed_records(conn, [pk for pk, _ in part])
                    rewritten = [pk for pk, chunks in part if chunks and pk in records]
                    chunks = indexed_chunks(store, conn, rewritten, records)
                    self.upsert(chunks)
                    upserted += len(chunks)
                    fields = [records[pk] for pk, c in part if not c and pk in records]
                    self.set_record_fields(fields)
                    payloads += len(fields)
                # after the upserts: a rewritten record's points now carry its new chunk pks
                self.delete_chunks(removed)
            with store.transaction() as conn:
                held = store.get_meta(self.acknowledged_key, conn)
                if held is None or int(held) < target:
                    store.set_meta(conn, self.acknowledged_key, str(target))
        report = SyncReport(target, upserted=upserted, payloads=payloads, deleted=len(removed))
        logger.info(
            "qdrant sync to generation %d: %d chunks written, %d payloads updated, %d removed",
            report.generation,
            report.upserted,
            report.payloads,
            report.deleted,
        )
        return report

    def nearest(
        self,
        vector: np.ndarray,
        *,
        limit: int,
        min_score: float | None = None,
        scope: Scope | None = None,
        record_pks: Sequence[int] | None = None,
    ) -> list[tuple[int, int, float]]:
        """The best ``limit`` chunks by cosine scoring at least ``min_score``, inside
        ``scope`` (principals and filters, in the query) and/or among ``record_pks``, as
        ``(chunk pk, record pk, cosine)`` from the payload, best first, ties by chunk pk.
        The caller re-checks them against the store. Points written without store pks are
        left out."""
        must: list[models.Condition] = self._own()
        must_not: list[models.Condition] = []
        if scope is not None:
            allowed = scope_filter(scope)
            if allowed is None:
                return []
            must.extend(allowed.must if isinstance(allowed.must, list) else [])
            must_not.extend(allowed.must_not if isinstance(allowed.must_not, list) else [])
        if record_pks is not None:
            if not record_pks:
                return []
            must.append(
                models.FieldCondition(
                    key="record_pk", match=models.MatchAny(any=[int(p) for p in record_pks])
                )
            )
        if limit <= 0:
            return []
        answer = self.client.query_points(
            self.name,
            query=vector.astype(np.float32).tolist(),
            using=DENSE,
            query_filter=models.Filter(must=must or None, must_not=must_not or None),
            limit=limit,
            score_threshold=min_score
            if min_score is not None and math.isfinite(min_score)
            else None,
            with_payload=["record_pk", "chunk_pk"],
        )
        found = [
            (int(p.payload["chunk_pk"]), int(p.payload["record_pk"]), float(p.score))
            for p in answer.points
            if p.payload and p.payload.get("chunk_pk") is not None
        ]
        return sorted(found, key=lambda f: (-f[2], f[0]))

    # -- what reconcile reads -----------------------------------------------------------------

    def payloads(self, ids: Sequence[str]) -> dict[str, dict[str, object]]:
        """point id → payload of those of ``ids`` present."""
        out: dict[str, dict[str, object]] = {}
        for start in range(0, len(ids), 1000):
            for p in self.client.retrieve(
                self.name, list(ids[start : start + 1000]), with_payload=True, with_vectors=False
            ):
                out[str(p.id)] = dict(p.payload or {})
        return out

    def point_ids(self, *, page: int = 1000) -> Iterator[str]:
        """Every point id in the collection (no payload, no vector), page by page."""
        offset: models.ExtendedPointId | None = None
        while True:
            points, offset = self.client.scroll(
                self.name,
                scroll_filter=self._own_filter(),
                limit=page,
                offset=offset,
                with_payload=False,
                with_vectors=False,
            )
            yield from (str(p.id) for p in points)
            if offset is None:
                return

    def delete_points(self, ids: Sequence[str]) -> None:
        for start in range(0, len(ids), 1000):
            self.client.delete(
                self.name,
                points_selector=models.PointIdsList(points=list(ids[start : start + 1000])),
                wait=True,
            )


def _match(key: str, value: str) -> models.FieldCondition:
    return models.FieldCondition(key=key, match=models.MatchValue(value=value))


def copy_store(store: RecordStore, index: QdrantIndex, *, batch: int = 500) -> int:
    """Copy every chunk of ``store`` (its terms and vectors as stored, nothing re-embedded)
    into ``index``; returns the chunks written. For measuring the two backends side by side;
    a deployment follows the store with ``QdrantIndex.sync``."""
    with store.snapshot() as conn:
        pks = store.record_pks(conn)
        written = 0
        for start in range(0, len(pks), batch):
            part = pks[start : start + batch]
            records = store.indexed_records(conn, part)
            chunks = indexed_chunks(store, conn, [pk for pk in part if pk in records], records)
            index.upsert(chunks)
            written += len(chunks)
    return written
