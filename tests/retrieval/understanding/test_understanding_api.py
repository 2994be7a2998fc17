"""End-to-end behaviour of ``understand`` on the queries practitioners actually type."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

import pytest

from retrieval.understanding import QueryUnderstanding, understand

TODAY = date(2024, 6, 15)  # a Saturday


def test_current_misspelt_safety_plan() -> None:
    u = understand("current saftey plan", today=TODAY)
    assert u.recency is True
    assert u.doc_types == ("safety_plan",)
    assert u.corrections == (("saftey", "safety"),)
    assert u.lexical_query == "saftey plan safety"  # typo kept, correction added, "current" cut
    assert u.dense_query == "safety plan"


def test_last_seen_by_the_gp() -> None:
    u = understand("when was she last seen by the GP", today=TODAY)
    assert u.recency is True
    assert "health_contact" in u.doc_types
    assert "seen" in u.lexical_query.split()
    assert "last" not in u.lexical_query.split()
    assert ("GP", "general practitioner") in u.expansions
    assert u.dense_query == "when was she seen by the GP general practitioner"


def test_police_involvement_since_march() -> None:
    u = understand("any police involvement since March 2024", today=TODAY)
    assert u.date_from == date(2024, 3, 1)
    assert u.date_to is None
    assert u.doc_types == ("police_notification",)
    assert u.lexical_query == "any police involvement"
    assert u.recency is False


@pytest.mark.parametrize(
    ("query", "lexical", "dense"),
    [
        ("ICPC minutes",
         "ICPC minutes initial child protection conference initial CP conference",
         "ICPC initial child protection conference minutes"),
        ("initial child protection conference",
         "initial child protection conference ICPC initial CP conference",
         "initial child protection conference"),
        ("stratergy meeting in the last 6 months",
         "stratergy meeting strategy strat strategy discussion", "strategy meeting"),
        ("most recent strat", "strat strategy discussion strategy meeting",
         "strat strategy discussion"),
        ("PPNs for this family",
         "PPNs for this family police protection notice public protection notice"
         " police notification police",
         "PPNs police protection notice for this family"),
        ("latest", "", ""),
        ("since March 2024", "", ""),
        # safeguarding concerns are the indicator library's (retrieval/indicators), not words
        # added here
        ("neglect", "neglect", "neglect"),
    ],
)  # fmt: skip
def test_query_texts(query: str, lexical: str, dense: str) -> None:
    u = understand(query, today=TODAY)
    assert (u.lexical_query, u.dense_query) == (lexical, dense)


def test_result_is_a_frozen_record_of_the_original() -> None:
    u = understand("CP plan", today=TODAY)
    assert isinstance(u, QueryUnderstanding)
    assert u.original == "CP plan"
    with pytest.raises(dataclasses.FrozenInstanceError):
        u.recency = True  # type: ignore[misc]


def test_a_datetime_today_is_taken_as_its_date() -> None:
    u = understand("yesterday", today=datetime(2024, 6, 15, 23, 59))
    assert (u.date_from, u.date_to) == (date(2024, 6, 14), date(2024, 6, 14))
    assert type(u.date_from) is date


def test_empty_query() -> None:
    u = understand("", today=TODAY)
    assert u == QueryUnderstanding("", "", (), "", (), False, None, None, (), (), False)


def test_vocabulary_exceptions_propagate() -> None:
    def broken(term: str) -> int:
        raise RuntimeError(term)

    with pytest.raises(RuntimeError):
        understand("neglet", today=TODAY, vocabulary=broken)
