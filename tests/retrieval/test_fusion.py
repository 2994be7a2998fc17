from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from retrieval.fusion import collapse_to_records, reciprocal_rank_fusion


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
