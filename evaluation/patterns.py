"""How well the pattern view finds the cases that show a concern, on the synthetic case file.

Truth, per concern, comes from the case file's graded judgements, never from the pattern
view's own rules: the cases holding a document judged the answer (grade 2) to a question of
the matching query kind. Each concern is asked as its indicator category, strong matches only
(the default answer) and with weaker matches, as a user who sees every record; the figures
are case-level precision and recall and the time each question took in process.

``python -m evaluation.patterns --seed 7 --cases 40 --out reports/patterns.json`` writes sorted
JSON and a markdown table beside it (reuses the scratch store of ``casesearch eval synthetic``
when it exists).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from evaluation.beir import load_collection
from evaluation.beir_run import EVAL_PRINCIPAL, collection_records
from evaluation.metrics import percentile
from evaluation.synthetic import generate_case_file
from indexer import Indexer
from retrieval.chunking import ChunkingConfig
from retrieval.embedding import CachedEmbedder, SentenceTransformerEmbedder
from retrieval.models import AccessScope
from retrieval.patterns import PatternFinder, PatternQuery
from retrieval.search import HybridSearcher
from retrieval.store import SqliteStore

# query kind of the case file -> the indicator category a QA officer would ask for
CATEGORY_OF_KIND: dict[str, str] = {
    "neglect_pattern": "neglect",
    "home_alone": "supervision",
    "exploitation": "criminal_exploitation",
    "domestic_abuse": "domestic_abuse",
    "missing_episodes": "missing",
    "school_concerns": "school_attendance",
}
REPEATS = 5


def evaluate_patterns(
    source: Path, store_path: Path, embedding_cache: Path, *, today: dt.date
) -> dict[str, Any]:
    """Case-level precision and recall per concern, and latency, as sorted-key-ready JSON."""
    collection = load_collection(source, "test")
    case_of = {d.id: d.case_id for d in collection.documents}
    truth: dict[str, set[str]] = defaultdict(set)
    for query in collection.queries:
        if query.kind in CATEGORY_OF_KIND:
            for doc_id, grade in collection.qrels.get(query.id, {}).items():
                case = case_of.get(doc_id)
                if grade >= 2 and case:
                    truth[query.kind].add(case)
    embedder = CachedEmbedder(SentenceTransformerEmbedder(), embedding_cache)
    store = SqliteStore(store_path)
    try:
        records, _ = collection_records(collection)
        indexer = Indexer(store, embedder, ChunkingConfig(), batch_size=256)
        indexer.apply(records, source=f"beir:{collection.name}")
        searcher = HybridSearcher(store, embedder)
        searcher.warm()
        finder = PatternFinder(searcher)
        scope = AccessScope.of(EVAL_PRINCIPAL)
        rows: dict[str, Any] = {}
        for kind, category in CATEGORY_OF_KIND.items():
            row: dict[str, Any] = {"category": category, "truth_cases": len(truth[kind])}
            for label, weak in (("strong", False), ("all", True)):
                times: list[float] = []
                for _ in range(REPEATS):
                    started = time.perf_counter()
                    result = finder.find(
                        PatternQuery(scope=scope, category=category, include_weak=weak, today=today)
                    )
                    times.append((time.perf_counter() - started) * 1000)
                found = {c.case_id for c in result.cases}
                hits = len(found & truth[kind])
                row[label] = {
                    "cases": len(found),
                    "precision": round(hits / len(found), 3) if found else 0.0,
                    "recall": round(hits / len(truth[kind]), 3) if truth[kind] else 0.0,
                    "records": result.total_records,
                    "set_apart_records": result.set_apart_records,
                    "p50_ms": round(percentile(times, 50), 1),
                }
            rows[kind] = row
        return {"collection": collection.name, "concerns": rows}
    finally:
        store.close()


def _markdown(report: dict[str, Any]) -> str:
    lines = [
        "| concern (query kind) | truth cases | strong only: cases, P, R | with weaker: cases, "
        "P, R | records counted | set apart | p50 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, row in report["concerns"].items():
        s, a = row["strong"], row["all"]
        lines.append(
            f"| {row['category']} ({kind}) | {row['truth_cases']} | {s['cases']}, "
            f"{s['precision']:.2f}, {s['recall']:.2f} | {a['cases']}, {a['precision']:.2f}, "
            f"{a['recall']:.2f} | {s['records']} | {s['set_apart_records']} | {s['p50_ms']} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cases", type=int, default=40)
    parser.add_argument("--today", type=dt.date.fromisoformat, default=dt.date(2025, 6, 30))
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    name = f"synthetic-seed{args.seed}-cases{args.cases}-{args.today.isoformat()}"
    generated = generate_case_file(
        args.data_dir / "eval" / "sources" / name,
        seed=args.seed,
        n_cases=args.cases,
        today=args.today,
    )
    report = evaluate_patterns(
        generated.root,
        args.data_dir / "eval" / name / "store.sqlite3",
        args.data_dir / "embedding-cache.sqlite3",
        today=args.today,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    markdown = _markdown(report)
    args.out.with_suffix(".md").write_text(markdown, encoding="utf-8")
    print(markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
