"""TREC run files round-trip and are read the same way by ir_measures."""

from __future__ import annotations

import tempfile
from pathlib import Path

import ir_measures
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ir_measures import R, nDCG

from evaluation.metrics import ndcg_at_k, recall_at_k
from evaluation.runfile import RunFileError, format_run, read_run, write_run

token = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_:.", min_size=1, max_size=12)
scores = st.floats(allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        keys=token,
        values=st.lists(st.tuples(token, scores), max_size=30, unique_by=lambda hit: hit[0]),
        max_size=8,
    )
)
def test_round_trip_keeps_order_and_exact_scores(run: dict[str, list[tuple[str, float]]]) -> None:
    text = format_run(run, tag="hybrid")
    parsed = read_run_text(text)
    assert parsed == {query_id: hits for query_id, hits in run.items() if hits}


def read_run_text(text: str) -> dict[str, list[tuple[str, float]]]:
    # hypothesis cannot share pytest's function-scoped tmp_path: use a throwaway folder.
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "run.trec"
        path.write_text(text, encoding="utf-8")
        return read_run(path)


def test_written_file_has_trec_columns_and_depth_limit(tmp_path: Path) -> None:
    hits = [(f"d{i}", 1.0 - i / 1000) for i in range(150)]
    path = tmp_path / "out" / "run.trec"
    write_run(path, {"q1": hits}, tag="bm25")
    lines = path.read_text().splitlines()
    assert len(lines) == 100
    assert lines[0] == "q1 Q0 d0 1 1.0 bm25"
    assert lines[-1].split()[:4] == ["q1", "Q0", "d99", "100"]
    assert not path.with_name("run.trec.partial").exists()


def test_reader_orders_by_rank_column(tmp_path: Path) -> None:
    path = tmp_path / "run.trec"
    path.write_text("q Q0 b 2 0.5 t\n\nq Q0 a 1 0.9 t\n")
    assert read_run(path) == {"q": [("a", 0.9), ("b", 0.5)]}


def test_ir_measures_reads_our_run_like_we_score_it(tmp_path: Path) -> None:
    judged = {"a": 2, "c": 1, "z": 1}
    hits = [("c", 3.0), ("b", 2.5), ("a", 1.0)]
    path = tmp_path / "run.trec"
    write_run(path, {"q": hits}, tag="t")
    qrels = [ir_measures.Qrel("q", doc_id, grade) for doc_id, grade in judged.items()]
    run = ir_measures.read_trec_run(str(path))  # type: ignore[no-untyped-call]
    results = {m.measure: m.value for m in ir_measures.iter_calc([nDCG @ 10, R @ 10], qrels, run)}
    ranking = [doc_id for doc_id, _ in hits]
    assert results[nDCG @ 10] == pytest.approx(ndcg_at_k(ranking, judged, 10))
    assert results[R @ 10] == pytest.approx(recall_at_k(ranking, judged, 10))


@pytest.mark.parametrize(
    ("run", "message"),
    [
        ({"q 1": [("a", 1.0)]}, "query id"),
        ({"q": [("a b", 1.0)]}, "document id"),
        ({"q": [("a", 1.0), ("a", 0.5)]}, "twice"),
        ({"q": [("a", float("nan"))]}, "score"),
    ],
)
def test_unwritable_runs_are_rejected(
    run: dict[str, list[tuple[str, float]]], message: str
) -> None:
    with pytest.raises(RunFileError, match=message):
        format_run(run, tag="t")


def test_tag_with_space_is_rejected() -> None:
    with pytest.raises(RunFileError, match="tag"):
        format_run({"q": [("a", 1.0)]}, tag="my run")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("q Q0 a 1 0.5\n", r"run\.trec:1: expected"),
        ("q Q0 a 1 0.5 t\nq Q0 b one 0.4 t\n", r"run\.trec:2: rank or score"),
        ("q Q0 a 1 0.5 t\nq Q0 a 2 0.4 t\n", r"run\.trec:2: query 'q' repeats"),
        ("q Q0 a 1 nan t\n", r"run\.trec:1: score 'nan' is not finite"),
    ],
)
def test_bad_run_file_names_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "run.trec"
    path.write_text(text)
    with pytest.raises(RunFileError, match=message):
        read_run(path)
