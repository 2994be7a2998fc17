"""The scale benchmark's peers (issue 14): the same searches on the same chunks and vectors
through qdrant-edge-py and rank-bm25, so the product's latency has a yardstick.

Both peers read a store the scale benchmark built: each chunk's record id, case id, allow and
deny principals, stored lexical terms (``retrieval.analysis``'s, the product's BM25 terms) and
stand-in vector. Query terms come from ``retrieval.analysis.terms``, as the product's do.

- ``qdrant_edge``: Qdrant's segment code in process (``qdrant_edge.EdgeShard``). A named dense
  vector (cosine, searched exactly, as the product's dense list is) and a sparse vector with
  the IDF modifier whose values are BM25's saturated term frequencies (k1 1.2, b 0.75);
  keyword indexes on ``case_id`` (``is_tenant``), ``acl`` and ``deny``. One query: dense and
  sparse prefetch of 200 each (the product's candidate depth), fused by RRF with k 20, top 10,
  filtered by the caller's principals (some in ``acl``, none in ``deny``) and, per case, by the
  case id; sparse IDF over the chunks the caller may see (``IdfParams``), the product's rule.
- ``rank_bm25``: ``BM25Okapi`` alone. It cannot filter, so one index over the whole store (what
  the QA user sees) is scored and the caller's scope applied to the scores afterwards
  (statistics over the whole store, unlike the product); per-case searches are also run with
  an index built at query time over the chunks of the case the caller may see (the build
  timed as part of the search).

Run by path (``python evaluation/bench/scale_peers.py PEER PLAN OUT``) so that each peer gets a
process of its own and its RSS is its own; the plan is ``scale_probe.py``'s. Timed per search:
for ``qdrant_edge`` the real query embedding (all-MiniLM-L6-v2, as the product's path does),
the query terms and the query; for ``rank_bm25`` the terms, the scoring and the top 10 (no
embedding: it has no dense side). ``engine_seconds`` is the engine's call alone.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from evaluation.bench.common import rss_mib
from retrieval.analysis import terms as query_terms
from retrieval.store import RecordStore

PeerName = Literal["qdrant_edge", "rank_bm25"]
PEERS: tuple[PeerName, ...] = ("qdrant_edge", "rank_bm25")
TOP_K = 10
DEPTH = 200  # the product's candidates per list (SearchConfig.candidates)
RRF_K = 20  # the product's SearchConfig.rrf_k
BM25_K1, BM25_B = 1.2, 0.75
DENSE, SPARSE = "dense", "sparse"
Vector = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class PeerChunk:
    """One chunk as both peers index it: what decides who may see it and what it says."""

    record_id: str
    case_id: str  # "" for a record outside any case
    acl: tuple[str, ...]
    deny: tuple[str, ...]
    terms: tuple[str, ...]
    vector: Vector


@dataclass(frozen=True, slots=True)
class PeerSearch:
    """One search of the plan: the text, the caller's principals and the case, if any."""

    text: str
    principals: tuple[str, ...]
    case_id: str | None


@dataclass(frozen=True, slots=True)
class PeerHit:
    record_id: str
    case_id: str
    score: float


def read_chunks(store_path: Path, batch: int = 2_000) -> Iterator[PeerChunk]:
    """Every chunk of the store at ``store_path``, in record pk then ordinal order."""
    store = RecordStore(store_path)
    try:
        with store.snapshot() as conn:
            pks = [pk for _, pk, _, _ in store.record_index(conn)]
            for start in range(0, len(pks), batch):
                part = pks[start : start + batch]
                docs = store.documents_by_pk(conn, part)
                rows = store.chunk_rows(conn, part)
                for pk in part:
                    doc = docs[pk]
                    for row in rows.get(pk, []):
                        yield PeerChunk(
                            record_id=doc.id,
                            case_id=doc.case_id or "",
                            acl=tuple(doc.acl),
                            deny=tuple(doc.deny),
                            terms=tuple(sys.intern(t) for t in row.terms.split()),
                            vector=np.frombuffer(row.vector, dtype=np.float32),
                        )
    finally:
        store.close()


# -- qdrant-edge-py ----------------------------------------------------------------------------


class QdrantEdgePeer:
    """A Qdrant edge shard holding the chunks: dense + sparse prefetch, RRF, filtered."""

    def __init__(self, folder: Path, dimension: int = 384) -> None:
        import qdrant_edge as qe

        self._qe = qe
        if folder.exists():
            shutil.rmtree(folder)
        config = qe.EdgeConfig(
            vectors={DENSE: qe.EdgeVectorParams(size=dimension, distance=qe.Distance.Cosine)},
            sparse_vectors={SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
            # no HNSW: the dense prefetch is exact, as the product's dense list is
            optimizers=qe.EdgeOptimizersConfig(indexing_threshold=0),
            payload_memory=qe.Memory.Cached,
        )
        self._shard = qe.EdgeShard.create(str(folder), config)
        self._shard.update(
            qe.UpdateOperation.create_field_index("case_id", qe.KeywordIndexParams(is_tenant=True))
        )
        for field in ("acl", "deny"):
            self._shard.update(
                qe.UpdateOperation.create_field_index(field, qe.PayloadSchemaType.Keyword)
            )
        self._vocabulary: dict[str, int] = {}
        self._points = 0

    def add(self, chunks: Iterable[PeerChunk], *, batch: int = 1_000) -> int:
        """Index ``chunks``; the BM25 length norm uses the mean length of the first batch read
        (bigger stores are copies of one base, so that is the store's mean); returns points."""
        buffered: list[PeerChunk] = []
        mean_length: float | None = None
        for chunk in chunks:
            buffered.append(chunk)
            if len(buffered) >= batch:
                if mean_length is None:
                    mean_length = max(1.0, float(np.mean([len(c.terms) for c in buffered])))
                self._upsert(buffered, mean_length)
                buffered = []
        if buffered:
            if mean_length is None:
                mean_length = max(1.0, float(np.mean([len(c.terms) for c in buffered])))
            self._upsert(buffered, mean_length)
        self._shard.optimize()  # merges the appendable segments (no HNSW: threshold 0)
        return self._points

    def _upsert(self, chunks: Sequence[PeerChunk], mean_length: float) -> None:
        qe = self._qe
        points = []
        for chunk in chunks:
            counts = Counter(
                self._vocabulary.setdefault(t, len(self._vocabulary)) for t in chunk.terms
            )
            norm = BM25_K1 * (1 - BM25_B + BM25_B * len(chunk.terms) / mean_length)
            indices = sorted(counts)
            values = [counts[i] * (BM25_K1 + 1) / (counts[i] + norm) for i in indices]
            payload = {"record": chunk.record_id, "case_id": chunk.case_id,
                       "acl": list(chunk.acl), "deny": list(chunk.deny)}  # fmt: skip
            vector = {DENSE: chunk.vector.tolist(), SPARSE: qe.SparseVector(indices, values)}
            points.append(qe.Point(self._points, vector, payload))
            self._points += 1
        self._shard.update(qe.UpdateOperation.upsert_points(points))

    def search(self, search: PeerSearch, vector: Vector) -> list[PeerHit]:
        """The top 10 chunks the caller may see (of the case, when one is named)."""
        qe = self._qe
        principals = list(search.principals)
        visible = qe.Filter(
            must=[qe.FieldCondition("acl", match=qe.MatchAny(principals))],
            must_not=[qe.FieldCondition("deny", match=qe.MatchAny(principals))],
        )
        scope = visible
        if search.case_id is not None:
            case = qe.FieldCondition("case_id", match=qe.MatchValue(search.case_id))
            scope = qe.Filter(must=[visible, case])
        ids = sorted(
            {self._vocabulary[t] for t in query_terms(search.text) if t in self._vocabulary}
        )
        prefetches = [
            qe.Prefetch(limit=DEPTH, query=qe.Query.Nearest(vector.tolist(), using=DENSE),
                        params=qe.SearchParams(exact=True)),
        ]  # fmt: skip
        if ids:
            sparse = qe.SparseVector(ids, [1.0] * len(ids))
            prefetches.append(
                qe.Prefetch(limit=DEPTH, query=qe.Query.Nearest(sparse, using=SPARSE),
                            params=qe.SearchParams(idf=qe.IdfParams(corpus=visible)))
            )  # fmt: skip
        request = qe.QueryRequest(limit=TOP_K, prefetches=prefetches, query=qe.Fusion.Rrf(k=RRF_K),
                                  filter=scope, with_payload=True)  # fmt: skip
        return [
            PeerHit(str(p.payload["record"]), str(p.payload["case_id"]), float(p.score))
            for p in self._shard.query(request)
            if p.payload is not None
        ]

    def close(self) -> None:
        self._shard.close()


# -- rank-bm25 ---------------------------------------------------------------------------------


class RankBm25Peer:
    """``BM25Okapi`` over every chunk; the caller's scope is applied to the scores after."""

    def __init__(self, chunks: Iterable[PeerChunk]) -> None:
        from rank_bm25 import BM25Okapi

        corpus: list[list[str]] = []
        self._records: list[str] = []
        self._cases: list[str] = []
        by_allowed: dict[str, list[int]] = {}
        by_denied: dict[str, list[int]] = {}
        by_case: dict[str, list[int]] = {}
        for row, chunk in enumerate(chunks):
            corpus.append(list(chunk.terms))
            self._records.append(chunk.record_id)
            self._cases.append(chunk.case_id)
            for p in chunk.acl:
                by_allowed.setdefault(p, []).append(row)
            for p in chunk.deny:
                by_denied.setdefault(p, []).append(row)
            by_case.setdefault(chunk.case_id, []).append(row)
        self._corpus = corpus
        self._allowed = {p: np.asarray(rows) for p, rows in by_allowed.items()}
        self._denied = {p: np.asarray(rows) for p, rows in by_denied.items()}
        self._case = {c: np.asarray(rows) for c, rows in by_case.items()}
        self._index = BM25Okapi(corpus, k1=BM25_K1, b=BM25_B)

    @property
    def chunks(self) -> int:
        return len(self._corpus)

    def _scope(self, search: PeerSearch) -> npt.NDArray[np.bool_]:
        mask = np.zeros(len(self._corpus), dtype=bool)
        for p in search.principals:
            if p in self._allowed:
                mask[self._allowed[p]] = True
        for p in search.principals:
            if p in self._denied:
                mask[self._denied[p]] = False
        if search.case_id is not None:
            in_case = np.zeros(len(self._corpus), dtype=bool)
            if search.case_id in self._case:
                in_case[self._case[search.case_id]] = True
            mask &= in_case
        return mask

    def search(self, search: PeerSearch) -> list[PeerHit]:
        """The whole store's index scored, the caller's scope applied, the top 10 kept."""
        scores = np.asarray(self._index.get_scores(query_terms(search.text)), dtype=np.float64)
        mask = self._scope(search)
        return self._top(np.flatnonzero(mask), scores[mask])

    def search_case_index(self, search: PeerSearch) -> list[PeerHit]:
        """A per-case search with an index built now over the case's chunks the caller may see
        (statistics over those chunks alone)."""
        from rank_bm25 import BM25Okapi

        rows = np.flatnonzero(self._scope(search))
        if rows.size == 0:
            return []
        index = BM25Okapi([self._corpus[r] for r in rows], k1=BM25_K1, b=BM25_B)
        scores = np.asarray(index.get_scores(query_terms(search.text)), dtype=np.float64)
        return self._top(rows, scores)

    def _top(self, rows: npt.NDArray[np.intp], scores: npt.NDArray[np.float64]) -> list[PeerHit]:
        order = np.argsort(-scores, kind="stable")[:TOP_K]
        return [
            PeerHit(self._records[rows[i]], self._cases[rows[i]], float(scores[i])) for i in order
        ]


# -- the measuring process ---------------------------------------------------------------------


def _searches(plan: dict[str, Any], key: str) -> list[tuple[str, PeerSearch]]:
    """The plan's per-case and cross-case searches (bursts are the product's alone)."""
    return [
        (s["id"], PeerSearch(s["text"], tuple(s["principals"]), s["case_id"]))
        for s in plan[key]
        if s.get("kind", "case") != "burst"
    ]


def _hits(hits: Sequence[PeerHit]) -> list[list[Any]]:
    return [[h.record_id, h.case_id, round(h.score, 6)] for h in hits]


def probe(peer: PeerName, plan: dict[str, Any], work: Path) -> dict[str, Any]:
    """Build ``peer`` over the plan's store, warm it, then time each search of the plan."""
    store = Path(plan["store"])
    started = time.perf_counter()
    out: dict[str, Any] = {"peer": peer}
    results: dict[str, Any] = {}
    warmup, searches = _searches(plan, "warmup"), _searches(plan, "searches")
    if peer == "qdrant_edge":
        qdrant = QdrantEdgePeer(work / "qdrant-edge-shard")
        out["points"] = qdrant.add(read_chunks(store))
        out["build_s"] = round(time.perf_counter() - started, 2)
        out["rss_after_build_mib"] = rss_mib("VmRSS")
        out["build_peak_rss_mib"] = rss_mib("VmHWM")
        from retrieval.embedding import SentenceTransformerEmbedder

        embedder = SentenceTransformerEmbedder()
        embedder.embed(["warm up"])
        try:
            for _, search in warmup:
                qdrant.search(search, embedder.embed([search.text])[0])
            out["serving_rss_mib"] = rss_mib("VmRSS")
            for sid, search in searches:
                begun = time.perf_counter()
                vector = embedder.embed([search.text])[0]
                engine_begun = time.perf_counter()
                hits = qdrant.search(search, vector)
                done = time.perf_counter()
                results[sid] = {"seconds": done - begun, "engine_seconds": done - engine_begun,
                                "hits": _hits(hits)}  # fmt: skip
        finally:
            qdrant.close()
    else:
        bm25 = RankBm25Peer(read_chunks(store))
        out["points"] = bm25.chunks
        out["build_s"] = round(time.perf_counter() - started, 2)
        out["rss_after_build_mib"] = rss_mib("VmRSS")
        out["build_peak_rss_mib"] = rss_mib("VmHWM")
        for _, search in warmup:
            bm25.search(search)
        out["serving_rss_mib"] = rss_mib("VmRSS")
        for sid, search in searches:
            begun = time.perf_counter()
            hits = bm25.search(search)
            results[sid] = {"seconds": time.perf_counter() - begun, "hits": _hits(hits)}
            if search.case_id is not None:
                begun = time.perf_counter()
                own = bm25.search_case_index(search)
                results[sid]["case_index_seconds"] = time.perf_counter() - begun
                results[sid]["case_index_hits"] = _hits(own)
    out["peak_rss_mib"] = rss_mib("VmHWM")
    out["results"] = results
    return out


def main(argv: list[str]) -> int:
    named, plan_path, out_path = argv[0], Path(argv[1]), Path(argv[2])
    peer = next((p for p in PEERS if p == named), None)
    if peer is None:
        print(f"unknown peer {named!r}; one of {', '.join(PEERS)}", file=sys.stderr)
        return 2
    plan = json.loads(plan_path.read_text(encoding="utf-8"))
    result = probe(peer, plan, out_path.parent)
    out_path.write_text(json.dumps(result, sort_keys=True), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
