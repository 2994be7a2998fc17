"""Case evidence for a concept query across cases: each record's score is mixed with the best
scores of its case (``retrieval.fusion.with_group_evidence``, ``SearchConfig.case_evidence_*``),
counted over the caller's own records only."""

from __future__ import annotations

from dataclasses import replace

import pytest
from factories import make_record
from hypothesis import given
from hypothesis import strategies as st

from indexer import Indexer
from retrieval.fusion import with_group_evidence
from retrieval.models import AccessScope, SearchFilters, SearchRequest
from retrieval.search import HybridSearcher

scores = st.dictionaries(
    st.sampled_from("abcdefghijkl"),
    st.floats(-1, 1, allow_nan=False, allow_infinity=False),
    min_size=1,
)
groups = st.sampled_from(["x", "y", "z", None])


@given(scores, st.data(), st.floats(0, 1), st.integers(1, 5))
def test_the_order_inside_a_case_never_changes(
    given_scores: dict[str, float], data: st.DataObject, weight: float, depth: int
) -> None:
    group_of = {k: data.draw(groups) for k in given_scores}
    mixed = with_group_evidence(given_scores, group_of, weight=weight, depth=depth)
    assert mixed.keys() == given_scores.keys()
    for a in given_scores:
        for b in given_scores:
            same_case = group_of[a] is not None and group_of[a] == group_of[b]
            if same_case and given_scores[a] > given_scores[b]:
                assert mixed[a] >= mixed[b] - 1e-12


@given(scores, st.data(), st.integers(1, 5))
def test_weight_zero_leaves_every_score_as_it_was(
    given_scores: dict[str, float], data: st.DataObject, depth: int
) -> None:
    group_of = {k: data.draw(groups) for k in given_scores}
    mixed = with_group_evidence(given_scores, group_of, weight=0.0, depth=depth)
    assert mixed == pytest.approx(given_scores)


def test_a_record_in_a_case_that_keeps_showing_the_concern_rises() -> None:
    # equal scores: the record whose case holds two more strong records goes first
    given_scores = {"lone": 0.6, "a1": 0.6, "a2": 0.9, "a3": 0.8}
    group_of: dict[str, str | None] = {
        "lone": "CASE-2",
        "a1": "CASE-1",
        "a2": "CASE-1",
        "a3": "CASE-1",
    }
    mixed = with_group_evidence(given_scores, group_of, weight=0.2, depth=3)
    assert mixed["a1"] > mixed["lone"]
    # CASE-1's evidence is the mean of its three best, CASE-2's counts two missing as 0
    assert mixed["a1"] == pytest.approx(0.8 * 0.6 + 0.2 * (0.9 + 0.8 + 0.6) / 3)
    assert mixed["lone"] == pytest.approx(0.8 * 0.6 + 0.2 * 0.6 / 3)
    # a record filed under no case is a case of its own
    alone = with_group_evidence({"n": 0.6, "m": 0.6}, {"n": None, "m": None}, weight=0.2, depth=3)
    assert alone["n"] == alone["m"] == pytest.approx(0.8 * 0.6 + 0.2 * 0.2)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="weight"):
        with_group_evidence({"a": 1.0}, {"a": None}, weight=1.5, depth=3)
    with pytest.raises(ValueError, match="depth"):
        with_group_evidence({"a": 1.0}, {"a": None}, weight=0.2, depth=0)


NOTES = {
    "CASE-1": (
        "The fridge was empty and the children said they had not eaten since yesterday.",
        "Both children had untreated head lice and were wearing dirty clothes.",
        "The flat was cold, there was no bedding and rubbish covered the kitchen floor.",
    ),
    "CASE-2": (
        "The children were hungry at school and their uniform was unwashed.",
        "Mum has started a parenting course at the family centre and is enjoying it.",
    ),
}
# another team's record in a case team:a sees, and a strong one for the question
HIDDEN = "Neglect: no food in the house, no clean clothes, head lice untreated, nappies unchanged."


def _index(indexer: Indexer, *, with_hidden: bool) -> None:
    records = [
        make_record(id=f"{case}-{i}", case_id=case, title="Visit", text=text, acl=["team:a"])
        for case, texts in NOTES.items()
        for i, text in enumerate(texts)
    ]
    if with_hidden:
        records.append(
            make_record(id="B-0", case_id="CASE-2", title="Visit", text=HIDDEN, acl=["team:b"])
        )
    indexer.apply(records, source="t")


def _search(
    searcher: HybridSearcher, case_id: str | None = None
) -> tuple[list[tuple[str, float]], bool]:
    result = searcher.search(
        SearchRequest(
            text="instances of neglect",
            scope=AccessScope.of("team:a"),
            filters=SearchFilters(case_id=case_id),
        )
    )
    return [(h.document_id, h.score) for h in result.hits], result.understanding["case_evidence"]


def test_a_concept_query_across_cases_weighs_each_case_and_the_switch_turns_it_off(
    indexer: Indexer, searcher: HybridSearcher
) -> None:
    _index(indexer, with_hidden=False)
    ranked, applied = _search(searcher)
    assert applied
    off = HybridSearcher(
        searcher.store, searcher.embedder, replace(searcher.config, case_evidence_weight=0.0)
    )
    plain, applied_off = _search(off)
    assert not applied_off
    assert {doc for doc, _ in ranked} == {doc for doc, _ in plain}
    # inside one case the order is the one without case evidence
    for case in NOTES:
        assert [d for d, _ in ranked if d.startswith(case)] == [
            d for d, _ in plain if d.startswith(case)
        ]
    # one case's records: there is nothing to weigh them against
    assert not _search(searcher, case_id="CASE-1")[1]


def test_a_record_the_caller_may_not_see_never_lends_its_case_evidence(
    indexer: Indexer, searcher: HybridSearcher
) -> None:
    """The hidden record sits in CASE-2 and matches the question better than any of team:a's;
    team:a's ranking, scores included, is the same whether or not it is in the store."""
    _index(indexer, with_hidden=False)
    alone = _search(searcher)
    _index(indexer, with_hidden=True)
    with_hidden = _search(searcher)
    assert "B-0" not in [doc for doc, _ in with_hidden[0]]
    assert with_hidden == alone
