"""An evaluation through Qdrant (``--qdrant-url``, qdrant-client local mode): the dense lists of
dense and hybrid modes come from Qdrant's query, and the run equals the in-memory matrix's;
a scratch store evaluated before against another Qdrant folder still gets every chunk into
the new one (the reconcile before the queries), not a collection the store wrongly believes
synced."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluation.beir import load_collection
from evaluation.beir_run import evaluate_collection
from evaluation.harness import EvaluationReport
from retrieval.chunking import ChunkingConfig
from retrieval.embedding import Embedder
from retrieval.models import SearchConfig
from retrieval.qdrant_index import QdrantIndex, client_for

TEXTS = [
    "Home visit: the fridge was empty and the children had not eaten since Friday.",
    "Mother said she could not afford food; the kitchen was dirty and cold.",
    "Strategy discussion about a bruise on the child's arm seen at school.",
    "The child told her teacher that dad hit her with a belt last week.",
    "School attendance has fallen to sixty per cent this term.",
    "Police were called to a domestic incident at the address on Saturday.",
    "The GP confirmed the baby's weight is below the expected centile.",
    "Grandmother has offered to look after the children at weekends.",
]
QUERIES = {"q1": "no food in the house", "q2": "injury noticed at school", "q3": "baby weight"}
QRELS = "query-id\tcorpus-id\tscore\nq1\tD0\t1\nq1\tD1\t1\nq2\tD2\t1\nq3\tD6\t1\n"


def _collection(root: Path) -> Path:
    """The notes above as a BEIR-layout collection, with three judged queries."""
    (root / "qrels").mkdir(parents=True)
    corpus = [{"_id": f"D{i}", "title": f"Note {i}", "text": t} for i, t in enumerate(TEXTS)]
    queries = [{"_id": q, "text": t} for q, t in QUERIES.items()]
    (root / "corpus.jsonl").write_text("".join(json.dumps(row) + "\n" for row in corpus))
    (root / "queries.jsonl").write_text("".join(json.dumps(row) + "\n" for row in queries))
    (root / "qrels" / "test.tsv").write_text(QRELS)
    return root


def _evaluate(
    root: Path, store: Path, embedder: Embedder, qdrant: QdrantIndex | None
) -> EvaluationReport:
    return evaluate_collection(
        load_collection(root),
        store=store,
        embedder=embedder,
        chunking=ChunkingConfig(),
        search_config=SearchConfig(),
        modes=("bm25", "dense", "hybrid"),
        as_you_type="off",
        qdrant=qdrant,
    )


@pytest.mark.slow
def test_the_run_through_qdrant_equals_the_in_memory_run(
    tmp_path: Path, embedder: Embedder
) -> None:
    root = _collection(tmp_path / "col")
    store = tmp_path / "store.sqlite3"
    in_memory = _evaluate(root, store, embedder, None)
    assert in_memory.context["dense_index"] == "in-memory"
    for folder in ("qdrant-a", "qdrant-b"):  # b: the store already acknowledged a's sync
        index = QdrantIndex(client_for(f"local:{tmp_path / folder}"), "chunks", 384)
        index.ensure_collection()
        try:
            through = _evaluate(root, store, embedder, index)
            assert index.count() == len(TEXTS)
        finally:
            index.client.close()
        assert through.context["dense_index"] == "qdrant"
        assert through.context["qdrant_points"] == len(TEXTS)
        # a: the indexer's sync wrote every point; b: only the reconcile could
        assert through.context["qdrant_points_repaired"] == (0 if folder == "qdrant-a" else 8)
        for mode in ("bm25", "dense", "hybrid"):
            ours, theirs = in_memory.modes[mode].run, through.modes[mode].run
            assert ours.keys() == theirs.keys()
            for query in ours:
                assert [d for d, _ in ours[query]] == [d for d, _ in theirs[query]]
                for (_, a), (_, b) in zip(ours[query], theirs[query], strict=True):
                    assert a == pytest.approx(b, abs=1e-6)
