"""Comparing two evaluations' runs: equal runs differ nowhere; a swap of equal scores is a
tie, a moved score is a score difference, a document at the run's bottom edge is depth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evaluation.run_compare import Side, compare, main, why_different
from evaluation.runfile import write_run


def test_a_swap_among_equal_scores_is_a_tie() -> None:
    base = [("a", 0.5), ("b", 0.5), ("c", 0.1)]
    assert why_different(base, [("b", 0.5 + 1e-9), ("a", 0.5), ("c", 0.1)])[0] == "tie"


def test_a_moved_score_is_named_with_its_size() -> None:
    reason, moved = why_different([("a", 0.5), ("b", 0.4)], [("b", 0.6), ("a", 0.5)])
    assert reason == "score"
    assert moved == 0.19999999999999996


def test_two_documents_exchanging_rank_scores_are_a_swap() -> None:
    base = [("a", 1 / 61), ("b", 1 / 62), ("c", 1 / 63)]
    assert why_different(base, [("b", 1 / 61), ("a", 1 / 62), ("c", 1 / 63)])[0] == "swap"


def test_a_document_entering_at_the_bottom_is_depth() -> None:
    assert why_different([("a", 0.5), ("b", 0.4)], [("a", 0.5), ("c", 0.4)])[0] == "depth"


def _report(ndcg: list[float]) -> dict[str, Any]:
    per_query = [{"query_id": f"q{i}", "ndcg@10": v} for i, v in enumerate(ndcg)]
    return {
        "collection": {"name": "tiny"},
        "context": {"backend": "embedded-sqlite", "dense_index": "in-memory"},
        "modes": {"dense": {"per_query": per_query}},
    }


def test_the_cli_counts_differing_queries_and_writes_json_and_markdown(tmp_path: Path) -> None:
    runs = {
        "a": {"q0": [("d1", 0.9), ("d2", 0.8)], "q1": [("d3", 0.7), ("d4", 0.7)]},
        "b": {"q0": [("d1", 0.9), ("d2", 0.8)], "q1": [("d4", 0.7), ("d3", 0.7)]},
    }
    for side, run in runs.items():
        write_run(tmp_path / f"{side}.run", run, tag="t")
        (tmp_path / f"{side}.json").write_text(json.dumps(_report([1.0, 0.5])))
    args = ["--baseline", str(tmp_path / "a.json"), str(tmp_path / "a.run")]
    args += ["--other", str(tmp_path / "b.json"), str(tmp_path / "b.run")]
    assert main([*args, "--out", str(tmp_path / "cmp.json")]) == 0
    result = json.loads((tmp_path / "cmp.json").read_text())
    dense = result["modes"]["dense"]
    assert (dense["rankings_differing"], dense["top10_differing"]) == (1, 1)
    assert dense["differing"]["q1"] == {"reason": "tie", "first_differing_rank": 1, "moved": 0.0}
    assert dense["ndcg_at_10"] == {"in-memory": 0.75, "qdrant": 0.75}
    assert (
        "| dense | 0.7500 | 0.7500 | 1 of 2 | 1 | 1 tie | 0 |" in (tmp_path / "cmp.md").read_text()
    )
    same = Side.load("x", tmp_path / "a.json", tmp_path / "a.run")
    assert compare(same, same)["modes"]["dense"]["rankings_differing"] == 0
