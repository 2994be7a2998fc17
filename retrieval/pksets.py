"""Sets of pks (record or chunk primary keys) as ascending arrays of distinct int64.

A question across cases in a big store works on sets of hundreds of thousands of pks (the
records a word matches, those above the relevance floor). Sorting them, as ``np.unique`` and
its kin do, cost more than the rest of such a search; pks are small dense integers, so large
sets are made by marking an array indexed by pk instead, which is linear. Small sets (a search
in one case) keep to sorting, which does not pay for an array the size of the store. Both
ways give the same arrays (``tests/retrieval/test_pksets.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]

BY_MASK_MIN = 4_096
"""From this many pks in all, sets are made by marking an array indexed by pk."""


def _empty() -> IntArray:
    return np.zeros(0, dtype=np.int64)


def _marks(arrays: Sequence[IntArray]) -> npt.NDArray[np.int64]:
    """How many of ``arrays`` hold each pk (indexed by pk; each array counted once per pk
    only when its pks are distinct)."""
    top = max(int(a.max()) for a in arrays if a.size) + 1
    counts = np.zeros(top, dtype=np.int64)
    for a in arrays:
        counts += np.bincount(a, minlength=top)
    return counts


def union(arrays: Sequence[IntArray]) -> IntArray:
    """The distinct pks of ``arrays`` (any order, repeats allowed), ascending."""
    arrays = [np.asarray(a, dtype=np.int64) for a in arrays]
    total = sum(a.size for a in arrays)
    if total == 0:
        return _empty()
    if total < BY_MASK_MIN:
        return np.unique(np.concatenate(arrays)).astype(np.int64)
    marked = np.zeros(max(int(a.max()) for a in arrays if a.size) + 1, dtype=np.bool_)
    for a in arrays:
        marked[a] = True
    return np.flatnonzero(marked).astype(np.int64)


def distinct(values: IntArray) -> IntArray:
    """The distinct pks of ``values``, ascending."""
    return union([values])


def intersection(a: IntArray, b: IntArray) -> IntArray:
    """The pks in both ``a`` and ``b`` (each a set: ascending, distinct), ascending."""
    if a.size == 0 or b.size == 0:
        return _empty()
    if a.size + b.size < BY_MASK_MIN:
        return np.intersect1d(a, b, assume_unique=True).astype(np.int64)
    marked = np.zeros(max(int(a[-1]), int(b[-1])) + 1, dtype=np.bool_)
    marked[a] = True
    return b[marked[b]]


def held_by_at_least(sets: Sequence[IntArray], need: int) -> IntArray:
    """The pks held by at least ``need`` of ``sets`` (each a set), ascending."""
    sets = [s for s in sets if s.size]
    if not sets or need > len(sets):
        return _empty()
    if sum(s.size for s in sets) < BY_MASK_MIN:
        pks, counts = np.unique(np.concatenate(sets), return_counts=True)
        return pks[counts >= need].astype(np.int64)
    return np.flatnonzero(_marks(sets) >= need).astype(np.int64)
