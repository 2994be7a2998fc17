"""Two evaluations of one collection side by side: did another backend change any ranking?

``casesearch eval`` writes a report (JSON) and one TREC run file per mode. Given two such
evaluations (a baseline, such as the embedded store with the in-memory vectors, and another,
such as the same collection with the dense lists from Qdrant), this reports per mode the
nDCG@10 of each, the queries whose ranking differs (document order over the run's depth) and
those whose top 10 differs, and for each differing query why:

- ``tie``: both list the same documents with scores within ``TIE_EPS`` of each other, and only
  the order among (near-)equal scores changed;
- ``swap``: both list the same documents and the same score at every rank, but some
  documents changed ranks. The run's scores come from ranks (RRF), so the engines ordered two
  near-equal underlying scores differently, and each document took the other's rank score;
- ``score``: some document's score moved by more than ``TIE_EPS`` (the largest move is given);
- ``depth``: the scores agree, but a document entered or left at the bottom of the run.

``python -m evaluation.run_compare --baseline REPORT.json RUN --other REPORT.json RUN
--out COMPARISON.json`` (``RUN`` the ``--run-out`` path of that evaluation: with several modes
the files are ``RUN``'s stem + ``.<mode>``; ``--label`` names the two sides).
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluation.beir_run import run_paths
from evaluation.metrics import mean
from evaluation.runfile import read_run
from retrieval.models import Mode

TIE_EPS = 1e-6
"""Scores closer than this count as equal (two cosine implementations in float32 differ in
the last bits; RRF and ranking rules then see them as ties)."""

Ranking = Sequence[tuple[str, float]]


@dataclass(frozen=True, slots=True)
class Side:
    """One evaluation: its report (as JSON) and its run per mode."""

    label: str
    report: Mapping[str, Any]
    runs: Mapping[Mode, Mapping[str, Ranking]]

    @classmethod
    def load(cls, label: str, report_path: Path, run_out: Path) -> Side:
        report = json.loads(report_path.read_text(encoding="utf-8"))
        modes: list[Mode] = list(report["modes"])
        runs = {mode: read_run(path) for mode, path in run_paths(run_out, modes).items()}
        return cls(label, report, runs)

    def ndcg_at_10(self, mode: Mode) -> float:
        """The mean over the report's queries, unrounded (the report's own figure is rounded
        to four places)."""
        return mean([float(q["ndcg@10"]) for q in self.report["modes"][mode]["per_query"]])


def why_different(base: Ranking, other: Ranking) -> tuple[str, float]:
    """``(reason, largest score move)`` for two different rankings of one query (module
    docstring)."""
    scores = dict(base)
    theirs = dict(other)
    common = scores.keys() & theirs.keys()
    moved = max((abs(scores[d] - theirs[d]) for d in common), default=0.0)
    same_scores = len(base) == len(other) and all(
        abs(a - b) <= TIE_EPS for (_, a), (_, b) in zip(base, other, strict=True)
    )
    if moved > TIE_EPS and scores.keys() == theirs.keys() and same_scores:
        return "swap", moved
    if moved > TIE_EPS:
        return "score", moved
    if scores.keys() != theirs.keys():
        return "depth", moved
    return "tie", moved


def compare(base: Side, other: Side) -> dict[str, Any]:
    """The comparison as JSON-ready data (sorted keys when dumped)."""
    modes: dict[str, Any] = {}
    for mode in base.runs:
        ours, theirs = base.runs[mode], other.runs[mode]
        queries = sorted(ours.keys() | theirs.keys())
        differing: dict[str, Any] = {}
        top10 = 0
        largest = 0.0
        for query in queries:
            a, b = ours.get(query, []), theirs.get(query, [])
            largest = max(largest, why_different(a, b)[1]) if a and b else largest
            if [d for d, _ in a] == [d for d, _ in b]:
                continue
            reason, moved = why_different(a, b)
            first = next(
                (i for i, (x, y) in enumerate(zip(a, b, strict=False), 1) if x[0] != y[0]),
                min(len(a), len(b)) + 1,
            )
            top10 += [d for d, _ in a[:10]] != [d for d, _ in b[:10]]
            differing[query] = {"reason": reason, "first_differing_rank": first, "moved": moved}
        reasons = [d["reason"] for d in differing.values()]
        modes[mode] = {
            "ndcg_at_10": {
                base.label: round(base.ndcg_at_10(mode), 4),
                other.label: round(other.ndcg_at_10(mode), 4),
            },
            "ndcg_at_10_difference": round(other.ndcg_at_10(mode) - base.ndcg_at_10(mode), 6),
            "queries": len(queries),
            "rankings_differing": len(differing),
            "top10_differing": top10,
            "by_reason": {r: reasons.count(r) for r in sorted(set(reasons))},
            "largest_score_move": largest,
            "differing": differing,
        }
    return {
        "collection": base.report["collection"]["name"],
        "sides": {
            side.label: {
                key: side.report["context"].get(key)
                for key in ("backend", "dense_index", "qdrant_points", "embedder", "rrf_k")
            }
            for side in (base, other)
        },
        "tie_eps": TIE_EPS,
        "modes": modes,
    }


def markdown(result: Mapping[str, Any], base: str, other: str) -> str:
    """A short summary table of ``compare``'s result."""
    lines = [
        f"### {result['collection']}: {other} against {base}",
        "",
        f"| mode | nDCG@10 {base} | nDCG@10 {other} | rankings differing | top 10 differing"
        " | why | largest score move |",
        "|---|---|---|---|---|---|---|",
    ]
    for mode, m in result["modes"].items():
        why = ", ".join(f"{n} {r}" for r, n in m["by_reason"].items()) or "-"
        lines.append(
            f"| {mode} | {m['ndcg_at_10'][base]:.4f} | {m['ndcg_at_10'][other]:.4f}"
            f" | {m['rankings_differing']} of {m['queries']} | {m['top10_differing']}"
            f" | {why} | {_small(m['largest_score_move'])} |"
        )
    return "\n".join(lines) + "\n"


def _small(value: float) -> str:
    return "0" if value == 0 else f"{value:.1e}" if math.isfinite(value) else str(value)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation.run_compare")
    parser.add_argument("--baseline", nargs=2, type=Path, required=True, metavar=("REPORT", "RUN"))
    parser.add_argument("--other", nargs=2, type=Path, required=True, metavar=("REPORT", "RUN"))
    parser.add_argument("--label", nargs=2, default=["in-memory", "qdrant"], metavar=("A", "B"))
    parser.add_argument("--out", type=Path, required=True, help="comparison (JSON; .md beside)")
    args = parser.parse_args(argv)
    base = Side.load(args.label[0], *args.baseline)
    other = Side.load(args.label[1], *args.other)
    result = compare(base, other)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    summary = markdown(result, base.label, other.label)
    args.out.with_suffix(".md").write_text(summary, encoding="utf-8")
    print(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
