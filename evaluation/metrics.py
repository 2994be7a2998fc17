"""Ranking metrics for one query, and their aggregation over queries.

Every metric takes ``ranking`` (document ids, best first, no repeats) and ``judged`` (the qrels
of one query: document id -> integer grade; a grade <= 0 means not relevant) and follows
trec_eval / ir_measures: ``ndcg_at_k`` is ``nDCG@k`` (gain = grade, discount log2(rank + 1),
ideal ranking built from every judged relevant document), ``recall_at_k`` is ``R@k``,
``mrr_at_k`` is ``RR@k`` and ``success_at_k`` is ``Success@k``. A query with no relevant
judgement scores 0 on every metric. A ``ValueError`` is raised when ``k < 1`` or when
``ranking`` repeats a document id.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

MetricName = Literal["ndcg@10", "recall@10", "recall@100", "mrr@10", "success@1"]
METRIC_NAMES: tuple[MetricName, ...] = ("ndcg@10", "recall@10", "recall@100", "mrr@10", "success@1")
"""The report's metrics, in report order."""

DEEPEST_CUTOFF = 100
"""No metric in ``METRIC_NAMES`` looks past this rank."""


def ndcg_at_k(ranking: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    """Normalised discounted cumulative gain of the top ``k`` (linear gain, log2 discount)."""
    top = _top(ranking, k)
    dcg = sum(
        _gain(judged.get(doc_id, 0)) / math.log2(rank + 1)
        for rank, doc_id in enumerate(top, start=1)
    )
    ideal_grades = sorted((grade for grade in judged.values() if grade > 0), reverse=True)[:k]
    ideal = sum(grade / math.log2(rank + 1) for rank, grade in enumerate(ideal_grades, start=1))
    return dcg / ideal if ideal > 0 else 0.0


def recall_at_k(ranking: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    """Share of the relevant documents (grade > 0) found in the top ``k``."""
    top = _top(ranking, k)
    relevant = sum(1 for grade in judged.values() if grade > 0)
    if relevant == 0:
        return 0.0
    return sum(1 for doc_id in top if judged.get(doc_id, 0) > 0) / relevant


def mrr_at_k(ranking: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    """Reciprocal rank of the first relevant document in the top ``k`` (0 when none)."""
    rank = first_relevant_rank(ranking, judged, k)
    return 0.0 if rank is None else 1.0 / rank


def success_at_k(ranking: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    """1.0 when a relevant document is in the top ``k``, else 0.0."""
    return 0.0 if first_relevant_rank(ranking, judged, k) is None else 1.0


def first_relevant_rank(ranking: Sequence[str], judged: Mapping[str, int], k: int) -> int | None:
    """1-based rank of the first relevant document within the top ``k``, or None."""
    for rank, doc_id in enumerate(_top(ranking, k), start=1):
        if judged.get(doc_id, 0) > 0:
            return rank
    return None


def score_query(ranking: Sequence[str], judged: Mapping[str, int]) -> dict[MetricName, float]:
    """Every metric of ``METRIC_NAMES`` for one query, keyed by name."""
    return {
        "ndcg@10": ndcg_at_k(ranking, judged, 10),
        "recall@10": recall_at_k(ranking, judged, 10),
        "recall@100": recall_at_k(ranking, judged, 100),
        "mrr@10": mrr_at_k(ranking, judged, 10),
        "success@1": success_at_k(ranking, judged, 1),
    }


def mean(values: Iterable[float]) -> float:
    """Arithmetic mean; raises ``ValueError`` on no values (an empty mean hides a bug)."""
    items = list(values)
    if not items:
        raise ValueError("mean of no values")
    return math.fsum(items) / len(items)


def mean_scores(rows: Sequence[Mapping[MetricName, float]]) -> dict[MetricName, float]:
    """Per-metric mean over queries (the macro average trec_eval reports as ``all``)."""
    return {name: mean(row[name] for row in rows) for name in METRIC_NAMES}


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) with linear interpolation between closest ranks.

    Same definition as numpy's default (``method="linear"``). Raises ``ValueError`` on no values
    or ``q`` outside [0, 100].
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile {q} is outside [0, 100]")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    fraction = position - lower
    return ordered[lower] + (ordered[upper] - ordered[lower]) * fraction


def _top(ranking: Sequence[str], k: int) -> Sequence[str]:
    if k < 1:
        raise ValueError(f"cutoff k must be >= 1, got {k}")
    if len(set(ranking)) != len(ranking):
        raise ValueError("ranking repeats a document id")
    return ranking[:k]


def _gain(grade: int) -> float:
    return float(grade) if grade > 0 else 0.0
