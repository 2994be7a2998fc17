"""The pattern view counts a negation that presupposes the concern happened before ("no further
missing episodes") as history of it, and still sets a plain negation apart."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from factories import dated_case_file, searcher_over

from connectors.record import Record
from retrieval.embedding import Embedder
from retrieval.models import AccessScope
from retrieval.patterns import PatternFinder, PatternQuery
from retrieval.search import HybridSearcher

TEAM = "team:north"
ROUTINE = "The review meeting was moved to Thursday because the chair was on leave."
CASES: dict[str, tuple[str, ...]] = {
    # reviews after the episodes: none since, so there were some
    "CASE-SINCE": (
        "There have been no further missing episodes for two months.",
        "Dad said there have been no more missing episodes since the summer.",
    ),
    # never missing
    "CASE-NEVER": (
        "There have been no missing episodes.",
        "Mum said he has never gone missing.",
    ),
    # only a plan for what would happen
    "CASE-IF": (
        "If he goes missing again, Mum will call the police.",
        "Should he go missing again the return home interview will be arranged.",
    ),
}


def _records() -> list[Record]:
    return dated_case_file(CASES, acl=[TEAM], tail=[ROUTINE])


@pytest.fixture(scope="module")
def searcher(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[HybridSearcher]:
    with searcher_over(tmp_path_factory.mktemp("presupposed"), embedder, _records()) as searcher:
        yield searcher


def _find(finder: PatternFinder) -> dict[str, list[str]]:
    """Each shown case's evidence readings."""
    result = finder.find(PatternQuery(scope=AccessScope.of(TEAM), category="missing"))
    return {c.case_id: [e.assertion for e in c.evidence] for c in result.cases}


def test_no_further_episodes_shows_the_case_as_history_and_never_does_not(
    searcher: HybridSearcher,
) -> None:
    found = _find(PatternFinder(searcher))
    assert found == {"CASE-SINCE": ["historical", "historical"]}
    result = PatternFinder(searcher).find(
        PatternQuery(scope=AccessScope.of(TEAM), category="missing")
    )
    (case,) = result.cases
    for evidence in case.evidence:
        record = next(r for r in _records() if r.id == evidence.document_id)
        assert record.text[evidence.char_start : evidence.char_end] == evidence.text
        assert {"no further", "no more"} & set(evidence.cues)


def test_the_ablation_switch_sets_every_negation_apart(searcher: HybridSearcher) -> None:
    assert _find(PatternFinder(searcher, presupposed=False)) == {}
