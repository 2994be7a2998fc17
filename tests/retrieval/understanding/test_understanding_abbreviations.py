"""Abbreviations expand both ways from the practitioner-editable list."""

from __future__ import annotations

from datetime import date

import pytest

from retrieval.understanding import LexiconError, QueryUnderstander, understand
from retrieval.understanding.lexicon import (
    Abbreviation,
    parse_abbreviations,
    parse_doc_type_phrases,
    parse_word_list,
    read_data_file,
)

TODAY = date(2024, 6, 15)
REQUIRED = [
    "ICPC", "RCPC", "CP", "CIN", "CLA", "LAC", "PLO", "s47", "s17", "DA", "DV", "CCE", "CSE",
    "MASH", "LADO", "EHCP", "SENCO", "HV", "DSL", "GP", "PPN", "MARAC", "NRM", "IRO", "CAMHS",
    "SGO", "EHA", "FGC", "TAF", "A&E", "UASC",
]  # fmt: skip


def test_shipped_list_parses_and_has_the_common_abbreviations() -> None:
    entries = parse_abbreviations(read_data_file("abbreviations.tsv"))
    assert set(REQUIRED) <= {entry.short for entry in entries}
    assert all(entry.expansions for entry in entries)


@pytest.mark.parametrize(
    ("query", "found", "added"),
    [
        ("ICPC", "ICPC", "initial child protection conference"),
        ("icpc", "icpc", "initial child protection conference"),
        ("ICPCs", "ICPCs", "initial child protection conference"),
        ("initial child protection conference", "initial child protection conference", "ICPC"),
        ("Initial Child Protection Conferences", "Initial Child Protection Conferences", "ICPC"),
        ("RCPC", "RCPC", "review child protection conference"),
        ("CIN", "CIN", "child in need"),
        ("child in need", "child in need", "CIN"),
        ("GP", "GP", "general practitioner"),
        ("GP's letter", "GP", "general practitioner"),
        ("HV", "HV", "health visitor"),
        ("health visitor", "health visitor", "HV"),
        ("A&E", "A&E", "accident and emergency"),
        ("DA", "DA", "domestic abuse"),
        ("domestic abuse", "domestic abuse", "DA"),
        ("CSE", "CSE", "child sexual exploitation"),
        ("multi-agency safeguarding hub", "multi-agency safeguarding hub", "MASH"),
        ("multi agency safeguarding hub", "multi agency safeguarding hub", "MASH"),
        ("s47", "s47", "section 47 enquiry"),
        ("S47", "S47", "section 47 enquiry"),
        ("S.47", "S.47", "s47"),
        ("section 47", "section 47", "s47"),
        ("CP plan", "CP plan", "CPP"),
        ("CP plan", "CP plan", "child protection plan"),
        ("looked after child", "looked after child", "LAC"),
        ("looked after child", "looked after child", "CLA"),
    ],
)
def test_expansion(query: str, found: str, added: str) -> None:
    u = understand(query, today=TODAY)
    assert (found, added) in u.expansions
    assert added in u.lexical_query
    assert u.lexical_query.startswith(query)


@pytest.mark.parametrize(
    "query",
    ["me da said", "la la land", "pa came round", "send the letter", "pep talk", "Ed visited",
     "an ace result", "dash to school"],
)  # fmt: skip
def test_case_exact_abbreviations_ignore_everyday_words(query: str) -> None:
    assert understand(query, today=TODAY).expansions == ()


def test_case_exact_abbreviation_in_capitals_expands() -> None:
    u = understand("DA incidents and SEND support", today=TODAY)
    assert ("DA", "domestic abuse") in u.expansions
    assert ("SEND", "special educational needs and disabilities") in u.expansions


def test_dense_query_writes_expansion_after_first_use_only() -> None:
    u = understand("ICPC and the ICPC minutes", today=TODAY)
    assert u.dense_query == "ICPC initial child protection conference and the ICPC minutes"
    assert u.lexical_query == (
        "ICPC and the ICPC minutes initial child protection conference initial CP conference"
    )


def test_long_form_is_not_written_into_the_dense_query() -> None:
    u = understand("domestic abuse incidents", today=TODAY)
    assert u.dense_query == "domestic abuse incidents"
    assert u.lexical_query == "domestic abuse incidents DA"


@pytest.mark.parametrize(
    "query",
    [
        "ICPC initial child protection conference",
        "CIN children in need",
        "s47 section 47 enquiry",
    ],
)
def test_nothing_the_query_says_is_added_again(query: str) -> None:
    u = understand(query, today=TODAY)
    assert u.expansions == ()
    assert u.lexical_query == query


def test_a_long_form_shared_by_two_abbreviations_adds_both() -> None:
    u = understand("LAC review looked after children", today=TODAY)
    assert u.expansions[0] == ("looked after children", "CLA")
    # LAC is already in the query; CLA's other wordings come along as synonyms
    assert "LAC" not in [added for _, added in u.expansions]
    assert ("looked after children", "child looked after") in u.expansions


def test_longest_phrase_wins() -> None:
    u = understand("initial child protection conference", today=TODAY)
    assert ("initial child protection conference", "CP") not in u.expansions
    assert [added for _, added in u.expansions] == ["ICPC", "initial CP conference"]


def test_expansions_in_query_order() -> None:
    u = understand("HV and GP", today=TODAY)
    assert u.expansions[:2] == (("HV", "health visitor"), ("GP", "general practitioner"))
    # every wording of a short form joins the lexical query, in the file's order, each kept
    # whole so that search can match its words as a group
    assert u.lexical_base == "HV and GP"
    assert u.lexical_additions[:7] == (
        "health visitor", "general practitioner", "family doctor", "GP surgery",
        "practice nurse", "doctor", "surgery",
    )  # fmt: skip
    assert u.lexical_query == " ".join([u.lexical_base, *u.lexical_additions])


def test_a_custom_list_is_used() -> None:
    abbreviations = parse_abbreviations(
        "# comment\nabbreviation\texpansion\tcase\tvariants\nWIBBLE\twobbly bits\tany\twib\n"
    )
    understander = QueryUnderstander(abbreviations, (), frozenset())
    u = understander.understand("wib report", today=TODAY)
    assert u.expansions == (("wib", "WIBBLE"), ("wib", "wobbly bits"))
    assert u.lexical_query == "wib report WIBBLE wobbly bits"
    assert understand("wib report", today=TODAY).expansions == ()  # the shipped list is apart


def test_parse_rows() -> None:
    text = (
        "# leading comment\n\nabbreviation\texpansion\tcase\tvariants\n"
        "ICPC\tinitial child protection conference | initial CP conference\tany\n"
        "   # indented comment\n"
        "DA\tdomestic abuse\tEXACT\t\n"
    )
    assert parse_abbreviations(text) == (
        Abbreviation(
            "ICPC", ("initial child protection conference", "initial CP conference"), "any", ()
        ),
        Abbreviation("DA", ("domestic abuse",), "exact", ()),
    )


def test_record_words_join_the_query_but_never_match_it() -> None:
    """ ">said" is how records say it: a question using the concept gains it; a question that
    merely says "said" is not about the concept."""
    abbreviations = parse_abbreviations(
        "abbreviation\texpansion\tcase\tvariants\n"
        "W&F\twishes and feelings|voice of the child|>said|>on his own\tany\n"
    )
    assert abbreviations[0].expansions == ("wishes and feelings", "voice of the child")
    assert abbreviations[0].record_words == ("said", "on his own")
    understander = QueryUnderstander(abbreviations, (), frozenset())
    u = understander.understand("voice of the child", today=TODAY)
    assert u.lexical_query == "voice of the child W&F wishes and feelings said on his own"
    assert u.dense_query == "voice of the child"
    assert understander.understand("what has the GP said", today=TODAY).expansions == ()
    # nothing the query already says is added again
    said = understander.understand("what has she said when seen: W&F", today=TODAY)
    assert said.lexical_query.split().count("said") == 1


@pytest.mark.parametrize(
    ("query", "added"),
    [
        ("Oisin's views", "wishes and feelings"),
        ("the child's voice", "wishes and feelings"),
    ],
)
def test_shipped_concept_lines(query: str, added: str) -> None:
    u = understand(query, today=TODAY)
    assert added in u.lexical_query
    assert u.corrections == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ICPC\tinitial\tany\n", "header"),
        ("abbreviation\texpansion\tcase\tvariants\nICPC initial any\n", ":2:"),
        ("abbreviation\texpansion\tcase\tvariants\nICPC\tinitial\tsometimes\n", "case must"),
        ("abbreviation\texpansion\tcase\tvariants\nICPC\t|\tany\n", "no expansion"),
        ("abbreviation\texpansion\tcase\tvariants\nICPC\ta\tany\nicpc\tb\tany\n", "line 2"),
        ("abbreviation\texpansion\tcase\tvariants\nA\ta\tany\tB\nB\tb\tany\n", "already"),
        ("abbreviation\texpansion\tcase\tvariants\nA\t\tany\n", "empty column"),
        ("# only comments\n", "no header"),
    ],
)
def test_malformed_list_names_the_line(text: str, message: str) -> None:
    with pytest.raises(LexiconError, match=message):
        parse_abbreviations(text, source="abbreviations.tsv")


def test_doc_type_and_word_list_parsers_reject_bad_rows() -> None:
    with pytest.raises(LexiconError, match="snake_case"):
        parse_doc_type_phrases("phrase\tdoc_types\nsafety plan\tSafety Plan\n")
    with pytest.raises(LexiconError, match="already listed"):
        parse_doc_type_phrases("phrase\tdoc_types\nGP\thealth_contact\ngp\thealth_contact\n")
    with pytest.raises(LexiconError, match="one word"):
        parse_word_list("safety plan\n")
    assert parse_word_list("# c\nSafety\n\nneglect\n") == frozenset({"safety", "neglect"})
