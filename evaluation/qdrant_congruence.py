"""The two backends side by side: the same indexed collection searched by the embedded store and
by Qdrant (``retrieval/qdrant_index.py``, qdrant-client's local mode), nDCG@10 per mode.

The embedded store built by ``casesearch eval beir`` (or ``eval synthetic``) is copied into an
in-memory Qdrant collection (terms and vectors as stored, nothing re-embedded), then every judged
query runs three ways on both: BM25 alone, the plain model alone, and the two fused by RRF
(k = 60), with no query understanding and no ranking rules on either side, since those sit above
the index and would run unchanged over either. A query with a case filter is filtered by case on
both. Records are ranked by their best chunk.

``python -m evaluation.qdrant_congruence DIR --store STORE --out REPORT.json`` (``DIR`` a
BEIR-layout collection; ``STORE`` the scratch store its evaluation built).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from evaluation.beir import BeirCollection, EvalQuery, load_collection
from evaluation.beir_run import EVAL_PRINCIPAL
from evaluation.metrics import mean, ndcg_at_k
from retrieval import analysis
from retrieval.embedding import Embedder
from retrieval.models import AccessScope, Mode, SearchConfig, SearchFilters, SearchRequest
from retrieval.qdrant_index import QdrantIndex, client_for, copy_store
from retrieval.qdrant_queries import Candidate, Scope
from retrieval.search import HybridSearcher
from retrieval.store import RecordStore

DEPTH = 100  # chunks per list before records are taken from them
MODES: tuple[Mode, ...] = ("bm25", "dense", "hybrid")


def _records(chunks: Sequence[Candidate]) -> list[str]:
    """Record ids in the order of their best chunk."""
    return list(dict.fromkeys(c.record_id for c in chunks))


def qdrant_ranker(index: QdrantIndex, embedder: Embedder) -> Callable[[EvalQuery, Mode], list[str]]:
    def rank(query: EvalQuery, mode: Mode) -> list[str]:
        scope = Scope(
            frozenset({EVAL_PRINCIPAL}), case_ids=(query.case_id,) if query.case_id else ()
        )
        terms = analysis.terms(query.text)
        if mode == "bm25":
            return _records(index.lexical(terms, scope, limit=DEPTH))
        vector = np.asarray(embedder.embed([query.text])[0], dtype=np.float32)
        if mode == "dense":
            return _records(index.dense(vector, scope, limit=DEPTH))
        return _records(index.hybrid(terms, vector, scope, limit=DEPTH))

    return rank


def embedded_ranker(
    store: RecordStore, embedder: Embedder
) -> Callable[[EvalQuery, Mode], list[str]]:
    # RRF k = 60 like the Qdrant side; no understanding and no rules (``understand=False``
    # turns query understanding off; the rules are keyed on what it reads)
    searcher = HybridSearcher(store, embedder, dataclasses.replace(SearchConfig(), rrf_k=60.0))
    scope = AccessScope.of(EVAL_PRINCIPAL)

    def rank(query: EvalQuery, mode: Mode) -> list[str]:
        request = SearchRequest(
            text=query.text,
            scope=scope,
            filters=SearchFilters(case_id=query.case_id),
            mode=mode,
            top_k=10,
            understand=False,
        )
        return [doc for doc, _ in searcher.rank_ids(request)]

    return rank


def compare(
    collection: BeirCollection, store: RecordStore, embedder: Embedder
) -> dict[str, object]:
    """Copy ``store`` into Qdrant and score both backends on ``collection``'s judged queries."""
    index = QdrantIndex(client_for("local::memory:"), "chunks", embedder.dimension)
    index.ensure_collection()
    started = time.perf_counter()
    chunks = copy_store(store, index)
    copied_s = time.perf_counter() - started
    rankers = {
        "embedded": embedded_ranker(store, embedder),
        "qdrant": qdrant_ranker(index, embedder),
    }
    scores: dict[str, dict[str, float]] = {}
    timing: dict[str, dict[str, float]] = {}
    judged = [q for q in collection.queries if collection.qrels.get(q.id)]
    for backend, rank in rankers.items():
        scores[backend], timing[backend] = {}, {}
        for mode in MODES:
            began = time.perf_counter()
            values = [ndcg_at_k(rank(q, mode)[:10], collection.qrels[q.id], 10) for q in judged]
            timing[backend][mode] = round((time.perf_counter() - began) / len(judged) * 1000, 1)
            scores[backend][mode] = round(mean(values), 4)
    index.client.close()
    return {
        "collection": collection.name,
        "queries": len(judged),
        "chunks": chunks,
        "copy_s": round(copied_s, 1),
        "ndcg_at_10": scores,
        "difference_qdrant_minus_embedded": {
            m: round(scores["qdrant"][m] - scores["embedded"][m], 4) for m in MODES
        },
        "mean_ms_per_query": timing,
        "qdrant": "qdrant-client local mode, in memory (exact search)",
    }


def main(argv: Sequence[str] | None = None) -> int:
    from retrieval.embedding import SentenceTransformerEmbedder

    parser = argparse.ArgumentParser(prog="python -m evaluation.qdrant_congruence")
    parser.add_argument("collection", type=Path, help="a BEIR-layout collection directory")
    parser.add_argument("--store", type=Path, required=True, help="its evaluation's store")
    parser.add_argument("--out", type=Path, required=True, help="report (JSON)")
    args = parser.parse_args(argv)
    collection = load_collection(args.collection)
    store = RecordStore(args.store)
    try:
        report = compare(collection, store, SentenceTransformerEmbedder())
    finally:
        store.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
