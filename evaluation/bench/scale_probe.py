"""The scale benchmark's measuring process: searches one store through the full
``HybridSearcher.search`` path, one request at a time, and writes what it saw.

Run by path, not as a module (``python evaluation/bench/scale_probe.py PLAN OUT``), so that the
``retrieval`` package it imports is the one first on ``PYTHONPATH``: the benchmark runs it once
with this tree and once with a baseline commit's ``retrieval/``, on the same store, in the same
run. It imports nothing else of ours for that reason.

The plan (JSON): ``store`` (path), ``today`` (ISO date), ``warmup`` and ``searches`` (lists of
``{"id", "text", "case_id", "principals"}``). The output (JSON): load and warm-up seconds, RSS
after warming (the serving RSS), the peak RSS, what the people directory costs loaded whole
and patched (this tree only), the query encoder (``onnx``, as a server
encodes queries, or ``torch`` for a baseline without it), and per search its seconds, the seconds of
those spent embedding the query (so that peers without the same model can be compared on the
rest), hits and total.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from evaluation.bench.common import CountingEmbedder, rss_mib
from retrieval.embedding import SentenceTransformerEmbedder
from retrieval.models import AccessScope, SearchFilters, SearchRequest
from retrieval.search import HybridSearcher
from retrieval.store import RecordStore


def _request(search: dict[str, Any], today: dt.date) -> SearchRequest:
    return SearchRequest(
        text=search["text"],
        scope=AccessScope.of(*search["principals"]),
        filters=SearchFilters(case_id=search["case_id"]),
        top_k=10,
        today=today,
    )


def _query_encoder() -> tuple[Any, str]:
    """The encoder a search server uses for queries (ONNX Runtime, one thread, exported into
    ``CASESEARCH_EMBEDDING__MODEL_DIR``), and its name; sentence-transformers where the
    ``retrieval`` package on the path is older than the ONNX path (a baseline commit)."""
    try:
        from retrieval.onnx_embedding import OnnxEmbedder
    except ImportError:
        return SentenceTransformerEmbedder(), "torch"
    folder = os.environ.get("CASESEARCH_EMBEDDING__MODEL_DIR") or tempfile.mkdtemp()
    return OnnxEmbedder(Path(folder), threads=1), "onnx"


PEOPLE_PATCH_RECORDS = 100


def _people_directory(store: RecordStore) -> dict[str, Any]:
    """What the people directory costs: loaded whole from the store (as after every change
    before it was patched), and patched for ``PEOPLE_PATCH_RECORDS`` changed records (their
    rows read again and the directory rebuilt around them, as ``HybridSearcher`` does after
    a change; the store itself is not changed). Empty where the ``retrieval`` package on the
    path has no patching (a baseline commit)."""
    from retrieval.people import PeopleDirectory

    if not hasattr(PeopleDirectory, "patched"):
        return {}
    with store.snapshot() as conn:
        begun = time.perf_counter()
        directory = PeopleDirectory(store.iter_subject_rows(conn, "child"))
        loaded = time.perf_counter() - begun
        # spread over the store, as an indexer's batch of changed records would be
        step = max(1, directory.rows // PEOPLE_PATCH_RECORDS)
        pks = sorted({int(pk) for pk in directory.record_pks[::step][:PEOPLE_PATCH_RECORDS]})
        begun = time.perf_counter()
        rows = store.subject_rows_of(conn, "child", pks)
        directory.patched(pks, rows)
        patched = time.perf_counter() - begun
    return {
        "rows": directory.rows,
        "full_load_s": round(loaded, 3),
        "patch_s": round(patched, 3),
        "patched_records": len(pks),
    }


def probe(plan: dict[str, Any]) -> dict[str, Any]:
    """Open the store, warm the searcher, run the warm-up searches, then time each search."""
    today = dt.date.fromisoformat(plan["today"])
    started = time.perf_counter()
    store = RecordStore(Path(plan["store"]))
    encoder, encoder_name = _query_encoder()
    embedder = CountingEmbedder(encoder)
    searcher = HybridSearcher(store, embedder)
    try:
        searcher.warm()
        warmed = time.perf_counter() - started
        rss_after_warm = rss_mib("VmRSS")
        people = _people_directory(store)
        for search in plan["warmup"]:
            searcher.search(_request(search, today))
        results: dict[str, Any] = {}
        for search in plan["searches"]:
            request = _request(search, today)
            embedder.seconds = 0.0
            begun = time.perf_counter()
            result = searcher.search(request)
            seconds = time.perf_counter() - begun
            results[search["id"]] = {
                "seconds": seconds,
                "embed_seconds": embedder.seconds,
                "total": result.total,
                "hits": [[h.document_id, h.score, h.chunk_id] for h in result.hits],
            }
    finally:
        store.close()
    return {
        "query_encoder": encoder_name,
        "load_and_warm_s": round(warmed, 3),
        "rss_after_warm_mib": rss_after_warm,
        "peak_rss_mib": rss_mib("VmHWM"),
        "people_directory": people,
        "results": results,
    }


def main(argv: list[str]) -> int:
    plan_path, out_path = Path(argv[0]), Path(argv[1])
    plan = json.loads(plan_path.read_text(encoding="utf-8"))
    out_path.write_text(json.dumps(probe(plan), sort_keys=True), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
