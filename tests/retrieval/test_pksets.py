"""Sets of pks made by marking an array are the sets sorting makes (``retrieval.pksets``).

Search uses whichever is cheaper for the size at hand, so no result may depend on which ran:
each operation is checked with the marking forced against numpy's sorting-based answer.
"""

from __future__ import annotations

from collections.abc import Callable
from unittest import mock

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from retrieval import pksets
from retrieval.pksets import IntArray

_values = st.lists(st.integers(0, 3_000), max_size=60).map(lambda v: np.array(v, dtype=np.int64))
_sets = _values.map(np.unique)


def _both(operation: Callable[..., IntArray], *args: object) -> tuple[IntArray, IntArray]:
    """``operation`` by sorting (the small-set path) and by marking (forced)."""
    with mock.patch.object(pksets, "BY_MASK_MIN", 10**9):
        sorted_way = operation(*args)
    with mock.patch.object(pksets, "BY_MASK_MIN", 0):
        marked_way = operation(*args)
    return sorted_way, marked_way


@given(st.lists(_values, max_size=5))
def test_union_is_numpys_on_both_paths(arrays: list[np.ndarray]) -> None:
    expected = np.unique(np.concatenate(arrays)) if arrays else np.zeros(0, dtype=np.int64)
    for got in _both(pksets.union, arrays):
        assert got.dtype == np.int64
        assert got.tolist() == expected.tolist()


@given(_sets, _sets)
def test_intersection_is_numpys_on_both_paths(a: np.ndarray, b: np.ndarray) -> None:
    expected = np.intersect1d(a, b)
    for got in _both(pksets.intersection, a, b):
        assert got.tolist() == expected.tolist()


@given(st.lists(_sets, max_size=5), st.integers(1, 6))
def test_held_by_at_least_counts_the_sets_holding_each_pk(
    sets: list[np.ndarray], need: int
) -> None:
    expected = sorted(
        pk
        for pk in {int(v) for s in sets for v in s}
        if sum(pk in set(s.tolist()) for s in sets) >= need
    )
    for got in _both(pksets.held_by_at_least, sets, need):
        assert got.tolist() == expected
