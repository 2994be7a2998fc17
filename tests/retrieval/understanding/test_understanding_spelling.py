"""Spelling correction: unknown words only, to the closest domain or index word."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from retrieval.analysis import english_vocabulary
from retrieval.understanding import understand
from retrieval.understanding.spelling import Speller, match_case, osa_distance

TODAY = date(2024, 6, 15)


def counts(table: dict[str, int]) -> Callable[[str], int]:
    return lambda term: table.get(term, 0)


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("safety", "safety", 0),
        ("saftey", "safety", 1),  # swapped neighbours
        ("neglet", "neglect", 1),
        ("polise", "police", 1),
        ("stratergy", "strategy", 1),
        ("abc", "", 3),
        ("ca", "abc", 3),  # optimal string alignment does not edit a swapped pair again
        ("kitten", "sitting", 3),
    ],
)
def test_osa_distance(a: str, b: str, distance: int) -> None:
    assert osa_distance(a, b) == distance
    assert osa_distance(b, a) == distance


@pytest.mark.parametrize(
    ("word", "correction"),
    [
        ("saftey", "safety"),
        ("neglet", "neglect"),
        ("stratergy", "strategy"),
        ("polise", "police"),
        ("safegaurding", "safeguarding"),
        ("exploitaton", "exploitation"),
        ("acommodation", "accommodation"),
        ("assesment", "assessment"),
        ("refferal", "referral"),
        ("confrence", "conference"),
        ("attendence", "attendance"),
        ("safeguardng", "safeguarding"),
        ("explotation", "exploitation"),  # two edits: allowed for 8+ letters
    ],
)
def test_common_misspellings_without_vocabulary(word: str, correction: str) -> None:
    u = understand(f"{word} concerns", today=TODAY)
    assert u.corrections == ((word, correction),)
    # a concept line (neglect) may add its wordings after the correction
    assert u.lexical_query.split()[:3] == [word, "concerns", correction]
    assert u.dense_query.startswith(correction)
    assert u.dense_query.endswith("concerns")


@pytest.mark.parametrize(
    "query",
    [
        "safety neglect strategy police",  # domain words
        "polite child",  # an English word one edit from "police"
        "SWET statement",  # capitals: an abbreviation
        "marac",  # an abbreviation in the list
        "sfty",  # too far from anything
        "dog",  # shorter than 4 letters
        "neglet3",  # not a plain word
    ],
)
def test_left_alone(query: str) -> None:
    assert understand(query, today=TODAY).corrections == ()


def test_a_word_the_index_knows_is_never_corrected() -> None:
    vocabulary = counts({"neglet": 2, "neglect": 900})
    assert understand("neglet", today=TODAY, vocabulary=vocabulary).corrections == ()


def test_index_words_are_candidates() -> None:
    vocabulary = counts({"kayden": 12})
    u = understand("visits to kaiden", today=TODAY, vocabulary=vocabulary)
    assert u.corrections == (("kaiden", "kayden"),)


def test_domain_words_beat_more_frequent_index_words() -> None:
    vocabulary = counts({"polish": 500, "police": 3})
    u = understand("polise", today=TODAY, vocabulary=vocabulary)
    assert u.corrections == (("polise", "police"),)


def test_more_frequent_index_word_wins_a_tie() -> None:
    vocabulary = counts({"jaden": 4, "jade": 40})
    speller = Speller([], lambda word: False)
    assert speller.suggest("jadee", vocabulary) == "jade"


def test_closer_beats_domain() -> None:
    speller = Speller(["safeguarding"], lambda word: False)
    assert speller.suggest("safegardinx", None) == "safeguarding"  # two edits
    vocabulary = counts({"safegardins": 1})
    assert speller.suggest("safegardinx", vocabulary) == "safegardins"  # one edit


def test_vocabulary_is_probed_for_distance_one_only() -> None:
    speller = Speller([], lambda word: False)
    vocabulary = counts({"exploitation": 50})
    assert speller.suggest("explotation", vocabulary) == "exploitation"
    assert speller.suggest("expltation", vocabulary) is None  # two edits, index word


def test_correction_keeps_the_letter_case() -> None:
    u = understand("Saftey plan", today=TODAY)
    assert u.corrections == (("Saftey", "Safety"),)
    assert u.dense_query == "Safety plan"
    assert (match_case("SAFTEY", "safety"), match_case("s", "safety")) == ("SAFETY", "safety")


def test_corrected_words_feed_abbreviations_and_doc_types() -> None:
    u = understand("stratergy meeting", today=TODAY)
    assert u.doc_types == ("strategy_discussion",)
    u = understand("initial child protection confrence", today=TODAY)
    assert ("initial child protection confrence", "ICPC") in u.expansions
    assert u.doc_types == ("icpc_minutes",)


def test_words_in_date_phrases_are_not_checked() -> None:
    assert understand("visits in Sept 2023", today=TODAY).corrections == ()


def test_a_listed_short_form_is_never_corrected() -> None:
    """ "appt" is shorthand from the abbreviation list, not a misspelling of "app"."""
    u = understand("last GP appt", today=TODAY)
    assert u.corrections == ()
    assert "appointment" in u.lexical_query.split()


@pytest.mark.parametrize(
    "query", ["PPNs for this family", "ICPCs for Jo", "any DoLS", "MARACs", "CiC review"]
)
def test_plural_and_mixed_case_abbreviations_are_not_corrected(query: str) -> None:
    """ "PPNs" once became "Pans" against the English word list, losing the police records."""
    u = understand(query, today=TODAY, vocabulary=english_vocabulary)
    assert u.corrections == ()
    assert u.lexical_query.startswith(query)


@pytest.mark.parametrize("query", ["Oisin's views", "Rayyan seen alone", "Aoife's school"])
def test_a_capitalised_first_word_may_be_a_name(query: str) -> None:
    """Names are not English words; "Oisin" once became "Opsin" from the English word list."""
    assert understand(query, today=TODAY, vocabulary=english_vocabulary).corrections == ()


def test_a_capitalised_first_word_still_gets_a_domain_correction() -> None:
    u = understand("Saftey plan", today=TODAY, vocabulary=english_vocabulary)
    assert u.corrections == (("Saftey", "Safety"),)
