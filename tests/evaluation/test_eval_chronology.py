"""The chronology figure on the synthetic case file: placed significant events found, and
every citation exact."""

from __future__ import annotations

import json

import pytest

from evaluation.chronology import evaluate, main, placed_events
from evaluation.synthetic import SyntheticDocument, build_collection


@pytest.fixture(scope="module")
def documents() -> tuple[SyntheticDocument, ...]:
    return build_collection(seed=7, n_cases=4).documents


def test_most_placed_events_are_found_and_every_citation_is_exact(
    documents: tuple[SyntheticDocument, ...],
) -> None:
    figures = evaluate(documents)
    assert figures.placed == len(placed_events(documents)) > 20
    assert figures.recall >= 0.95
    assert figures.events > 0
    assert figures.exact_citations == figures.events


def test_the_command_prints_sorted_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--seed", "7", "--cases", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["all_citations_exact"] is True
    assert list(out) == sorted(out)
