"""A hit found by meaning alone quotes the sentence that carries the meaning, not the
chunk's opening; a hit found by its words keeps the sentence holding them."""

from __future__ import annotations

import pytest
from factories import make_record

from indexer import Indexer
from retrieval.models import AccessScope, Hit, SearchFilters, SearchRequest
from retrieval.search import HybridSearcher

WEIGHED = "The health visitor weighed the baby, who has put on 300 grams since the last check."
RECORD = (
    "Visit to the family home on Tuesday afternoon with the student social worker. "
    "The kitchen was tidy and the dog was shut in the garden throughout. "
    f"{WEIGHED} "
    "Mum asked about nursery places for September and was given the leaflet."
)
WORDED = (
    "Phone call with the housing officer about the repair list. "
    "The infant growth chart was brought to the visit and reviewed with mum."
)


@pytest.fixture
def indexed(indexer: Indexer) -> None:
    indexer.apply(
        [
            make_record(id="VISIT", case_id="CASE-1", text=RECORD),
            make_record(id="WORDED", case_id="CASE-1", text=WORDED),
        ],
        source="t",
    )


def _hits(searcher: HybridSearcher, text: str) -> dict[str, Hit]:
    result = searcher.search(
        SearchRequest(
            text=text, scope=AccessScope.of("team:a"), filters=SearchFilters(case_id="CASE-1")
        )
    )
    return {h.document_id: h for h in result.hits}


@pytest.mark.usefixtures("indexed")
def test_meaning_only_hit_quotes_its_nearest_sentence(searcher: HybridSearcher) -> None:
    hits = _hits(searcher, "is the infant gaining enough")
    visit = hits["VISIT"]
    assert visit.snippet.text == WEIGHED
    assert visit.why["snippet"] == "nearest sentence by meaning"
    start, end = visit.snippet.char_start, visit.snippet.char_end
    assert RECORD[start:end] == visit.snippet.text
    assert visit.snippet.highlights == ()


@pytest.mark.usefixtures("indexed")
def test_hit_found_by_its_words_keeps_them(searcher: HybridSearcher) -> None:
    worded = _hits(searcher, "is the infant gaining enough")["WORDED"]
    assert "snippet" not in worded.why
    assert "infant" in worded.snippet.text
    assert worded.snippet.highlights
