"""How a search is asked of Qdrant: the caller's principals and filters (``Scope``) as a
Qdrant filter, the dense and sparse (BM25, IDF over the caller's visible set) requests made
with it, and their answers as ``Candidate``s in a stable order. The design is in
``retrieval.qdrant_index``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from qdrant_client import models

from retrieval.qdrant_points import DENSE, SPARSE, query_sparse


@dataclass(frozen=True, slots=True)
class Scope:
    """Who asks and what they filter on: the caller's principals (``user:<sub>`` included)
    and the search's filters."""

    principals: frozenset[str]
    case_ids: tuple[str, ...] = ()
    doc_types: tuple[str, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Candidate:
    """One chunk of a candidate list and its score (cosine, BM25 or, fused, RRF)."""

    record_id: str
    ordinal: int
    score: float


def scope_filter(scope: Scope) -> models.Filter | None:
    """The records ``scope`` may see and asks for, as a Qdrant filter: some principal in
    ``allow``, none in ``deny`` (DESIGN.md), and the filters. None when nothing can match (no
    principals)."""
    if not scope.principals:
        return None
    held = sorted(scope.principals)
    must: list[models.Condition] = [
        models.FieldCondition(key="allow", match=models.MatchAny(any=held))
    ]
    if scope.case_ids:
        must.append(
            models.FieldCondition(key="case_id", match=models.MatchAny(any=list(scope.case_ids)))
        )
    if scope.doc_types:
        must.append(
            models.FieldCondition(key="doc_type", match=models.MatchAny(any=list(scope.doc_types)))
        )
    if scope.date_from or scope.date_to:
        must.append(
            models.FieldCondition(
                key="day",
                range=models.Range(
                    gte=scope.date_from.toordinal() if scope.date_from else None,
                    lte=scope.date_to.toordinal() if scope.date_to else None,
                ),
            )
        )
    return models.Filter(
        must=must,
        must_not=[models.FieldCondition(key="deny", match=models.MatchAny(any=held))],
    )


def dense_request(vector: np.ndarray, allowed: models.Filter, limit: int) -> models.QueryRequest:
    return models.QueryRequest(
        query=vector.astype(np.float32).tolist(),
        using=DENSE,
        filter=allowed,
        limit=limit,
        with_payload=["record_id", "ordinal"],
    )


def sparse_request(terms: Sequence[str], allowed: models.Filter, limit: int) -> models.QueryRequest:
    return models.QueryRequest(
        query=query_sparse(terms),
        using=SPARSE,
        filter=allowed,
        params=_idf_over(allowed),
        limit=limit,
        with_payload=["record_id", "ordinal"],
    )


def _idf_over(corpus: models.Filter) -> models.SearchParams:
    return models.SearchParams(idf=models.IdfCorpusParams(corpus=corpus))


def candidates(points: Sequence[models.ScoredPoint]) -> list[Candidate]:
    """Best first; equal scores by record id and ordinal (not the engine's internal order)."""
    out = []
    for p in points:
        payload = p.payload or {}
        out.append(Candidate(str(payload["record_id"]), int(payload["ordinal"]), float(p.score)))
    return sorted(out, key=lambda c: (-c.score, c.record_id, c.ordinal))
