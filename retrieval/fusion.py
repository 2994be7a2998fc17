"""Reciprocal rank fusion and chunk-to-record aggregation (pure functions).

RRF (Cormack, Clarke & Büttcher, SIGIR 2009): ``score(d) = Σ_lists w_l / (k + rank_l(d))``
with ranks starting at 1. Only ranks matter, so BM25 and cosine scores need no calibration.
Ties are broken deterministically: higher score, then the better best single rank, then key.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from typing import TypeVar

K = TypeVar("K", bound=Hashable)


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[K]],
    *,
    k: float = 60.0,
    weights: Sequence[float] | None = None,
) -> list[tuple[K, float]]:
    """Fuse ranked lists (best first) into one list of ``(key, score)``, best first.

    A key repeated inside one list counts at its first (best) position only. Raises
    ``ValueError`` when ``k`` is negative or ``weights`` does not match ``rankings``.
    """
    if k < 0:
        raise ValueError("the RRF constant k must not be negative")
    if weights is None:
        weights = [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError("one weight per ranking is required")
    parts: dict[K, list[float]] = {}
    best_rank: dict[K, int] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        seen: set[K] = set()
        for rank, key in enumerate(ranking, start=1):
            if key in seen:
                continue
            seen.add(key)
            parts.setdefault(key, []).append(weight / (k + rank))
            best_rank[key] = min(best_rank.get(key, rank), rank)
    # fsum is exactly rounded, so equal sums tie whatever the order of the lists
    scores = {key: math.fsum(values) for key, values in parts.items()}
    return sorted(scores.items(), key=lambda kv: (-kv[1], best_rank[kv[0]], str(kv[0])))


def convex_combination(
    lexical: dict[K, float],
    dense: dict[K, float],
    *,
    dense_weight: float,
    dense_floor: float = -1.0,
) -> list[tuple[K, float]]:
    """Fuse BM25 scores and cosines into ``(key, score)``, best first, by a convex combination
    of scores normalised by each function's theoretical minimum and the list's maximum
    ("TM2C2", Bruch, Gai & Ingber, *An Analysis of Fusion Functions for Hybrid Retrieval*,
    ACM TOIS 42(1), 2023): ``w·(cos + 1)/(max cos + 1) + (1 − w)·bm25/max bm25``.

    Unlike RRF it keeps how far apart the scores are, so one list that is far more certain
    than the other is not pulled to the middle. A key missing from a list gets that list's
    theoretical minimum (BM25 0, cosine ``dense_floor``). Ties: the lexical score, then key.
    Raises ``ValueError`` when ``dense_weight`` is outside [0, 1].
    """
    if not 0.0 <= dense_weight <= 1.0:
        raise ValueError("the dense weight of a convex combination must lie in [0, 1]")
    top_lexical = max(lexical.values(), default=0.0)
    top_dense = max(dense.values(), default=dense_floor)
    scores: dict[K, float] = {}
    for key in lexical.keys() | dense.keys():
        word = lexical.get(key, 0.0) / top_lexical if top_lexical > 0 else 0.0
        span = top_dense - dense_floor
        meaning = (dense.get(key, dense_floor) - dense_floor) / span if span > 0 else 0.0
        scores[key] = dense_weight * meaning + (1.0 - dense_weight) * word
    return sorted(scores.items(), key=lambda kv: (-kv[1], -lexical.get(kv[0], 0.0), str(kv[0])))


def collapse_to_records(chunk_ranking: Sequence[tuple[int, int]]) -> list[int]:
    """Record keys in the order of their best chunk (``(chunk, record)`` pairs, best first).

    This is max-passage aggregation: a record ranks where its best chunk ranks.
    """
    seen: set[int] = set()
    out: list[int] = []
    for _chunk, record in chunk_ranking:
        if record not in seen:
            seen.add(record)
            out.append(record)
    return out


def with_group_evidence(
    scores: Mapping[K, float],
    group_of: Mapping[K, Hashable | None],
    *,
    weight: float,
    depth: int,
) -> dict[K, float]:
    """Each score mixed with the evidence of its group: ``(1 − weight)·s + weight·G``, where
    ``G`` is the mean of the group's ``depth`` best scores (a group with fewer members counts
    the missing ones as 0; negative scores count as 0). A key whose group is ``None`` is a
    group of its own.

    This is score-based cluster smoothing (the cluster hypothesis: documents that are alike
    tend to be relevant to the same requests; Kurland & Lee, *Corpus structure, language
    models, and ad hoc information retrieval*, SIGIR 2004; Liu & Croft, *Cluster-based
    retrieval using language models*, SIGIR 2004), with a child's case as the cluster: a
    concern recurs through a case, so a record in a case with several strong records for it
    is likelier to show it than an equal record standing alone. The order inside one group
    does not change. Raises ``ValueError`` when ``weight`` is outside [0, 1] or ``depth`` < 1.
    """
    if not 0.0 <= weight <= 1.0:
        raise ValueError("the group evidence weight must lie in [0, 1]")
    if depth < 1:
        raise ValueError("the group evidence depth must be at least 1")
    members: dict[Hashable, list[float]] = {}
    for key, score in scores.items():
        group = group_of.get(key)
        members.setdefault(("key", key) if group is None else ("group", group), []).append(
            max(score, 0.0)
        )
    evidence = {
        group: math.fsum(sorted(values, reverse=True)[:depth]) / depth
        for group, values in members.items()
    }
    out: dict[K, float] = {}
    for key, score in scores.items():
        group = group_of.get(key)
        support = evidence[("key", key) if group is None else ("group", group)]
        out[key] = (1.0 - weight) * score + weight * support
    return out
