"""The pattern view: cases that show a concern, counted over what the caller may see only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from factories import make_record
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.record import Record
from indexer import Indexer
from retrieval.chunking import ChunkingConfig
from retrieval.embedding import Embedder
from retrieval.errors import InvalidQueryError
from retrieval.models import AccessScope, SearchFilters
from retrieval.patterns import PatternFinder, PatternQuery, PatternResult
from retrieval.search import HybridSearcher
from retrieval.store import RecordStore

TEAMS = ("team:north", "team:south", "team:east")
NEGLECT = (
    "There was no food in the house and the fridge was empty.",
    "Both children had untreated head lice and dirty clothes.",
    "The home conditions were poor with rubbish on the floor and no heating.",
    "She has missed three dental appointments and has severe tooth decay.",
)
NEGATED = "There were no concerns about neglect; the home was clean and well stocked."
HYPOTHETICAL = "If the home conditions deteriorate again we would consider neglect."
OTHER = "Mum said her sister neglected her children when they were small."
PLAIN = "The review meeting was moved to Thursday because the chair was on leave."


def _records() -> list[Record]:
    records: list[Record] = []
    for case in range(6):
        for i in range(6):
            neglect_case = case in (0, 1, 2)
            if neglect_case and i < 4:
                text = NEGLECT[i]
            elif i == 4:
                text = (NEGATED, HYPOTHETICAL, OTHER)[case % 3]
            else:
                text = PLAIN
            records.append(
                make_record(
                    id=f"C{case}-{i}",
                    case_id=f"CASE-{case}",
                    text=text,
                    created_at=f"2024-{1 + i:02d}-1{case}",
                    acl=[TEAMS[(case + i) % 3]],
                    deny=["user:x"] if i == 1 else [],
                )
            )
    return records


@pytest.fixture(scope="module")
def finder(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[PatternFinder]:
    store = RecordStore(tmp_path_factory.mktemp("patterns") / "store.sqlite3")
    Indexer(store, embedder, ChunkingConfig(max_words=60)).apply(_records(), source="t")
    yield PatternFinder(HybridSearcher(store, embedder), min_strong_share=0.0)
    store.close()


ADMIN = AccessScope.of(*TEAMS)


def _supporting(result: PatternResult) -> set[str]:
    return {e.document_id for c in result.cases for e in c.evidence}


def test_cases_that_show_neglect_with_cited_affirmed_evidence(finder: PatternFinder) -> None:
    result = finder.find(PatternQuery(scope=ADMIN, category="neglect", evidence_per_case=10))
    assert {c.case_id for c in result.cases} == {"CASE-0", "CASE-1", "CASE-2"}
    # strongest first; the three cases tie but for how near a cosine sits to the strong bound
    # (the same sentence embedded in another batch moves in its last bits), then by case id
    order = [(-c.strong_records, -c.records, c.case_id) for c in result.cases]
    assert order == sorted(order)
    assert result.total_cases == 3
    assert result.total_records == 12
    for case in result.cases:
        assert case.records == 4
        for evidence in case.evidence:
            record = next(r for r in _records() if r.id == evidence.document_id)
            assert record.text[evidence.char_start : evidence.char_end] == evidence.text
            assert evidence.assertion in ("affirmed", "historical")
    assert sum(n for _, n in result.histogram) == 12
    assert sum(n for _, n in result.teams) == 12
    # negated, hypothetical and other-person mentions are shown apart, never counted
    apart = {e.document_id: e.assertion for e in result.set_apart}
    assert result.set_apart_records == 6  # one in each case
    assert set(apart.values()) == {"negated", "hypothetical", "other person"}


def test_free_text_that_names_a_concern_finds_the_same_cases(finder: PatternFinder) -> None:
    result = finder.find(PatternQuery(scope=ADMIN, text="which cases show neglect?"))
    assert result.categories == ("neglect",)
    assert {c.case_id for c in result.cases} == {"CASE-0", "CASE-1", "CASE-2"}


def test_unknown_category_and_blank_text_are_caller_errors(finder: PatternFinder) -> None:
    with pytest.raises(InvalidQueryError, match="unknown category"):
        finder.find(PatternQuery(scope=ADMIN, category="nonsense"))
    with pytest.raises(InvalidQueryError):
        finder.find(PatternQuery(scope=ADMIN, text="   "))


def test_filters_narrow_the_counts(finder: PatternFinder) -> None:
    result = finder.find(
        PatternQuery(scope=ADMIN, category="neglect", filters=SearchFilters(case_id="CASE-1"))
    )
    assert [c.case_id for c in result.cases] == ["CASE-1"]
    assert result.total_records == 4


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(principals=st.sets(st.sampled_from([*TEAMS, "user:x"]), max_size=4))
def test_counts_come_from_the_visible_records_alone(
    finder: PatternFinder, principals: set[str]
) -> None:
    """Whatever a user may see, she gets exactly the admin's supporting records that she may
    see: no count, case, month, team or sentence comes from any other record."""
    scope = AccessScope(frozenset(principals))
    everything = finder.find(
        PatternQuery(scope=ADMIN, category="neglect", include_weak=True, evidence_per_case=50)
    )
    mine = finder.find(
        PatternQuery(scope=scope, category="neglect", include_weak=True, evidence_per_case=50)
    )
    visible = {r.id for r in _records() if scope.permits(r.acl, r.deny)}
    assert _supporting(mine) == _supporting(everything) & visible
    assert mine.total_records == len(_supporting(mine))
    assert sum(c.records for c in mine.cases) == mine.total_records
    assert sum(n for _, n in mine.histogram) == mine.total_records
    assert {e.document_id for e in mine.set_apart} <= visible
