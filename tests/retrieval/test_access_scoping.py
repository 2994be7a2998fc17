"""Nothing outside the caller's rights reaches the results, and top-k is computed inside them."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from factories import make_record
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.record import Record
from indexer import Indexer
from retrieval.access import candidate_records, scope_masks, visible_records
from retrieval.embedding import Embedder
from retrieval.models import AccessScope, Document, Mode, SearchFilters, SearchRequest
from retrieval.search import HybridSearcher
from retrieval.store import RecordStore

TEAMS = ["team:north", "team:south", "team:managers", "role:qa", "user:alice", "user:bob"]
TOPICS = [
    "Police attended after a domestic abuse incident at the family home.",
    "The health visitor saw the baby; weight is on the centile.",
    "School reports poor attendance and the child arrived hungry.",
    "Safety plan agreed: mum will not allow the ex-partner into the home.",
    "Strategy discussion with police and health; section 47 enquiry to start.",
    "Home conditions were poor with no food in the fridge.",
]


@pytest.fixture(scope="module")
def corpus(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> tuple[HybridSearcher, list[Record]]:
    from retrieval.chunking import ChunkingConfig
    from retrieval.store import RecordStore

    store = RecordStore(tmp_path_factory.mktemp("acl") / "s.db")
    records = []
    for i in range(36):
        acl = [TEAMS[i % 3]] + ([TEAMS[3]] if i % 4 == 0 else [])
        deny = [TEAMS[4 + i % 2]] if i % 5 == 0 else []
        records.append(
            make_record(
                text=f"{TOPICS[i % len(TOPICS)]} Entry {i}.",
                case_id=f"CASE-{i % 4}",
                acl=acl,
                deny=deny,
            )
        )
    Indexer(store, embedder, ChunkingConfig(max_words=60)).apply(records, source="t")
    return HybridSearcher(store, embedder), records


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    principals=st.sets(st.sampled_from(TEAMS), max_size=4),
    topic=st.sampled_from(TOPICS),
    mode=st.sampled_from(["bm25", "dense", "hybrid"]),
    case=st.sampled_from([None, "CASE-0", "CASE-3"]),
    top_k=st.integers(min_value=1, max_value=20),
)
def test_results_are_exactly_the_permitted_top_k(
    corpus: tuple[HybridSearcher, list[Record]],
    principals: set[str],
    topic: str,
    mode: Mode,
    case: str | None,
    top_k: int,
) -> None:
    searcher, records = corpus
    scope = AccessScope(frozenset(principals))
    result = searcher.search(
        SearchRequest(
            text=topic,
            scope=scope,
            filters=SearchFilters(case_id=case),
            mode=mode,
            top_k=top_k,
            understand=False,
        )
    )
    by_id = {r.id: r for r in records}
    permitted = {
        r.id
        for r in records
        if scope.permits(r.acl, r.deny) and (case is None or r.case_id == case)
    }
    returned = [h.document_id for h in result.hits]
    assert set(returned) <= permitted
    assert len(returned) == len(set(returned))
    # top-k is filled from permitted records alone: never short when more of them match (a
    # query word, or a meaning above the relevance floor), and the total counts no others
    assert result.total <= len(permitted)
    assert len(returned) == min(top_k, result.total)
    for hit in result.hits:
        assert by_id[hit.document_id].text[hit.snippet.char_start : hit.snippet.char_end] == (
            hit.snippet.text
        )


def test_deny_beats_allow(corpus: tuple[HybridSearcher, list[Record]]) -> None:
    searcher, records = corpus
    denied = [r for r in records if "user:alice" in r.deny]
    assert denied
    scope = AccessScope.of("user:alice", *TEAMS[:4])
    result = searcher.search(
        SearchRequest(text=denied[0].text, scope=scope, top_k=50, understand=False)
    )
    assert not {h.document_id for h in result.hits} & {r.id for r in denied}


def test_no_principals_sees_nothing(corpus: tuple[HybridSearcher, list[Record]]) -> None:
    searcher, _ = corpus
    result = searcher.search(
        SearchRequest(text="police", scope=AccessScope(frozenset()), understand=False)
    )
    assert result.hits == ()


PRINCIPALS = ["team:a", "team:b", "role:qa", "user:x", "user:y"]


@settings(max_examples=60, deadline=None)
@given(
    acls=st.lists(
        st.tuples(
            st.lists(st.sampled_from(PRINCIPALS), max_size=3, unique=True),
            st.lists(st.sampled_from(PRINCIPALS), max_size=2, unique=True),
            st.sampled_from(["CASE-1", "CASE-2"]),
            st.sampled_from(["visit_note", "safety_plan"]),
        ),
        min_size=1,
        max_size=12,
    ),
    principals=st.sets(st.sampled_from(PRINCIPALS), max_size=3),
    case=st.sampled_from([None, "CASE-1"]),
    doc_types=st.sampled_from([(), ("safety_plan",)]),
)
def test_the_fast_visibility_read_is_the_one_access_rule(
    acls: list[tuple[list[str], list[str], str, str]],
    principals: set[str],
    case: str | None,
    doc_types: tuple[str, ...],
) -> None:
    """``scope_masks`` (principals index, filters beside it) = ``candidate_records``."""
    with tempfile.TemporaryDirectory() as folder:
        store = RecordStore(Path(folder) / "s.db")
        try:
            with store.transaction() as conn:
                for i, (acl, deny, case_id, doc_type) in enumerate(acls):
                    store.upsert_document(
                        conn,
                        Document(
                            id=f"R{i}",
                            text="text",
                            acl=tuple(acl),
                            deny=tuple(deny),
                            case_id=case_id,
                            doc_type=doc_type,
                        ),
                        [],
                        content_hash="c",
                        acl_hash="a",
                        source="t",
                        generation=1,
                    )
            scope = AccessScope(frozenset(principals))
            filters = SearchFilters(case_id=case, doc_types=doc_types)
            with store.snapshot() as conn:
                _, seen = visible_records(conn, scope)
                visible, both = scope_masks(conn, scope, filters)
                expected, _ = candidate_records(conn, scope, filters)
                everyone, _ = candidate_records(conn, scope, SearchFilters())
            assert set(np.flatnonzero(visible)) == set(np.flatnonzero(everyone))
            assert seen == int(np.count_nonzero(everyone))
            assert set(np.flatnonzero(both)) == set(np.flatnonzero(expected))
            rule = {pk + 1 for pk, (acl, deny, _, _) in enumerate(acls) if scope.permits(acl, deny)}
            assert set(np.flatnonzero(visible).tolist()) == rule
        finally:
            store.close()
