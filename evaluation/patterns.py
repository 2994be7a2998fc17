"""How well the pattern view finds the cases that show a concern, on the synthetic case file.

Truth, per concern, comes from how the generator wrote each document (its topic tags), never
from the text or the pattern view's own rules: the cases holding a document tagged as explicit
evidence (grade 2) of the concern's topics (``TRUTH_TOPICS``). Two choices, each shown in the
report beside the older truth (``"truth": "asked"``: the cases holding a grade-2 answer to a
question of the matching query kind):

- from tags, not from the questions asked: the per-case questions are drawn at random (a
  domestic-abuse question is skipped in about a third of the cases that have the concern), so
  a case the generator wrote abuse into was counted as not showing it when nobody asked;
- neglect includes children left without adequate supervision (``home_alone``): Working
  Together 2023 defines neglect as including a failure to "ensure adequate supervision
  (including the use of inadequate care-givers)", the library's neglect category says the
  same, and the generator itself puts those children on a plan under the category of neglect.

Each concern is asked as its indicator category, strong matches only (the default answer) and
with weaker matches, as a user who sees every record; the figures are case-level precision and
recall and the time each question took in process. ``ablation`` repeats the strong-only
figures with each part of the case-level decision switched off (``ABLATION``).

``python -m evaluation.patterns --seed 7 --cases 40 --out reports/patterns.json`` writes sorted
JSON and a markdown table beside it (reuses the scratch store of ``casesearch eval synthetic``
when it exists).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from evaluation.beir import BeirCollection, load_collection
from evaluation.beir_run import EVAL_PRINCIPAL, collection_records
from evaluation.metrics import percentile
from evaluation.synthetic import SyntheticDocument, generate_case_file
from evaluation.synthetic.model import topic_family
from indexer import Indexer
from retrieval.chunking import ChunkingConfig
from retrieval.embedding import CachedEmbedder, SentenceTransformerEmbedder
from retrieval.models import AccessScope
from retrieval.patterns import PatternFinder, PatternQuery
from retrieval.search import HybridSearcher
from retrieval.store import RecordStore

# query kind of the case file -> the indicator category a QA officer would ask for
CATEGORY_OF_KIND: dict[str, str] = {
    "neglect_pattern": "neglect",
    "home_alone": "supervision",
    "exploitation": "criminal_exploitation",
    "domestic_abuse": "domestic_abuse",
    "missing_episodes": "missing",
    "school_concerns": "school_attendance",
}
# query kind -> the generator's topics (a family, "neglect", or one topic, "school.concern")
# whose grade-2 documents make a case show the concern
TRUTH_TOPICS: dict[str, tuple[str, ...]] = {
    "neglect_pattern": ("neglect", "home_alone"),
    "home_alone": ("home_alone",),
    "exploitation": ("exploitation",),
    "domestic_abuse": ("da",),
    "missing_episodes": ("missing",),
    "school_concerns": ("school.concern",),
}
# the case-level decision with one part switched off: PatternFinder keyword arguments
ABLATION: dict[str, dict[str, Any]] = {
    "a stated figure alone does not show the concern": {"measures_show": False},
    "topic-only wordings counted as evidence": {"topic_only": False},
    "no measures (stated figures ignored)": {"measures": False},
    "neither (the pattern view before both)": {"topic_only": False, "measures": False},
    "presupposing negations set apart (no further / no longer ...)": {"presupposed": False},
}
REPEATS = 5


def tagged_truth(documents: Iterable[SyntheticDocument]) -> dict[str, set[str]]:
    """Per query kind, the cases holding a document tagged grade 2 for one of its topics."""
    truth: dict[str, set[str]] = {kind: set() for kind in TRUTH_TOPICS}
    for doc in documents:
        strong = {t for t, grade in doc.tags.items() if grade >= 2}
        topics = strong | {topic_family(t) for t in strong}
        for kind, wanted in TRUTH_TOPICS.items():
            if topics & set(wanted):
                truth[kind].add(doc.case_id)
    return truth


def asked_truth(collection: BeirCollection) -> dict[str, set[str]]:
    """Per query kind, the cases holding a grade-2 answer to a question of that kind."""
    case_of = {d.id: d.case_id for d in collection.documents}
    truth: dict[str, set[str]] = {kind: set() for kind in CATEGORY_OF_KIND}
    for query in collection.queries:
        if query.kind in CATEGORY_OF_KIND:
            for doc_id, grade in collection.qrels.get(query.id, {}).items():
                case = case_of.get(doc_id)
                if grade >= 2 and case:
                    truth[query.kind].add(case)
    return truth


def _scores(found: set[str], truth: set[str]) -> dict[str, Any]:
    hits = len(found & truth)
    return {
        "cases": len(found),
        "precision": round(hits / len(found), 3) if found else 0.0,
        "recall": round(hits / len(truth), 3) if truth else 0.0,
        "false_positives": sorted(found - truth),
        "missed": sorted(truth - found),
    }


def evaluate_patterns(
    source: Path,
    store_path: Path,
    embedding_cache: Path,
    *,
    today: dt.date,
    documents: Iterable[SyntheticDocument],
) -> dict[str, Any]:
    """Case-level precision and recall per concern, and latency, as sorted-key-ready JSON.
    ``documents`` are the generated documents with their tags (the truth)."""
    collection = load_collection(source, "test")
    truth = tagged_truth(documents)
    asked = asked_truth(collection)
    embedder = CachedEmbedder(SentenceTransformerEmbedder(), embedding_cache)
    store = RecordStore(store_path)
    try:
        records, _ = collection_records(collection)
        indexer = Indexer(store, embedder, ChunkingConfig(), batch_size=256)
        indexer.apply(records, source=f"beir:{collection.name}")
        searcher = HybridSearcher(store, embedder)
        searcher.warm()
        finder = PatternFinder(searcher)
        scope = AccessScope.of(EVAL_PRINCIPAL)
        rows: dict[str, Any] = {}
        ablation: dict[str, Any] = {}
        for kind, category in CATEGORY_OF_KIND.items():
            row: dict[str, Any] = {
                "category": category,
                "truth_cases": len(truth[kind]),
                "asked_truth_cases": len(asked[kind]),
            }
            for label, weak in (("strong", False), ("all", True)):
                times: list[float] = []
                for _ in range(REPEATS):
                    started = time.perf_counter()
                    result = finder.find(
                        PatternQuery(scope=scope, category=category, include_weak=weak, today=today)
                    )
                    times.append((time.perf_counter() - started) * 1000)
                found = {c.case_id for c in result.cases}
                row[label] = {
                    **_scores(found, truth[kind]),
                    "records": result.total_records,
                    "set_apart_records": result.set_apart_records,
                    "p50_ms": round(percentile(times, 50), 1),
                }
                if label == "strong":
                    row["strong_asked_truth"] = _scores(found, asked[kind])
            rows[kind] = row
            for variant, switches in ABLATION.items():
                other = PatternFinder(searcher, **switches)
                result = other.find(PatternQuery(scope=scope, category=category, today=today))
                found = {c.case_id for c in result.cases}
                ablation.setdefault(variant, {})[kind] = _scores(found, truth[kind])
        return {
            "collection": collection.name,
            "concerns": rows,
            "ablation": ablation,
            "threshold": {
                "min_strong_records": finder.min_strong_records,
                "min_strong_share": finder.min_strong_share,
                "strong_cosine": finder.strong_cosine,
            },
        }
    finally:
        store.close()


def _markdown(report: dict[str, Any]) -> str:
    lines = [
        "| concern (query kind) | truth cases | strong only: cases, P, R | with weaker: cases, "
        "P, R | records counted | set apart | p50 ms | strong only, truth as asked: P, R |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for kind, row in report["concerns"].items():
        s, a, q = row["strong"], row["all"], row["strong_asked_truth"]
        lines.append(
            f"| {row['category']} ({kind}) | {row['truth_cases']} | {s['cases']}, "
            f"{s['precision']:.2f}, {s['recall']:.2f} | {a['cases']}, {a['precision']:.2f}, "
            f"{a['recall']:.2f} | {s['records']} | {s['set_apart_records']} | {s['p50_ms']} | "
            f"{q['precision']:.2f}, {q['recall']:.2f} ({row['asked_truth_cases']} cases) |"
        )
    kinds = list(report["concerns"])
    lines += [
        "",
        "Ablation, strong matches only (P, R):",
        "",
        "| variant | " + " | ".join(kinds) + " |",
        "|---|" + "---|" * len(kinds),
    ]
    full = {k: report["concerns"][k]["strong"] for k in kinds}
    for name, row in [("full decision", full), *report["ablation"].items()]:
        cells = [f"{row[k]['precision']:.2f}, {row[k]['recall']:.2f}" for k in kinds]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
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
        documents=generated.documents,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    markdown = _markdown(report)
    args.out.with_suffix(".md").write_text(markdown, encoding="utf-8")
    print(markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
