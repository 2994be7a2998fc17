"""Date phrases resolve against ``today`` and are cut from the query text."""

from __future__ import annotations

from datetime import date

import pytest

from retrieval.understanding import understand
from retrieval.understanding.dates import find_dates

TODAY = date(2024, 6, 15)  # a Saturday; that week runs Mon 10 .. Sun 16 June
D = date


@pytest.mark.parametrize(
    ("phrase", "date_from", "date_to"),
    [
        ("since March 2024", D(2024, 3, 1), None),
        ("since 2023", D(2023, 1, 1), None),
        ("since May", D(2024, 5, 1), None),
        ("since last week", D(2024, 6, 3), None),
        ("in 2023", D(2023, 1, 1), D(2023, 12, 31)),
        ("in March 2024", D(2024, 3, 1), D(2024, 3, 31)),
        ("in March", D(2024, 3, 1), D(2024, 3, 31)),
        ("in July", D(2023, 7, 1), D(2023, 7, 31)),  # the latest July not after today
        ("during Sept. 2023", D(2023, 9, 1), D(2023, 9, 30)),
        ("March '23", D(2023, 3, 1), D(2023, 3, 31)),
        ("last 6 months", D(2023, 12, 15), TODAY),
        ("past six months", D(2023, 12, 15), TODAY),
        ("in the last couple of months", D(2024, 4, 15), TODAY),
        ("over the past 2 weeks", D(2024, 6, 1), TODAY),
        ("last few weeks", D(2024, 5, 25), TODAY),
        ("last fortnight", D(2024, 6, 1), TODAY),
        ("in the last year", D(2023, 6, 15), TODAY),
        ("past year", D(2023, 6, 15), TODAY),
        ("last year", D(2023, 1, 1), D(2023, 12, 31)),
        ("previous month", D(2024, 5, 1), D(2024, 5, 31)),
        ("last week", D(2024, 6, 3), D(2024, 6, 9)),
        ("this year", D(2024, 1, 1), TODAY),
        ("earlier this month", D(2024, 6, 1), TODAY),
        ("this week", D(2024, 6, 10), TODAY),
        ("3 months ago", D(2024, 3, 1), D(2024, 3, 31)),
        ("a week ago", D(2024, 6, 3), D(2024, 6, 9)),
        ("two days ago", D(2024, 6, 13), D(2024, 6, 13)),
        ("last March", D(2024, 3, 1), D(2024, 3, 31)),
        ("last June", D(2023, 6, 1), D(2023, 6, 30)),  # the current month is not "last June"
        ("before May 2024", None, D(2024, 4, 30)),
        ("after March 2024", D(2024, 4, 1), None),
        ("until April 2024", None, D(2024, 4, 30)),
        ("between Jan and March 2024", D(2024, 1, 1), D(2024, 3, 31)),
        ("between Nov and Feb 2024", D(2023, 11, 1), D(2024, 2, 29)),
        ("from March to May 2024", D(2024, 3, 1), D(2024, 5, 31)),
        ("Jan-Mar 2024", D(2024, 1, 1), D(2024, 3, 31)),
        ("1 March to 5 May 2024", D(2024, 3, 1), D(2024, 5, 5)),
        ("from 1 March 2024", D(2024, 3, 1), None),
        ("from March 2024 onwards", D(2024, 3, 1), None),
        ("from March 2024 to date", D(2024, 3, 1), None),
        ("on 01/03/2024", D(2024, 3, 1), D(2024, 3, 1)),
        ("1/3/24", D(2024, 3, 1), D(2024, 3, 1)),
        ("2024-03-01", D(2024, 3, 1), D(2024, 3, 1)),
        ("March 1st, 2024", D(2024, 3, 1), D(2024, 3, 1)),
        ("the 1st of March 2024", D(2024, 3, 1), D(2024, 3, 1)),
        ("on March 3", D(2024, 3, 3), D(2024, 3, 3)),
        ("yesterday", D(2024, 6, 14), D(2024, 6, 14)),
        ("today", TODAY, TODAY),
        ("in 2022 and 2023", D(2022, 1, 1), D(2023, 12, 31)),  # covering span
        ("in May or June", D(2024, 5, 1), D(2024, 6, 30)),  # June takes "in" from May
        ("since January 2024 before March 2024", D(2024, 1, 1), D(2024, 2, 29)),  # intersection
    ],
)
def test_date_phrase(phrase: str, date_from: date | None, date_to: date | None) -> None:
    u = understand(f"home visits {phrase}", today=TODAY)
    assert (u.date_from, u.date_to) == (date_from, date_to)
    assert u.lexical_query == "home visits"  # the phrase, with its preposition, is cut out
    assert u.dense_query == "home visits"


@pytest.mark.parametrize(
    "query",
    [
        "spoke to Jan about the plan",  # a name, not January
        "she may have been hit",  # a verb, not May
        "letters by Jan",  # a bare month needs a time preposition
        "in Jan's house",
        "2023-24 budget",  # a financial year
        "CASE-2023 records",
        "paid £2000",
        "31/02/2024",  # no such day
        "01/13/2024",  # day first: there is no month 13
        "since the last review",
        "section 47 enquiry",
    ],
)
def test_not_a_date(query: str) -> None:
    u = understand(query, today=TODAY)
    assert (u.date_from, u.date_to) == (None, None)


def test_phrase_spans_cover_preposition_and_article() -> None:
    text = "minutes since the 3rd of May and in 2023"
    scan = find_dates(text, TODAY)
    assert [text[p.start : p.end] for p in scan.phrases] == ["since the 3rd of May", "in 2023"]


def test_date_words_in_a_date_phrase_are_not_recency() -> None:
    u = understand("case notes last week", today=TODAY)
    assert u.recency is False
    assert u.date_from == date(2024, 6, 3)


@pytest.mark.parametrize(
    "text",
    ["last 999 years", "999 years ago", "0000-01-01", "99/99/9999", "after 31/12/9999",
     "before 01/01/0001", "between Dec 9999 and Jan", "in Jan"],
)  # fmt: skip
def test_out_of_range_numbers_never_raise(text: str) -> None:
    find_dates(text, date(1, 6, 1))
    find_dates(text, TODAY)
