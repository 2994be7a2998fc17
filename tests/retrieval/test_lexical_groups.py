"""Added wordings of several words match as a group of nearby terms, never word by word.

"GP" brings "general practitioner": a record about "Kelsham General Hospital" must not match it
through "general" alone, while "practitioner, general" or "nurse at the GP practice" still do.
"""

from __future__ import annotations

import sqlite3

import pytest
from factories import make_record
from hypothesis import given
from hypothesis import strategies as st

from indexer import Indexer
from retrieval.lexical import GROUP_SLACK, match_expression, single_terms
from retrieval.models import AccessScope, SearchRequest
from retrieval.search import HybridSearcher

WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
FILLER = "zulu"


def _matches(expression: str, text: str) -> bool:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(body)")
    conn.execute("INSERT INTO t VALUES (?)", (text,))
    (found,) = conn.execute("SELECT count(*) FROM t WHERE t MATCH ?", (expression,)).fetchone()
    return int(found) == 1


def test_expression_quotes_single_terms_and_groups_each_once() -> None:
    groups = [("police",), ("general", "practitioner"), ("police",), ()]
    assert match_expression(groups) == (
        f'"police" OR NEAR("general" "practitioner", {GROUP_SLACK})'
    )
    assert match_expression([]) is None
    assert match_expression([()]) is None
    assert single_terms(["a", "b"]) == [("a",), ("b",)]


@given(
    group=st.lists(st.sampled_from(WORDS), min_size=2, max_size=4, unique=True),
    data=st.data(),
)
def test_a_group_matches_in_any_order_within_the_slack(
    group: list[str], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(group))
    gaps = data.draw(st.lists(st.integers(0, 3), min_size=len(group), max_size=len(group)))
    words: list[str] = []
    for i, word in enumerate(shuffled):
        if i:
            words += [FILLER] * gaps[i - 1]
        words.append(word)
    inserted = sum(gaps[: len(group) - 1])
    expression = match_expression([tuple(group)])
    assert expression is not None
    assert _matches(expression, " ".join(["start", *words, "end"])) == (inserted <= GROUP_SLACK)


@given(group=st.lists(st.sampled_from(WORDS), min_size=2, max_size=4, unique=True))
def test_a_group_never_matches_with_a_term_missing(group: list[str]) -> None:
    expression = match_expression([tuple(group)])
    assert expression is not None
    for missing in group:
        assert not _matches(expression, " ".join(w for w in group if w != missing))


@pytest.fixture
def gp_and_hospital(indexer: Indexer) -> dict[str, str]:
    records = {
        "hospital": make_record(
            title="A&E attendance",
            text="Jay attended Kelsham General Hospital after a fall in the park. Discharged.",
            doc_type="health_contact",
            created_at="2024-05-01",
        ),
        "surgery": make_record(
            title="Health update",
            text="Jay was seen by the practice nurse at Peel Avenue Surgery for his asthma review.",
            doc_type="health_contact",
            created_at="2024-03-01",
        ),
    }
    indexer.apply(list(records.values()), source="t")
    return {name: r.id for name, r in records.items()}


def test_an_expansion_does_not_match_on_one_of_its_words(
    searcher: HybridSearcher, gp_and_hospital: dict[str, str]
) -> None:
    result = searcher.search(
        SearchRequest(
            text="GP",
            scope=AccessScope.of("team:a"),
            mode="bm25",
            understand=True,
        )
    )
    ids = [hit.document_id for hit in result.hits]
    assert ids == [gp_and_hospital["surgery"]]
    top = result.hits[0]
    assert {"practice", "nurse", "surgery"} <= set(top.why["matched_terms"])
    assert "general" not in top.why["matched_terms"]
