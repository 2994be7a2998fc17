"""Pseudo-relevance feedback for concept queries: the query's vector moves towards its nearest
chunks among the caller's own records (``SearchConfig.concept_feedback_*``)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from factories import make_record
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from indexer import Indexer
from retrieval.models import AccessScope, SearchRequest
from retrieval.search import HybridSearcher, _towards

NEGLECT_NOTES = (
    "The fridge was empty and the children said they had not eaten since yesterday.",
    "Both children had untreated head lice and were wearing dirty clothes.",
    "The flat was cold, there was no bedding and rubbish covered the kitchen floor.",
    "The review meeting was moved to Thursday because the chair was on leave.",
    "Mum has started a parenting course at the family centre and is enjoying it.",
)
# one record of another team, nearer the question than any of team:a's
HIDDEN = "Neglect: no food in the house, no clean clothes, head lice untreated, nappies unchanged."


def _index(indexer: Indexer, *, with_hidden: bool) -> None:
    # titles are indexed: the same title each time keeps each record's vector the same
    records = [
        make_record(id=f"A-{i}", case_id=f"CASE-{i % 2}", title="Visit", text=t, acl=["team:a"])
        for i, t in enumerate(NEGLECT_NOTES)
    ]
    if with_hidden:
        records.append(
            make_record(id="B-0", case_id="CASE-B", title="Visit", text=HIDDEN, acl=["team:b"])
        )
    indexer.apply(records, source="t")


def _ranking(searcher: HybridSearcher, text: str) -> tuple[list[tuple[str, float]], int]:
    result = searcher.search(SearchRequest(text=text, scope=AccessScope.of("team:a")))
    return [(h.document_id, h.score) for h in result.hits], result.understanding["feedback"]


def test_a_concept_query_is_moved_by_its_nearest_chunks(
    indexer: Indexer, searcher: HybridSearcher
) -> None:
    _index(indexer, with_hidden=False)
    ranking, feedback = _ranking(searcher, "instances of neglect")
    assert feedback == searcher.config.concept_feedback_depth == 3
    assert {doc for doc, _ in ranking[:3]} == {"A-0", "A-1", "A-2"}
    # a question about no concern is not moved
    assert _ranking(searcher, "review meeting moved")[1] == 0
    # and the switch turns it off
    off = HybridSearcher(
        searcher.store, searcher.embedder, replace(searcher.config, concept_feedback_weight=0.0)
    )
    assert _ranking(off, "instances of neglect")[1] == 0


def test_records_a_caller_may_not_see_never_move_her_query(
    indexer: Indexer, searcher: HybridSearcher
) -> None:
    """The hidden record is the nearest chunk of all; team:a's ranking, scores included, is
    the same whether or not it is in the store."""
    _index(indexer, with_hidden=False)
    alone = _ranking(searcher, "instances of neglect")
    _index(indexer, with_hidden=True)
    with_hidden = _ranking(searcher, "instances of neglect")
    assert "B-0" not in [doc for doc, _ in with_hidden[0]]
    assert with_hidden == alone


unit_vectors = arrays(
    np.float32,
    8,
    elements=st.floats(-1, 1, width=32, allow_nan=False, allow_infinity=False),
).filter(lambda v: float(np.linalg.norm(v)) > 1e-3)


@given(unit_vectors, unit_vectors, st.floats(0, 4))
def test_towards_gives_a_unit_vector_between_the_two(
    vector: np.ndarray, direction: np.ndarray, weight: float
) -> None:
    out = _towards(vector, direction, weight)
    norm = float(np.linalg.norm(out))
    if norm == 0:  # the two cancel exactly: nothing to point at
        return
    assert norm == pytest.approx(1.0, abs=1e-4)
    unit = vector / np.linalg.norm(vector)
    toward = direction / np.linalg.norm(direction)
    # never further from the direction than the vector was
    assert float(out @ toward) >= float(unit @ toward) - 1e-4
    if weight == 0:
        assert out == pytest.approx(unit, abs=1e-5)
