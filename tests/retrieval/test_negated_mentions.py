"""Records that mention what was asked only in negated clauses go below those that report it.

"No concerns about neglect" is not an instance of neglect; but a record is its title as well
as its text, and a title is never inside a negated clause of the text.
"""

from __future__ import annotations

import pytest
from factories import make_record
from hypothesis import given
from hypothesis import strategies as st

from indexer import Indexer
from retrieval import analysis
from retrieval.models import AccessScope, SearchRequest
from retrieval.negation import mentions_only_negated, negated_offsets, term_polarity
from retrieval.search import HybridSearcher


@pytest.mark.parametrize(
    ("text", "only_negated"),
    [
        ("No concerns about neglect were raised.", True),
        ("Neglect of the home. No concerns about school.", False),
        ("Concerns about neglect, but no injuries.", False),
        ("Mum denied any neglect.", False),  # reported speech, not an absence
        ("Nothing to report.", False),  # no query term at all
    ],
)
def test_negated_mentions(text: str, only_negated: bool) -> None:
    assert mentions_only_negated(text, frozenset({"neglect"})) is only_negated


_WORDS = [
    "no",
    "not",
    "never",
    "neglect",
    "Mum's",
    "ruled",
    "out",
    "free",
    "from",
    "but",
    "injury",
    "hit",
    "drinks",
    "A&E",
    "didn't",
    "s.47",
    ",",
    ".",
    "\n",
    "  ",
]


@given(st.lists(st.sampled_from(_WORDS), max_size=30).map(" ".join))
def test_each_terms_polarity_is_read_from_its_words_and_their_scopes(text: str) -> None:
    """One spaCy pass gives what the two definitions give: a term is positive when one of
    its words lies outside every negation scope."""
    negated = negated_offsets(text)
    expected: dict[str, bool] = {}
    for token in analysis.tokens(text):
        expected[token.term] = expected.get(token.term, False) or token.start not in negated
    assert term_polarity(text) == expected


def test_a_match_in_the_title_is_not_a_negated_mention(
    indexer: Indexer, searcher: HybridSearcher
) -> None:
    strategy = make_record(
        title="Strat discussion",
        doc_type="strategy_discussion",
        text="Held at the MASH. Agreed to start section 47 enquiries; mum did not meet the "
        "social worker last week.",
    )
    others = [
        make_record(
            title=f"Visit {n}",
            doc_type="visit_note",
            text=f"Visit {n}: the plan from the strategy discussion was reviewed with mum.",
        )
        for n in range(3)
    ]
    indexer.apply([strategy, *others], source="t")
    result = searcher.search(
        SearchRequest(
            text="what did the strategy meeting decide",
            scope=AccessScope.of("team:a"),
            mode="bm25",
            understand=True,
        )
    )
    top = result.hits[0]
    assert top.document_id == strategy.id
    assert "negated_mentions_only" not in top.why["boosts"]
