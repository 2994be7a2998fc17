"""Properties that must hold for any query text."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from retrieval.understanding import understand

TODAY = date(2024, 6, 15)
KNOWN_DOC_TYPES = {
    "case_note", "visit_note", "referral", "assessment", "strategy_discussion", "icpc_minutes",
    "rcpc_minutes", "cp_plan", "cin_plan", "safety_plan", "health_contact", "school_contact",
    "police_notification", "letter", "court_report",
}  # fmt: skip
# Words that may belong to a date or recency phrase; topical words are drawn from the rest.
PHRASE_WORDS = {
    "jan", "january", "feb", "february", "mar", "march", "apr", "april", "may", "jun", "june",
    "jul", "july", "aug", "august", "sep", "sept", "september", "oct", "october", "nov",
    "november", "dec", "december", "today", "yesterday", "day", "days", "week", "weeks", "wk",
    "wks", "fortnight", "fortnights", "month", "months", "mth", "mths", "year", "years", "yr",
    "yrs", "ago", "this", "last", "past", "previous", "preceding", "earlier", "so", "far",
    "since", "from", "starting", "beginning", "as", "of", "after", "before", "prior", "to",
    "until", "till", "til", "up", "by", "between", "in", "during", "on", "within", "throughout",
    "over", "for", "around", "dated", "the", "and", "or", "onward", "onwards", "date", "now",
    "present", "current", "currently", "latest", "newest", "recent", "recently", "most", "still",
    "right", "at", "moment", "stands", "it", "a", "an", "one", "two", "three", "four", "five",
    "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "eighteen", "twenty", "couple",
    "few",
}  # fmt: skip
DATE_PHRASES = [
    "since March 2024", "in 2023", "last 6 months", "past six months", "last year", "this year",
    "last week", "before May 2024", "between Jan and March 2024", "from 1 March 2024",
    "in March 2024", "yesterday", "2 weeks ago", "01/03/2024",
]  # fmt: skip
SETTINGS = settings(deadline=None, database=None, max_examples=200)

topical_words = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz"), min_size=1, max_size=12)
topical_words = topical_words.filter(lambda word: word not in PHRASE_WORDS)


@SETTINGS
@given(st.text(max_size=1000), st.dates(), st.booleans())
def test_never_raises_and_stays_consistent(text: str, today: date, with_index: bool) -> None:
    vocabulary = (lambda term: len(term) % 3) if with_index else None
    u = understand(text, today=today, vocabulary=vocabulary)
    assert u.original == text
    assert set(u.doc_types) <= KNOWN_DOC_TYPES
    assert len(set(u.doc_types)) == len(u.doc_types)
    if u.date_from is not None and u.date_to is not None:
        assert u.date_from <= u.date_to
    for misspelt, _ in u.corrections:
        assert misspelt in u.lexical_query.split()
    assert u.lexical_query == " ".join(u.lexical_query.split())
    assert u.dense_query == " ".join(u.dense_query.split())


@SETTINGS
@given(
    st.lists(topical_words, min_size=1, max_size=12),
    st.sampled_from(DATE_PHRASES),
    st.integers(min_value=0, max_value=12),
)
def test_lexical_query_keeps_every_word_outside_date_phrases(
    words: list[str], phrase: str, position: int
) -> None:
    query = " ".join([*words[:position], phrase, *words[position:]])
    u = understand(query, today=TODAY)
    assert u.date_from is not None or u.date_to is not None
    kept = u.lexical_query.split()
    assert all(word in kept for word in words)
    assert kept[: len(words)] == words  # in their order, before any additions


@SETTINGS
@given(st.lists(topical_words, min_size=1, max_size=12))
def test_words_the_index_knows_are_never_corrected(words: list[str]) -> None:
    index = {word: 1 for word in words}
    u = understand(" ".join(words), today=TODAY, vocabulary=lambda term: index.get(term, 0))
    assert u.corrections == ()


@SETTINGS
@given(st.text(max_size=300))
def test_an_index_knowing_every_word_means_no_corrections(text: str) -> None:
    assert understand(text, today=TODAY, vocabulary=lambda term: 1).corrections == ()


@SETTINGS
@given(st.text(max_size=300), st.dates())
def test_deterministic(text: str, today: date) -> None:
    assert understand(text, today=today) == understand(text, today=today)
