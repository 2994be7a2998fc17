"""The relevance floor: a query with no good match finds nothing, and says how many matched."""

from __future__ import annotations

import pytest
from factories import make_record

from indexer import Indexer
from retrieval.models import AccessScope, SearchConfig, SearchFilters, SearchRequest
from retrieval.search import HybridSearcher

TEXTS = (
    "The children were playing on the trampoline in the garden when I arrived.",
    "Mum said the safety plan is working and dad has kept to the contact rules.",
    "The school reported that attendance has improved this half term.",
    "Health visitor weighed the baby, who is gaining weight as expected.",
)


@pytest.fixture
def indexed(indexer: Indexer) -> None:
    indexer.apply(
        [make_record(id=f"R{i}", case_id="CASE-1", text=t) for i, t in enumerate(TEXTS)],
        source="t",
    )


def _search(searcher: HybridSearcher, text: str, case: str | None = None) -> tuple[list[str], int]:
    result = searcher.search(
        SearchRequest(
            text=text, scope=AccessScope.of("team:a"), filters=SearchFilters(case_id=case)
        )
    )
    return [h.document_id for h in result.hits], result.total


@pytest.mark.usefixtures("indexed")
@pytest.mark.parametrize(
    "nonsense", ["xylophone zebra saxophone", "asdf qwerty zxcv", "purple elephant orchestra"]
)
def test_nonsense_finds_nothing(searcher: HybridSearcher, nonsense: str) -> None:
    assert _search(searcher, nonsense) == ([], 0)


@pytest.mark.usefixtures("indexed")
def test_one_word_of_nonsense_finds_only_the_record_that_holds_it(
    searcher: HybridSearcher,
) -> None:
    """A record holding "trampoline" may be answered (a word of the query, close enough in
    meaning); nothing else on the page is filled in by meaning alone."""
    ids, total = _search(searcher, "xylophone trampoline zebra")
    assert set(ids) <= {"R0"}
    assert total == len(ids)


@pytest.mark.usefixtures("indexed")
def test_real_questions_are_answered_with_their_total(searcher: HybridSearcher) -> None:
    ids, total = _search(searcher, "children on the trampoline")
    assert ids[0] == "R0"
    ids, total = _search(searcher, "how is the baby's weight")
    assert ids[0] == "R3"
    assert total == len(ids)


@pytest.mark.usefixtures("indexed")
def test_within_one_case_the_file_is_still_ranked(searcher: HybridSearcher) -> None:
    """A social worker in one child's file gets the file ranked, as before (the floor is for
    searches across cases, where a page of weak matches hides that nothing matched)."""
    ids, _ = _search(searcher, "xylophone trampoline zebra", case="CASE-1")
    assert ids[0] == "R0"


@pytest.mark.usefixtures("indexed")
def test_the_floor_can_be_switched_off(searcher: HybridSearcher) -> None:
    unfloored = HybridSearcher(
        searcher.store, searcher.embedder, SearchConfig(relevance_floor=False)
    )
    result = unfloored.search(
        SearchRequest(text="xylophone trampoline zebra", scope=AccessScope.of("team:a"))
    )
    assert len(result.hits) == len(TEXTS)
