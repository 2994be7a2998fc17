"""Metrics agree with ir_measures (trec_eval) and with small hand-computed cases."""

from __future__ import annotations

import math

import ir_measures
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ir_measures import RR, R, Success, nDCG

from evaluation.metrics import (
    METRIC_NAMES,
    MetricName,
    first_relevant_rank,
    mean,
    mean_scores,
    mrr_at_k,
    ndcg_at_k,
    percentile,
    recall_at_k,
    score_query,
    success_at_k,
)

IR_MEASURES: dict[MetricName, ir_measures.Measure] = {
    "ndcg@10": nDCG @ 10,
    "recall@10": R @ 10,
    "recall@100": R @ 100,
    "mrr@10": RR @ 10,
    "success@1": Success @ 1,
}


def reference_scores(ranking: list[str], judged: dict[str, int]) -> dict[MetricName, float]:
    """ir_measures on one query; scores strictly decrease by rank so its sort keeps our order."""
    qrels = [ir_measures.Qrel("q", doc_id, grade) for doc_id, grade in judged.items()]
    run = [
        ir_measures.ScoredDoc("q", doc_id, float(len(ranking) - rank))
        for rank, doc_id in enumerate(ranking)
    ]
    by_measure = {
        m.measure: m.value for m in ir_measures.iter_calc(IR_MEASURES.values(), qrels, run)
    }
    # A query absent from the run gets no row from ir_measures: trec_eval counts it as 0.
    return {name: float(by_measure.get(measure, 0.0)) for name, measure in IR_MEASURES.items()}


judged_docs = st.dictionaries(
    keys=st.sampled_from([f"d{i}" for i in range(40)]),
    values=st.integers(min_value=-1, max_value=4),
    min_size=1,
    max_size=40,
)


@st.composite
def query_cases(draw: st.DrawFn) -> tuple[list[str], dict[str, int]]:
    judged = draw(judged_docs)
    pool = [f"d{i}" for i in range(40)] + [f"u{i}" for i in range(120)]
    ranking = draw(st.lists(st.sampled_from(pool), unique=True, max_size=130))
    return ranking, judged


@settings(max_examples=300, deadline=None)
@given(query_cases())
def test_every_metric_matches_ir_measures(case: tuple[list[str], dict[str, int]]) -> None:
    ranking, judged = case
    ours = score_query(ranking, judged)
    expected = reference_scores(ranking, judged)
    for name in METRIC_NAMES:
        assert ours[name] == pytest.approx(expected[name], abs=1e-9), name


def test_graded_ndcg_by_hand() -> None:
    judged = {"a": 3, "b": 2, "c": 0, "d": 1}
    ranking = ["c", "b", "x", "a"]
    dcg = 0 + 2 / math.log2(3) + 0 + 3 / math.log2(5)
    ideal = 3 / math.log2(2) + 2 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(ranking, judged, 10) == pytest.approx(dcg / ideal)
    # The ideal ranking is cut at k too: at k=2 only "a" and "b" make the ideal.
    assert ndcg_at_k(ranking, judged, 2) == pytest.approx(
        (2 / math.log2(3)) / (3 + 2 / math.log2(3))
    )


def test_perfect_ranking_scores_one() -> None:
    judged = {"a": 2, "b": 1}
    assert score_query(["a", "b", "z"], judged) == {name: 1.0 for name in METRIC_NAMES}


def test_recall_mrr_success_by_hand() -> None:
    judged = {"a": 1, "b": 1, "c": 1, "d": 0}
    ranking = ["d", "x", "b", "y", "a"]
    assert recall_at_k(ranking, judged, 3) == pytest.approx(1 / 3)
    assert recall_at_k(ranking, judged, 5) == pytest.approx(2 / 3)
    assert mrr_at_k(ranking, judged, 10) == pytest.approx(1 / 3)
    assert mrr_at_k(ranking, judged, 2) == 0.0
    assert success_at_k(ranking, judged, 1) == 0.0
    assert success_at_k(ranking, judged, 3) == 1.0
    assert first_relevant_rank(ranking, judged, 10) == 3


def test_judged_not_relevant_and_negative_grades_count_as_misses() -> None:
    judged = {"a": 0, "b": -1}
    assert score_query(["a", "b"], judged) == {name: 0.0 for name in METRIC_NAMES}


def test_empty_ranking_scores_zero() -> None:
    assert score_query([], {"a": 1}) == {name: 0.0 for name in METRIC_NAMES}


def test_repeated_document_is_rejected() -> None:
    with pytest.raises(ValueError, match="repeats"):
        ndcg_at_k(["a", "b", "a"], {"a": 1}, 10)


def test_cutoff_below_one_is_rejected() -> None:
    with pytest.raises(ValueError, match="k must be"):
        recall_at_k(["a"], {"a": 1}, 0)


def test_mean_scores_is_the_macro_average() -> None:
    rows = [score_query(["a"], {"a": 1}), score_query(["x"], {"a": 1})]
    assert mean_scores(rows) == {name: 0.5 for name in METRIC_NAMES}


def test_mean_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="no values"):
        mean([])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(min_value=-1e6, max_value=1e6), min_size=1, max_size=50),
    st.floats(min_value=0, max_value=100),
)
def test_percentile_matches_numpy(values: list[float], q: float) -> None:
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)), abs=1e-6)


def test_percentile_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)
    with pytest.raises(ValueError, match="outside"):
        percentile([1.0], 101)
