"""Record types named in the query, for a boost."""

from __future__ import annotations

from datetime import date

import pytest

from retrieval.understanding import understand
from retrieval.understanding.lexicon import parse_doc_type_phrases, read_data_file
from retrieval.understanding.matching import PhraseEngine, PhraseTable

TODAY = date(2024, 6, 15)
KNOWN = {
    "case_note", "visit_note", "referral", "assessment", "strategy_discussion", "icpc_minutes",
    "rcpc_minutes", "cp_plan", "cin_plan", "safety_plan", "health_contact", "school_contact",
    "police_notification", "letter", "court_report",
}  # fmt: skip


def test_shipped_list_names_only_known_types() -> None:
    phrases = parse_doc_type_phrases(read_data_file("doc_types.tsv"))
    named = {doc_type for phrase in phrases for doc_type in phrase.doc_types}
    assert named <= KNOWN
    assert named == KNOWN  # every known type can be asked for


@pytest.mark.parametrize(
    ("query", "doc_types"),
    [
        ("safety plan", ("safety_plan",)),
        ("Safety-plans", ("safety_plan",)),
        ("CP plan", ("cp_plan",)),
        ("child protection plan", ("cp_plan",)),
        ("CIN plan", ("cin_plan",)),
        ("ICPC minutes", ("icpc_minutes",)),
        ("initial conference", ("icpc_minutes",)),
        ("RCPC", ("rcpc_minutes",)),
        ("review conference", ("rcpc_minutes",)),
        ("child protection conference", ("icpc_minutes", "rcpc_minutes")),
        ("family group conference", ()),  # not a child protection conference
        ("strategy discussion", ("strategy_discussion",)),
        ("strategy meetings", ("strategy_discussion",)),
        ("referral", ("referral",)),
        ("assessments", ("assessment",)),
        ("GP", ("health_contact",)),
        ("health visitor", ("health_contact",)),
        ("doctor", ("health_contact",)),
        ("A&E attendances", ("health_contact",)),  # hospital, not school, attendance
        ("school nurse", ("health_contact",)),  # longest phrase wins over "school"
        ("school", ("school_contact",)),
        ("DSL", ("school_contact",)),
        ("attendance", ("school_contact",)),
        ("police", ("police_notification",)),
        ("PPN", ("police_notification",)),
        ("home visit", ("visit_note",)),
        ("court report", ("court_report",)),
        ("PLO", ("letter", "court_report")),
        ("PLO letter", ("letter",)),
        ("case notes", ("case_note",)),
        ("GP and school", ("health_contact", "school_contact")),
        ("neglect", ()),
    ],
)
def test_doc_types(query: str, doc_types: tuple[str, ...]) -> None:
    assert understand(query, today=TODAY).doc_types == doc_types


def test_doc_types_follow_query_order_without_repeats() -> None:
    u = understand("police then school then police", today=TODAY)
    assert u.doc_types == ("police_notification", "school_contact")


@pytest.mark.parametrize(
    ("words", "found"),
    [
        ("what keeps inaya safe now", False),  # "keeps" is not "keep"
        ("plan to keep inaya safe", True),
        ("keep them safe at night", True),
        ("keep safe", False),  # the slot takes exactly one word
        ("keep the kids safe", False),  # ... not two
        ("keep 5 safe", False),  # ... made of letters
        ("keep mum safes", True),  # a plural of the last word, like every phrase
    ],
)
def test_a_star_in_a_phrase_stands_for_one_word(words: str, found: bool) -> None:
    engine = PhraseEngine()
    table = PhraseTable(engine, [("keep * safe", "safety_plan", False)])
    split = words.split()
    with engine.lock:
        hits = table.find(split, split)
    assert bool(hits) is found
    if found:
        assert hits[0].payloads == ("safety_plan",)
        assert hits[0].end - hits[0].start == 3


def test_a_child_named_in_a_safety_plan_question() -> None:
    u = understand("current plan to keep Inaya safe", today=TODAY)
    assert u.doc_types == ("safety_plan",)
    assert u.recency is True
    assert u.corrections == ()  # the name is left alone


@pytest.mark.parametrize(
    ("query", "doc_types"),
    [
        # a type word inside a concern's name (retrieval/indicators/library.toml) names no type
        ("parents with mental health problems", ()),
        ("mum's mental health", ()),
        ("school attendance concerns", ()),
        # ... outside one it still does
        ("health visitor worried about mum's mental health", ("health_contact",)),
        ("school worried about self-harm", ("school_contact",)),
        # a name that is itself a type phrase keeps the type (neither phrase is longer)
        ("attendance", ("school_contact",)),
    ],
)
def test_a_concern_name_is_read_before_a_type_word_inside_it(
    query: str, doc_types: tuple[str, ...]
) -> None:
    assert understand(query, today=TODAY).doc_types == doc_types


def test_the_concern_names_can_be_left_out_of_type_reading() -> None:
    """The ablation's switch: the type word then counts wherever it stands."""
    u = understand("parents with mental health problems", today=TODAY, concern_names=False)
    assert u.doc_types == ("health_contact",)
