"""The pattern view reads what a record shows, not the words of the topic: "In attendance:"
and "attendance 97 %" are no concern, "attendance has dropped to 71 %" is one."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from factories import make_record
from hypothesis import given
from hypothesis import strategies as st

from connectors.record import Record
from indexer import Indexer
from retrieval.chunking import ChunkingConfig
from retrieval.embedding import Embedder
from retrieval.indicators import (
    IndicatorLibraryError,
    Measure,
    load_library,
    measured_below,
    parse_library,
)
from retrieval.models import AccessScope
from retrieval.patterns import PatternFinder, PatternQuery
from retrieval.search import HybridSearcher
from retrieval.store import RecordStore

TEAM = "team:north"
ROUTINE = "The review meeting was moved to Thursday because the chair was on leave."
# each case: the sentences of its records (every case also has routine records)
CASES: dict[str, tuple[str, ...]] = {
    # the topic named, no concern shown
    "CASE-TOPIC": (
        "In attendance: mother, the social worker and the designated safeguarding lead.",
        "Attendance at nursery 97%. Staff have no worries.",
        "School to share attendance weekly with the social worker.",
        "Health: GP records show a previous attendance at the hospital.",
    ),
    # one school report of persistent absence (under 90 %, DfE)
    "CASE-ABSENT": ("Attendance has dropped to 71% this term and he is often late.",),
    # a thing, not a child, was missing, however often it is said
    "CASE-GATE": ("The stair gate was missing.",) * 3,
}


def _records() -> list[Record]:
    records: list[Record] = []
    for case, texts in CASES.items():
        for i, text in enumerate([*texts, ROUTINE, ROUTINE]):
            records.append(
                make_record(
                    id=f"{case}-{i}",
                    case_id=case,
                    text=text,
                    created_at=f"2024-0{1 + i}-15",
                    acl=[TEAM],
                )
            )
    return records


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[RecordStore]:
    opened = RecordStore(tmp_path_factory.mktemp("topic") / "store.sqlite3")
    Indexer(opened, embedder, ChunkingConfig(max_words=60)).apply(_records(), source="t")
    yield opened
    opened.close()


def _cases(finder: PatternFinder, category: str) -> list[str]:
    result = finder.find(PatternQuery(scope=AccessScope.of(TEAM), category=category))
    return [c.case_id for c in result.cases]


def test_a_stated_figure_under_the_bound_shows_the_concern_and_the_topic_alone_does_not(
    store: RecordStore, embedder: Embedder
) -> None:
    finder = PatternFinder(HybridSearcher(store, embedder))
    result = finder.find(PatternQuery(scope=AccessScope.of(TEAM), category="school_attendance"))
    assert [c.case_id for c in result.cases] == ["CASE-ABSENT"]
    (evidence,) = result.cases[0].evidence
    assert evidence.wording == "attendance under 90 %"
    assert evidence.strong
    assert evidence.assertion == "affirmed"
    record = next(r for r in _records() if r.id == evidence.document_id)
    assert record.text[evidence.char_start : evidence.char_end] == evidence.text


def test_the_ablation_switches_bring_back_the_old_readings(
    store: RecordStore, embedder: Embedder
) -> None:
    searcher = HybridSearcher(store, embedder)
    # topic words counted: the meeting heading, the good figure and the plan line are evidence
    assert "CASE-TOPIC" in _cases(PatternFinder(searcher, topic_only=False), "school_attendance")
    # a figure makes a strong record but no pattern on its own
    only_counted = PatternFinder(searcher, measures_show=False)
    assert "CASE-ABSENT" not in _cases(only_counted, "school_attendance")


def test_a_missing_object_is_not_a_missing_child(store: RecordStore, embedder: Embedder) -> None:
    finder = PatternFinder(HybridSearcher(store, embedder), min_strong_share=0.0)
    assert "CASE-GATE" not in _cases(finder, "missing")


@given(st.integers(min_value=0, max_value=100), st.sampled_from(["%", " %", " per cent"]))
def test_a_percentage_shows_persistent_absence_only_below_90(value: int, unit: str) -> None:
    text = f"Attendance has dropped to {value}{unit} this term."
    school = load_library().get("school_attendance")
    assert school is not None
    found = measured_below(text, school.measures)
    assert bool(found) == (value < 90)
    if found:
        match, figure = found[0]
        assert figure == value
        assert text[match.start : match.end].startswith("Attendance")


@given(st.integers(min_value=0, max_value=100))
def test_a_figure_for_something_else_is_not_read(value: int) -> None:
    text = f"Attendance was discussed. The flat is {value}% damp."
    assert measured_below(text, [Measure("attendance", 90.0)]) == []


BASE = (
    '[[category]]\nid = "a"\nlabel = "A"\ndefinition = "d"\nsources = ["S"]\n'
    'names = ["alpha"]\nindicators = ["beta"]\nexemplars = ["e"]\n'
)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('topic_only = ["gamma"]', "'topic_only' lists 'gamma', which is not a name or indicator"),
        ('measures = [{ wording = "beta" }]', "measure 'beta' needs 'below'"),
        ("measures = [{ below = 90 }]", "each of 'measures' needs a 'wording'"),
        ('measures = "beta"', "'measures' must be a list of tables"),
    ],
)
def test_a_malformed_topic_or_measure_names_the_problem(extra: str, message: str) -> None:
    with pytest.raises(IndicatorLibraryError, match=re.escape(message)):
        parse_library(BASE + extra)


def test_topic_only_wordings_still_name_the_concern_in_a_question() -> None:
    library = load_library()
    assert [c.id for c in library.named_in("school attendance")] == ["school_attendance"]
    assert [c.id for c in library.named_in("has he been missing")] == ["missing"]
    school = library.get("school_attendance")
    assert school is not None
    assert "attendance" not in school.evidence_names
    assert "persistent absence" in school.evidence_names
