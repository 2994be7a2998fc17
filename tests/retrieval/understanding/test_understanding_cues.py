"""Recency cues set ``recency`` and leave the query; negation cues set ``negated``."""

from __future__ import annotations

from datetime import date

import pytest

from retrieval.understanding import understand

TODAY = date(2024, 6, 15)


@pytest.mark.parametrize(
    ("query", "lexical"),
    [
        ("current safety plan", "safety plan"),
        ("Currently living with dad", "living with dad"),
        ("latest CP plan", "CP plan CPP child protection plan"),
        ("most recent ICPC", "ICPC initial child protection conference initial CP conference"),
        ("recent police callouts", "police callouts"),
        ("newest assessment", "assessment"),
        ("when was she last seen", "when was she seen"),
        ("the last 3 visits", "the 3 visits"),  # "last 3" is not a unit of time
        ("where does he live now", "where does he live"),
        ("is he still missing", "is he missing"),
        ("immunisations up to date", "immunisations"),
        ("up-to-date chronology", "chronology"),
        ("address at the moment", "address"),
        ("at present who has PR", "who has PR parental responsibility"),
    ],
)
def test_recency_cue_is_cut(query: str, lexical: str) -> None:
    u = understand(query, today=TODAY)
    assert u.recency is True
    assert u.lexical_query == lexical


@pytest.mark.parametrize(
    "query",
    [
        "child's last name",
        "at last engaging",
        "removal as a last resort",
        "current account statements",
        "still born baby",
        "nowhere to live",
        "knowledge of neglect",
        "visits last week",  # a date phrase, not recency
        "in the last 6 months",
    ],
)
def test_not_recency(query: str) -> None:
    assert understand(query, today=TODAY).recency is False


@pytest.mark.parametrize(
    ("query", "negated"),
    [
        ("no concerns about neglect", True),
        ("was not brought to appointments", True),
        ("didn't attend school", True),
        ("mother denied hitting him", True),
        ("never seen alone", True),
        ("no longer living at home", True),
        ("without supervision", True),
        ("concerns about neglect", False),
        ("knocked on the door", False),
        ("notes of the visit", False),
        ("nobodys", False),
    ],
)
def test_negation(query: str, negated: bool) -> None:
    assert understand(query, today=TODAY).negated is negated
