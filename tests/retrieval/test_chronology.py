"""The child's chronology: dated significant events, each a verbatim cited sentence, over the
records the caller may see only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from factories import make_record

from connectors.record import Record
from indexer import Indexer
from retrieval.chronology import (
    ChronologyRulesError,
    case_chronology,
    load_rules,
    parse_rules,
    stated_date,
)
from retrieval.chunking import ChunkingConfig
from retrieval.embedding import Embedder
from retrieval.errors import InvalidQueryError
from retrieval.models import AccessScope
from retrieval.store import RecordStore

REFERRAL = (
    "Date of contact: 04/03/2024. Referrer: Dr Shah, Hill Surgery.\n\n"
    "Concerns reported: the children are often hungry and mum has stopped her medication."
)
ICPC = (
    "Conference held at the civic centre. Chair: Jo Bell.\n\n"
    "Decision: the conference agreed that Sam will be made subject to a child protection plan"
    " under the category of neglect."
)
VISIT = (
    "Visited the family home. Sam had a bruise on his cheek and said he fell off his bike"
    " on 2 April.\n\nThere were no concerns about missing episodes."
)
POLICE = "Police attended after a 999 call at 23:10. Dad was arrested at the address."
SECRET = "Sam went missing overnight and was found by police the next morning."
HIDDEN = "Sam was reported missing to the police yesterday."


def _records() -> list[Record]:
    return [
        make_record(
            id="R-REF",
            case_id="CASE-C",
            doc_type="referral",
            title="Referral",
            text=REFERRAL,
            created_at="2024-03-05",
            acl=["team:north"],
        ),
        make_record(
            id="R-ICPC",
            case_id="CASE-C",
            doc_type="icpc_minutes",
            title="ICPC minutes",
            text=ICPC,
            created_at="2024-03-28",
            acl=["team:north"],
        ),
        make_record(
            id="R-VISIT",
            case_id="CASE-C",
            doc_type="visit_note",
            title="Home visit",
            text=VISIT,
            created_at="2024-04-09",
            acl=["team:north"],
        ),
        make_record(
            id="R-POLICE",
            case_id="CASE-C",
            doc_type="police_notification",
            title="PPN",
            text=POLICE,
            created_at="2024-04-20",
            acl=["team:north"],
        ),
        make_record(
            id="R-SECRET",
            case_id="CASE-C",
            doc_type="case_note",
            title="Managers' note",
            text=SECRET,
            created_at="2024-05-01",
            acl=["team:managers"],
        ),
        make_record(
            id="R-DENIED",
            case_id="CASE-C",
            doc_type="case_note",
            title="Note",
            text=HIDDEN,
            created_at="2024-05-03",
            acl=["team:north"],
            deny=["user:bob"],
        ),
        make_record(
            id="R-OTHER",
            case_id="CASE-D",
            doc_type="referral",
            title="Referral",
            text="Concerns reported: a neighbour heard shouting.",
            created_at="2024-03-01",
            acl=["team:north"],
        ),
    ]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[RecordStore]:
    built = RecordStore(tmp_path_factory.mktemp("chronology") / "store.sqlite3")
    Indexer(built, embedder, ChunkingConfig(max_words=60)).apply(_records(), source="t")
    yield built
    built.close()


NORTH = AccessScope.of("team:north", "user:amy")
TEXTS = {r.id: r.text for r in _records()}


def test_events_are_oldest_first_with_exact_citations(store: RecordStore) -> None:
    chronology = case_chronology(store, NORTH, "CASE-C")
    events = chronology.events
    assert [e.date for e in events] == sorted(e.date for e in events if e.date)
    for e in events:
        c = e.citation
        assert TEXTS[c.document_id][c.char_start : c.char_end] == e.sentence
        assert c.chunk_id is not None
        assert c.chunk_id.startswith(c.document_id + "#")
    assert {e.citation.document_id for e in events} == {
        "R-REF",
        "R-ICPC",
        "R-VISIT",
        "R-POLICE",
        "R-DENIED",
    }


def test_an_event_record_quotes_its_outcome_sentence(store: RecordStore) -> None:
    events = case_chronology(store, NORTH, "CASE-C", categories=["conference"]).events
    assert len(events) == 1
    assert events[0].sentence.startswith("Decision: the conference agreed")
    assert events[0].significance.startswith("outcome")
    assert events[0].label == "Child protection conference"
    referral = case_chronology(store, NORTH, "CASE-C", categories=["referral"]).events
    assert [e.sentence[:18] for e in referral] == ["Concerns reported:"]


def test_a_stated_date_is_read_from_the_sentence_else_the_record_date(
    store: RecordStore,
) -> None:
    events = case_chronology(store, NORTH, "CASE-C").events
    injury = next(e for e in events if e.category == "injury")
    assert injury.citation.document_id == "R-VISIT"
    assert (injury.date, injury.precision, injury.date_source) == (
        dt.date(2024, 4, 2),
        "day",
        "text",
    )
    police = next(e for e in events if e.category == "police")
    assert (police.date, police.date_source) == (dt.date(2024, 4, 20), "record")
    relative = next(e for e in events if e.citation.document_id == "R-DENIED")
    assert (relative.date, relative.precision) == (dt.date(2024, 5, 2), "relative")


def test_negated_mentions_are_not_events(store: RecordStore) -> None:
    events = case_chronology(store, NORTH, "CASE-C").events
    assert not any("no concerns about missing" in e.sentence for e in events)


def test_only_visible_records_are_read(store: RecordStore) -> None:
    bob = AccessScope.of("team:north", "user:bob")
    assert "R-DENIED" not in {
        e.citation.document_id for e in case_chronology(store, bob, "CASE-C").events
    }
    managers = case_chronology(store, AccessScope.of("team:managers"), "CASE-C").events
    assert {e.citation.document_id for e in managers} == {"R-SECRET"}
    assert [e.category for e in managers] == ["missing"]
    nobody = case_chronology(store, AccessScope.of("team:south"), "CASE-C")
    missing = case_chronology(store, AccessScope.of("team:south"), "CASE-NONE")
    assert nobody.events == missing.events == ()


def test_filters_by_category_and_event_date(store: RecordStore) -> None:
    april = case_chronology(
        store, NORTH, "CASE-C", date_from=dt.date(2024, 4, 1), date_to=dt.date(2024, 4, 30)
    ).events
    assert {e.citation.document_id for e in april} == {"R-VISIT", "R-POLICE"}
    assert all(dt.date(2024, 4, 1) <= e.date <= dt.date(2024, 4, 30) for e in april if e.date)
    with pytest.raises(InvalidQueryError):
        case_chronology(store, NORTH, "CASE-C", categories=["nonsense"])


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Seen on 3 March.", (dt.date(2024, 3, 3), "day")),
        ("Seen on 03/03/2024.", (dt.date(2024, 3, 3), "day")),
        ("It happened in January.", (dt.date(2024, 1, 1), "month")),
        ("It happened in 2022.", (dt.date(2022, 1, 1), "year")),
        ("She was seen yesterday.", (dt.date(2024, 3, 9), "relative")),
        ("Review date: 05/06/2024.", None),  # after the record: not when it happened
        ("Nothing dated here.", None),
    ],
)
def test_stated_dates(sentence: str, expected: tuple[dt.date, str] | None) -> None:
    found = stated_date(sentence, dt.date(2024, 3, 10))
    assert (None if found is None else (found.date, found.precision)) == expected


def test_the_shipped_rules_parse_and_a_bad_file_is_named() -> None:
    rules = load_rules()
    assert rules.for_doc_type("icpc_minutes") is not None
    assert {"injury", "missing", "conference", "referral"} <= {c.id for c in rules.categories}
    with pytest.raises(ChronologyRulesError, match="unknown indicator"):
        parse_rules(
            '[outcome]\ncues = ["decision"]\n[[category]]\nid = "x"\nlabel = "X"\n'
            'doc_types = []\nindicators = ["nope"]\ncues = []\nsignificance = "s"\n'
        )
