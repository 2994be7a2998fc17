"""The indicator library: a valid, cited data file; concepts named in queries; concept search."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace

import pytest
from factories import make_record
from hypothesis import given
from hypothesis import strategies as st

from indexer import Indexer
from retrieval.indicators import (
    LIBRARY_PATH,
    IndicatorLibraryError,
    distinct_signs,
    load_library,
    parse_library,
)
from retrieval.models import AccessScope, SearchFilters, SearchRequest
from retrieval.search import HybridSearcher, query_kind
from retrieval.understanding import understand

LIBRARY_TEXT = LIBRARY_PATH.read_text(encoding="utf-8")


def test_every_category_cites_sources_defined_in_the_file_header() -> None:
    defined = set(re.findall(r"^#\s+\[([\w-]+)\]", LIBRARY_TEXT, flags=re.MULTILINE))
    library = load_library()
    assert len(library.categories) >= 10
    for category in library.categories:
        assert set(category.sources) <= defined, category.id
        assert len(category.exemplars) >= 3, category.id


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("instances of neglect", ["neglect"]),
        ("was she neglected", ["neglect"]),
        ("any DV call outs", ["domestic_abuse"]),
        ("signs of county lines", ["criminal_exploitation"]),
        ("has he gone missing", ["missing"]),
        # names are matched on lemmas: any form of the verb in "go missing"
        ("young people going missing", ["missing"]),
        ("she goes missing at weekends", ["missing"]),
        ("is Maisie a young carer", ["young_carer"]),
        ("concerns about online grooming", ["sexual_exploitation", "online_harm"]),
        ("children left home alone", ["supervision"]),
        # fabricated or induced illness is physical abuse (WT23; RCPCH 2021 names it FII)
        ("any FII concerns", ["physical_abuse"]),
        ("fabricated or induced illness", ["physical_abuse"]),
        ("mum's drinking and mental health", ["parental_mental_health", "substance_misuse"]),
        # "missed appointments" names no concern ("missing" alone is not a name either)
        ("missed GP appointments", []),
        ("current safety plan", []),
        ("discussed in supervision", []),
    ],
)
def test_categories_named_in_a_query(query: str, expected: list[str]) -> None:
    assert [c.id for c in load_library().named_in(query)] == expected


@given(st.text(max_size=200))
def test_named_in_never_raises(text: str) -> None:
    load_library().named_in(text)


@pytest.mark.parametrize(
    ("query", "signs", "expected"),
    [
        ("child hungry or not being fed", 1, ["neglect"]),
        ("head lice and an empty fridge", 2, ["neglect"]),
        ("child hungry or not being fed", 2, []),  # one sign is not two
        ("older men giving a child gifts or lifts", 2, ["sexual_exploitation"]),
        # a sign of two concerns (neglect and supervision) reads as neither
        ("left alone at night", 1, []),
        ("meeting moved to Thursday", 1, []),
        # topic-only wordings show nothing ("home conditions: good")
        ("home conditions", 1, []),
    ],
)
def test_a_concern_described_by_its_signs(query: str, signs: int, expected: list[str]) -> None:
    assert [c.id for c in load_library().described_in(query, signs)] == expected


def test_overlapping_wordings_are_one_sign() -> None:
    exploitation = load_library().get("sexual_exploitation")
    assert exploitation is not None
    assert distinct_signs("older men", exploitation) == 1  # "older man" and "older men"
    assert distinct_signs("older men and gifts", exploitation) == 2


@given(st.text(max_size=200), st.integers(min_value=1, max_value=4))
def test_described_in_never_raises_and_reads_at_most_one(text: str, signs: int) -> None:
    library = load_library()
    found = library.described_in(text, signs)
    assert len(found) <= 1
    for category in found:
        assert distinct_signs(text, category) >= signs


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not toml [", "not valid TOML"),
        ("x = 1", "no [[category]]"),
        ('[[category]]\nid = "Bad Id"', "'id' must be"),
        (
            '[[category]]\nid = "a"\nlabel = "A"\ndefinition = "d"\nsources = ["S"]\n'
            'names = ["a"]\nindicators = []\nexemplars = ["e"]',
            "category 'a': 'indicators' must not be empty",
        ),
    ],
)
def test_a_malformed_library_names_the_problem(text: str, message: str) -> None:
    with pytest.raises(IndicatorLibraryError, match=re.escape(message)):
        parse_library(text)


def test_query_kinds() -> None:
    library = load_library()

    def kind(q: str) -> str:
        reading = understand(q, today=dt.date(2025, 6, 30))
        return query_kind(reading, library.named_in(reading.lexical_query))

    assert kind("current safety plan") == "lookup"
    assert kind("when was she last seen by the GP") == "lookup"
    assert kind("instances of neglect") == "concept"
    assert kind("grandmother collect Amy from school") == "lookup"  # names a school contact
    assert kind("mum's new partner") == "free"
    # a record-type word inside a concern's name is part of the concern ("health")
    assert kind("parents with mental health problems") == "concept"
    assert kind("school attendance concerns") == "concept"


def _home_records(indexer: Indexer) -> None:
    indexer.apply(
        [
            make_record(
                id="EMPTY-FRIDGE",
                case_id="CASE-8",
                title="Unannounced visit",
                text="The fridge and cupboards were empty. Tia said she had not eaten since"
                " yesterday's school lunch and was wearing the same dirty clothes as on Monday.",
            ),
            make_record(
                id="MEETING",
                case_id="CASE-8",
                title="Meeting",
                text="The review meeting was moved to Thursday because the chair was on leave.",
            ),
        ],
        source="t",
    )


def test_a_query_naming_no_concern_is_read_as_the_one_it_means(
    indexer: Indexer, searcher: HybridSearcher
) -> None:
    _home_records(indexer)
    scope = AccessScope.of("team:a")
    result = searcher.search(
        SearchRequest(text="children left with no food in the house", scope=scope)
    )
    assert result.understanding["concepts"] == ["neglect"]
    assert result.understanding["concepts_by"] == "meaning"
    assert result.understanding["kind"] == "concept"
    assert result.hits[0].document_id == "EMPTY-FRIDGE"
    # a query about nothing of the kind keeps its plain reading and the look-up rules
    other = searcher.search(SearchRequest(text="meeting moved to Thursday", scope=scope))
    assert other.understanding["concepts"] == []
    assert other.understanding["kind"] == "free"
    assert other.understanding["concepts_by"] is None
    named = searcher.search(SearchRequest(text="instances of neglect", scope=scope))
    assert named.understanding["concepts_by"] == "name"


def test_a_free_query_holding_a_sign_of_one_concern_is_read_as_it(
    indexer: Indexer, searcher: HybridSearcher
) -> None:
    """Read by its signs only when neither a name nor the meaning reads it: the query's
    vector is far from sexual exploitation's exemplars, but "older men" and "gifts" are
    two of the signs the library lists for it."""
    indexer.apply(
        [
            make_record(
                id="CSE",
                case_id="CASE-7",
                title="Return home interview",
                text="Ruby said two older men from the takeaway give her lifts home and bought"
                " her a new phone; she would not say what they want in return.",
            ),
            make_record(
                id="OTHER",
                case_id="CASE-7",
                title="Meeting",
                text="The review meeting was moved to Thursday because the chair was on leave.",
            ),
        ],
        source="t",
    )
    request = SearchRequest(
        text="older men giving a child gifts or lifts", scope=AccessScope.of("team:a")
    )
    result = searcher.search(request)
    assert result.understanding["concepts"] == ["sexual_exploitation"]
    assert result.understanding["concepts_by"] == "signs"
    assert result.understanding["kind"] == "concept"
    assert result.hits[0].document_id == "CSE"
    unread = HybridSearcher(
        searcher.store, searcher.embedder, replace(searcher.config, concept_by_signs=None)
    ).search(request)
    assert unread.understanding["concepts"] == []
    assert unread.understanding["kind"] == "free"


def test_reading_by_meaning_can_be_switched_off(indexer: Indexer, searcher: HybridSearcher) -> None:
    _home_records(indexer)
    request = SearchRequest(
        text="children left with no food in the house", scope=AccessScope.of("team:a")
    )
    by_signs = HybridSearcher(
        searcher.store, searcher.embedder, replace(searcher.config, concept_by_meaning=None)
    ).search(request)
    # "no food" is a sign of neglect: the query is still read, by its words
    assert by_signs.understanding["concepts_by"] == "signs"
    plain = HybridSearcher(
        searcher.store,
        searcher.embedder,
        replace(searcher.config, concept_by_meaning=None, concept_by_signs=None),
    )
    assert plain.search(request).understanding["concepts"] == []


def test_a_concept_query_finds_records_that_describe_it_without_naming_it(
    indexer: Indexer, searcher: HybridSearcher
) -> None:
    described = make_record(
        id="DESCRIBED",
        case_id="CASE-9",
        title="Home visit",
        text=(
            "The fridge was empty and there was no food in the flat. Both children had"
            " untreated head lice and were wearing dirty clothes that were too small."
        ),
    )
    negated = make_record(
        id="NEGATED",
        case_id="CASE-9",
        title="Review",
        text="No concerns about neglect were raised by the school or the health visitor.",
    )
    unrelated = make_record(
        id="UNRELATED",
        case_id="CASE-9",
        title="Meeting",
        text="The review meeting was moved to Thursday because the chair was on leave.",
    )
    indexer.apply([described, negated, unrelated], source="t")
    result = searcher.search(
        SearchRequest(
            text="instances of neglect",
            scope=AccessScope.of("team:a"),
            filters=SearchFilters(case_id="CASE-9"),
        )
    )
    ids = [h.document_id for h in result.hits]
    assert ids[0] == "DESCRIBED"
    assert ids.index("NEGATED") > ids.index("DESCRIBED")
    assert result.understanding["kind"] == "concept"
    assert result.understanding["concepts"] == ["neglect"]
    assert result.understanding["fusion"] == "convex"  # scores, not ranks: see retrieval.fusion
    # the snippet quotes the evidence, not a sentence that shows nothing, and says how it
    # was read
    assert "head lice" in result.hits[0].snippet.text or "no food" in result.hits[0].snippet.text
    assert result.hits[0].why["concern"]["read_as"] == "affirmed"
    ruled_out = next(h for h in result.hits if h.document_id == "NEGATED")
    assert ruled_out.why["concern"]["read_as"] == "negated"
    assert "not_asserted" in ruled_out.why["boosts"]
