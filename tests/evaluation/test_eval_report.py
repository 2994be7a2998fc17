"""Reports: stable JSON with the contract's keys, a markdown summary and a PNG plot."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from evaluation.beir import BeirCollection, BeirDocument, EvalQuery
from evaluation.harness import EvaluationReport, Mode, evaluate
from evaluation.report import render_json, render_markdown, report_to_dict, write_report
from evaluation.timetofind import TimeToFindModel

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def make_report(model: TimeToFindModel | None = None) -> EvaluationReport:
    documents = tuple(
        BeirDocument(id=f"d{i}", title=f"T{i}", text="x", metadata={}) for i in range(5)
    )
    queries = (
        EvalQuery(id="q1", text="neglect", kind="pattern"),
        EvalQuery(id="q2", text="last seen by the GP", case_id="C1"),
    )
    collection = BeirCollection(
        name="mini",
        path=Path("mini"),
        split="test",
        documents=documents,
        queries=queries,
        qrels={"q1": {"d1": 1}, "q2": {"d3": 2, "d4": 1}},
    )

    def search(query: EvalQuery, mode: Mode, /) -> Sequence[tuple[str, float]]:
        order = ["d0", "d1", "d2", "d3", "d4"] if mode == "bm25" else ["d3", "d1", "d4"]
        return [(doc_id, 1 / 3 / (rank + 1)) for rank, doc_id in enumerate(order)]

    ticks = iter(float(i) / 1000 for i in range(1000))
    return evaluate(
        collection,
        search,
        ["bm25", "dense"],
        ttf_model=model or TimeToFindModel(),
        clock=lambda: next(ticks),
        context={"principals": None},
    )


def test_json_has_contract_keys_per_mode_and_kind() -> None:
    data = report_to_dict(make_report())
    for mode in ("bm25", "dense"):
        entry = data["modes"][mode]
        for key in (
            "ndcg@10",
            "recall@10",
            "recall@100",
            "mrr@10",
            "success@1",
            "latency_ms_p50",
            "latency_ms_p95",
            "by_kind",
            "time_to_find",
            "per_query",
        ):
            assert key in entry, (mode, key)
        assert set(entry["by_kind"]) == {"pattern"}
        assert entry["by_kind"]["pattern"]["queries"] == 1
        assert {"search", "browse", "median_ratio", "policy"} <= set(entry["time_to_find"])
    assert data["time_to_find_model"]["seconds_per_character"] == 0.28
    assert "Card, Moran & Newell" in data["time_to_find_model"]["source"]
    assert data["collection"] == {
        "name": "mini",
        "split": "test",
        "documents": 5,
        "visible_documents": 5,
        "queries": 2,
        "unjudged_queries": 0,
    }


def test_json_is_sorted_rounded_and_repeatable() -> None:
    report = make_report()
    text = render_json(report)
    assert text == render_json(report)
    data = json.loads(text)
    assert data["modes"]["bm25"]["mrr@10"] == 0.375  # q1 found at rank 2, q2 at rank 4
    assert list(data) == sorted(data)
    assert list(data["modes"]["bm25"]) == sorted(data["modes"]["bm25"])

    def floats(value: object) -> list[float]:
        if isinstance(value, float):
            return [value]
        if isinstance(value, dict):
            return [f for item in value.values() for f in floats(item)]
        if isinstance(value, list):
            return [f for item in value for f in floats(item)]
        return []

    assert all(round(f, 4) == f for f in floats(data))
    assert data["modes"]["dense"]["per_query"][0]["ndcg@10"] == round(1 / 1.584962500721156, 4)


def test_markdown_shows_modes_kinds_time_to_find_and_model() -> None:
    text = render_markdown(make_report(TimeToFindModel(not_found_penalty_s=300.0)))
    assert "| mode | nDCG@10 | R@10 | R@100 | MRR@10 | S@1 | p50 ms | p95 ms |" in text
    assert "| bm25 | " in text
    assert "| dense | " in text
    assert "## By query kind" in text
    assert "| bm25 | pattern | 1 |" in text
    assert "## Time to find (seconds)" in text
    assert "0.28 s/character" in text
    assert "count as 300 s" in text
    assert "### Where the search time goes" in text
    assert (
        "| kind | found | typing s | waiting s | reading s | opening s | search median s |" in text
    )


def test_write_report_derives_markdown_and_plot_next_to_json(tmp_path: Path) -> None:
    paths = write_report(make_report(), tmp_path / "reports" / "medline.json")
    assert paths.markdown == tmp_path / "reports" / "medline.md"
    assert paths.plot == tmp_path / "reports" / "medline.png"
    assert json.loads(paths.json.read_text())["modes"]["dense"]["queries"] == 2
    assert paths.markdown.read_text().startswith("# Evaluation: mini (test)")
    assert paths.plot.read_bytes().startswith(PNG_SIGNATURE)


def test_write_report_honours_explicit_paths(tmp_path: Path) -> None:
    paths = write_report(
        make_report(),
        tmp_path / "r.json",
        markdown_path=tmp_path / "summary" / "s.md",
        plot_path=tmp_path / "plots" / "p.png",
    )
    assert paths.markdown.is_file()
    assert paths.plot.is_file()
    assert not (tmp_path / "r.md").exists()
