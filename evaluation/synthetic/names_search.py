"""Search with a child's name and no case filter, before and after names resolve.

The judged per-case questions of the synthetic case file that name the child ("when did Kai
last see a doctor"), as written and with the name misspelt, are searched as the case's team
(``team:<team>``) without a case filter, on two stores of the same records: one indexed
without ``subjects`` (before: the name is only a word) and one with them (after: the name
scopes the search to the child's case). The same questions with the case filter are the
ceiling. Per run: the share of questions whose first result is in the child's case, and
success@1 (the first result is a grade-2 answer).

Run: ``python -m evaluation.synthetic.names_search [--cases 40] [--seed 7] [--data-dir data]
[--out FILE.json]`` (embeddings are cached in ``<data-dir>/embedding-cache.sqlite3``).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from connectors.record import Record, parse_record
from evaluation.synthetic.collection import DEFAULT_CASES, DEFAULT_SEED, build_collection
from evaluation.synthetic.names import misspell
from indexer import Indexer
from retrieval.chunking import ChunkingConfig
from retrieval.embedding import CachedEmbedder, SentenceTransformerEmbedder
from retrieval.models import AccessScope, SearchFilters, SearchRequest
from retrieval.search import HybridSearcher
from retrieval.store import RecordStore


@dataclass(frozen=True, slots=True)
class _Question:
    text: str
    case_id: str
    team: str
    form: str
    answers: frozenset[str]  # grade-2 document ids


def _questions(seed: int, n_cases: int) -> tuple[list[Record], list[Record], list[_Question]]:
    collection = build_collection(seed=seed, n_cases=n_cases)
    rng = random.Random(f"casesearch-names-search:{seed}")
    cases = {c.case_id: c for c in collection.cases}
    out: list[_Question] = []
    for q in collection.queries:
        if q.case_id is None:
            continue
        case = cases[q.case_id]
        first = case.child.first
        pattern = re.compile(rf"\b{re.escape(first)}\b")
        if not pattern.search(q.text):
            continue
        answers = frozenset(d for d, g in q.judgements.items() if g == 2)
        out.append(_Question(q.text, q.case_id, case.team, "as_written", answers))
        slip = pattern.sub(misspell(rng, first), q.text, count=1)
        out.append(_Question(slip, q.case_id, case.team, "misspelt", answers))
    with_subjects = [parse_record(d.record()) for d in collection.documents]
    without = [
        parse_record({k: v for k, v in d.record().items() if k != "subjects"})
        for d in collection.documents
    ]
    return without, with_subjects, out


def _searcher(path: Path, records: list[Record], embedder: CachedEmbedder) -> HybridSearcher:
    if path.parent.exists():
        shutil.rmtree(path.parent)
    store = RecordStore(path)
    Indexer(store, embedder, ChunkingConfig()).apply(records, source="synthetic")
    return HybridSearcher(store, embedder)


def _run(
    searcher: HybridSearcher, questions: Sequence[_Question], *, case_filter: bool
) -> dict[str, dict[str, float]]:
    by_form: dict[str, dict[str, float]] = {}
    for form in ("as_written", "misspelt"):
        chosen = [q for q in questions if q.form == form]
        in_case = right = 0
        for q in chosen:
            result = searcher.search(
                SearchRequest(
                    text=q.text,
                    scope=AccessScope.of(f"team:{q.team}"),
                    filters=SearchFilters(case_id=q.case_id if case_filter else None),
                    top_k=10,
                )
            )
            top = result.hits[0] if result.hits else None
            in_case += int(top is not None and top.case_id == q.case_id)
            right += int(top is not None and top.document_id in q.answers)
        n = len(chosen)
        by_form[form] = {
            "n": n,
            "top1_in_case": round(in_case / n, 4) if n else 0.0,
            "success_at_1": round(right / n, 4) if n else 0.0,
        }
    return by_form


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="search with a child's name, no case filter")
    parser.add_argument("--cases", type=int, default=DEFAULT_CASES)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    without, with_subjects, questions = _questions(args.seed, args.cases)
    embedder = CachedEmbedder(
        SentenceTransformerEmbedder(), args.data_dir / "embedding-cache.sqlite3"
    )
    scratch = args.data_dir / "eval" / f"names-seed{args.seed}-cases{args.cases}"
    before = _searcher(scratch / "without" / "store.sqlite3", without, embedder)
    after = _searcher(scratch / "with" / "store.sqlite3", with_subjects, embedder)
    report = {
        "seed": args.seed,
        "cases": args.cases,
        "questions": len(questions),
        "before_no_case_filter": _run(before, questions, case_filter=False),
        "after_no_case_filter": _run(after, questions, case_filter=False),
        "with_case_filter": _run(after, questions, case_filter=True),
    }
    text = json.dumps(report, indent=2, sort_keys=True)
    if args.out is not None:
        args.out.write_text(text + "\n")
    sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
