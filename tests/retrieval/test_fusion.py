from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from retrieval.fusion import collapse_to_records, convex_combination, reciprocal_rank_fusion


def test_rrf_rewards_agreement_between_lists() -> None:
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "a", "d"]], k=60)
    keys = [k for k, _ in fused]
    assert keys[:2] == ["a", "b"]  # equal scores: a wins on its best rank, then key
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)
    assert set(keys) == {"a", "b", "c", "d"}


def test_rrf_weights_and_duplicate_keys_count_once_per_list() -> None:
    fused = dict(reciprocal_rank_fusion([["x", "x", "y"]], k=0))
    assert fused == {"x": 1.0, "y": 1 / 3}
    weighted = reciprocal_rank_fusion([["a"], ["b"]], k=1, weights=[1.0, 3.0])
    assert [k for k, _ in weighted] == ["b", "a"]


def test_rrf_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="negative"):
        reciprocal_rank_fusion([["a"]], k=-1)
    with pytest.raises(ValueError, match="one weight"):
        reciprocal_rank_fusion([["a"]], weights=[1.0, 2.0])


rankings = st.lists(st.lists(st.sampled_from("abcdefghij"), max_size=10), max_size=4)


@given(rankings, st.floats(min_value=0, max_value=200))
def test_rrf_is_deterministic_and_sorted(lists: list[list[str]], k: float) -> None:
    first = reciprocal_rank_fusion(lists, k=k)
    assert first == reciprocal_rank_fusion([list(x) for x in lists], k=k)
    scores = [s for _, s in first]
    assert scores == sorted(scores, reverse=True)
    assert {key for key, _ in first} == {key for lst in lists for key in lst}


@given(rankings)
def test_rrf_ignores_the_order_of_the_lists(lists: list[list[str]]) -> None:
    forward = reciprocal_rank_fusion(lists)
    backward = reciprocal_rank_fusion(list(reversed(lists)))
    assert [k for k, _ in forward] == [k for k, _ in backward]


def test_collapse_keeps_each_record_at_its_best_chunk() -> None:
    assert collapse_to_records([(10, 1), (11, 2), (12, 1), (13, 3)]) == [1, 2, 3]


def test_equal_sums_tie_whatever_the_order_of_the_lists() -> None:
    """1/61 + 1/61 + 1/63 and 1/61 + 1/63 + 1/61 differ in the last bit when added in order."""
    lists = [["b"], ["c"], ["b", "a", "c"], ["c", "a", "b"]]
    forward = reciprocal_rank_fusion(lists)
    backward = reciprocal_rank_fusion(list(reversed(lists)))
    assert forward == backward
    assert forward[0][1] == forward[1][1]  # b and c tie on score and best rank: key order
    assert [key for key, _ in forward] == ["b", "c", "a"]


def test_convex_keeps_one_list_s_certainty_where_rrf_counts_votes() -> None:
    # the dense list is sure of "c"; BM25 barely tells "a" from "b" and never matched "c"
    dense = {"c": 0.9, "a": 0.1, "b": 0.1}
    lexical = {"a": 10.0, "b": 9.9}
    fused = convex_combination(lexical, dense, dense_weight=0.8)
    assert fused[0][0] == "c"  # RRF would rank "a" first: two lists against one
    assert reciprocal_rank_fusion([["a", "b"], ["c", "a", "b"]], k=60)[0][0] == "a"


def test_convex_scores_follow_tm2c2_normalisation() -> None:
    fused = dict(convex_combination({"a": 8.0, "b": 2.0}, {"a": 0.6, "c": 0.2}, dense_weight=0.8))
    assert fused["a"] == pytest.approx(1.0)  # top of both lists
    assert fused["b"] == pytest.approx(0.2 * 2 / 8)  # missing from dense: cosine -1, i.e. 0
    assert fused["c"] == pytest.approx(0.8 * 1.2 / 1.6)
    assert convex_combination({}, {}, dense_weight=0.5) == []
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        convex_combination({"a": 1.0}, {}, dense_weight=1.5)


scores = st.dictionaries(st.sampled_from("abcdefgh"), st.floats(0, 50), max_size=8)
cosines = st.dictionaries(st.sampled_from("abcdefgh"), st.floats(-1, 1), max_size=8)


@given(scores, cosines, st.floats(0, 1))
def test_convex_is_bounded_sorted_and_covers_both_lists(
    lexical: dict[str, float], dense: dict[str, float], weight: float
) -> None:
    fused = convex_combination(lexical, dense, dense_weight=weight)
    assert {k for k, _ in fused} == lexical.keys() | dense.keys()
    values = [s for _, s in fused]
    assert values == sorted(values, reverse=True)
    assert all(-1e-9 <= s <= 1 + 1e-9 for s in values)
    assert fused == convex_combination(dict(lexical), dict(dense), dense_weight=weight)
