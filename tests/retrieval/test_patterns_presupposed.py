"""The pattern view counts a negation that presupposes the concern happened before ("no further
missing episodes") as history of it, and still sets a plain negation apart."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from factories import make_record

from connectors.record import Record
from indexer import Indexer
from retrieval.chunking import ChunkingConfig
from retrieval.embedding import Embedder
from retrieval.models import AccessScope
from retrieval.patterns import PatternFinder, PatternQuery
from retrieval.search import HybridSearcher
from retrieval.store import RecordStore

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
    return [
        make_record(
            id=f"{case}-{i}",
            case_id=case,
            text=text,
            created_at=f"2024-0{1 + i}-15",
            acl=[TEAM],
        )
        for case, texts in CASES.items()
        for i, text in enumerate([*texts, ROUTINE])
    ]


@pytest.fixture(scope="module")
def searcher(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[HybridSearcher]:
    opened = RecordStore(tmp_path_factory.mktemp("presupposed") / "store.sqlite3")
    Indexer(opened, embedder, ChunkingConfig(max_words=60)).apply(_records(), source="t")
    yield HybridSearcher(opened, embedder)
    opened.close()


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
