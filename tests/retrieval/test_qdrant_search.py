"""Search with the dense list from Qdrant (qdrant-client local mode on disk), on both store
backends: the same ranking as the in-memory matrix for a caller (exact cosine either way at
this size), no vectors held in the process, and a record whose permission the store revoked
while Qdrant still allows it never reaching the caller (the re-check against the store)."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest
from factories import record_factory
from qdrant_target import qdrant_index

from indexer import Indexer
from retrieval.chunking import ChunkingConfig
from retrieval.embedding import Embedder
from retrieval.models import AccessScope, SearchFilters, SearchRequest
from retrieval.qdrant_index import QdrantIndex
from retrieval.search import HybridSearcher
from retrieval.store import RecordStore

# numbered by this module: factories.record_factory says why
make_record = record_factory("QR")


TEXTS = [
    ("case_note", "Home visit: the fridge was empty and the children had not eaten since Friday."),
    ("case_note", "Mother said she could not afford food; the kitchen was dirty and cold."),
    (
        "strategy_discussion",
        "Strategy discussion about a bruise on the child's arm seen at school.",
    ),
    ("case_note", "The child told her teacher that dad hit her with a belt last week."),
    ("assessment", "Assessment: school attendance has fallen to sixty per cent this term."),
    ("case_note", "Head lice again; the school nurse has written to mum about hygiene."),
    ("safety_plan", "Safety plan: mum will not allow her partner into the home overnight."),
    ("case_note", "Police were called to a domestic incident at the address on Saturday."),
    ("case_note", "The GP confirmed the baby's weight is below the expected centile."),
    ("case_note", "Grandmother has offered to look after the children at weekends."),
]
QUERIES = ["no food in the house", "bruise at school", "domestic violence", "baby weight"]
AMY = AccessScope.of("user:amy", "team:north")
MODES: tuple[Literal["dense", "hybrid"], ...] = ("dense", "hybrid")


@pytest.fixture
def qdrant(tmp_path: Path) -> Iterator[QdrantIndex]:
    with qdrant_index(tmp_path / "qdrant", "chunks", 384) as index:
        yield index


@pytest.fixture
def indexed(store: RecordStore, embedder: Embedder, qdrant: QdrantIndex) -> list[str]:
    records = [
        make_record(
            doc_type=doc_type,
            text=text,
            case_id=f"CASE-{i % 3}",
            created_at=f"2024-0{1 + i % 9}-1{i % 10}",
            # two records amy may not see: one of another team, one denying her
            acl=["team:south"] if i == 7 else ["team:north"],
            deny=["user:amy"] if i == 3 else [],
        )
        for i, (doc_type, text) in enumerate(TEXTS)
    ]
    Indexer(store, embedder, ChunkingConfig(max_words=60), qdrant=qdrant).apply(records, source="t")
    return [r.id for r in records]


def _ranked(searcher: HybridSearcher, request: SearchRequest) -> list[tuple[str, float]]:
    return searcher.rank_ids(request)


@pytest.mark.parametrize("mode", ["hybrid", "dense"])
@pytest.mark.parametrize("understand", [True, False])
def test_search_with_qdrant_ranks_as_the_matrix_does(
    store: RecordStore,
    embedder: Embedder,
    qdrant: QdrantIndex,
    indexed: list[str],
    mode: str,
    understand: bool,
) -> None:
    matrix = HybridSearcher(store, embedder)
    remote = HybridSearcher(store, embedder, qdrant=qdrant)
    for text in QUERIES:
        for filters in (SearchFilters(), SearchFilters(case_ids=("CASE-1", "CASE-2"))):
            request = SearchRequest(
                text=text,
                scope=AMY,
                mode=mode,  # type: ignore[arg-type]
                understand=understand,
                filters=filters,
                top_k=10,
            )
            expected = _ranked(matrix, request)
            found = _ranked(remote, request)
            assert [i for i, _ in found] == [i for i, _ in expected], (text, filters)
            for (_, a), (_, b) in zip(found, expected, strict=True):
                assert math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)
            assert {indexed[3], indexed[7]}.isdisjoint(i for i, _ in found)
            hits = remote.search(request).hits
            assert [h.document_id for h in hits] == [i for i, _ in expected]
    assert remote.dense.vector_bytes == 0  # the vectors stay in Qdrant
    assert matrix.dense.vector_bytes > 0


def test_a_permission_revoked_in_the_store_but_not_yet_in_qdrant_never_reaches_the_caller(
    store: RecordStore,
    embedder: Embedder,
    qdrant: QdrantIndex,
    indexed: list[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    searcher = HybridSearcher(store, embedder, qdrant=qdrant)
    request = SearchRequest(text="bruise on the arm", scope=AMY, mode="dense", understand=False)
    revoked = indexed[2]
    assert revoked in [i for i, _ in searcher.rank_ids(request)]
    with store.transaction() as conn:  # the store's commit; Qdrant not told (the crash)
        generation = store.next_generation(conn)
        store.update_permissions(
            conn, revoked, ["team:south"], [], acl_hash="revoked", generation=generation
        )
    payload = qdrant.client.scroll(qdrant.name, limit=100, with_payload=True)[0]
    assert any(
        p.payload and p.payload["record_id"] == revoked and p.payload["allow"] == ["team:north"]
        for p in payload
    )  # Qdrant still allows it
    with caplog.at_level(logging.WARNING, logger="retrieval.dense"):
        for mode in MODES:
            for understand in (True, False):
                asked = SearchRequest(
                    text="bruise on the arm", scope=AMY, mode=mode, understand=understand
                )
                assert revoked not in [h.document_id for h in searcher.search(asked).hits]
                assert revoked not in [i for i, _ in searcher.rank_ids(asked)]
    with store.snapshot() as conn:
        pk = store.stored_states([revoked], conn)[revoked].pk
    assert f"record pk {pk}" in caplog.text
    assert "bruise" not in caplog.text  # no text in the log
    qdrant.sync(store)  # the replay: now Qdrant agrees, and nothing is dropped
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="retrieval.dense"):
        assert revoked not in [i for i, _ in searcher.rank_ids(request)]
    assert caplog.text == ""


def test_a_record_deleted_in_the_store_but_not_yet_in_qdrant_is_dropped(
    store: RecordStore, embedder: Embedder, qdrant: QdrantIndex, indexed: list[str]
) -> None:
    searcher = HybridSearcher(store, embedder, qdrant=qdrant)
    request = SearchRequest(text="head lice", scope=AMY, mode="dense", understand=False)
    gone = indexed[5]
    assert next(i for i, _ in searcher.rank_ids(request)) == gone
    with store.transaction() as conn:
        store.delete_document(conn, gone, store.next_generation(conn))
    assert gone not in [i for i, _ in searcher.rank_ids(request)]
    assert gone not in [h.document_id for h in searcher.search(request).hits]


def test_a_dense_search_without_a_scope_asks_qdrant_for_the_allowed_records(
    store: RecordStore, embedder: Embedder, qdrant: QdrantIndex, indexed: list[str]
) -> None:
    """What the pattern finder calls (``search_above`` with a mask, no scope) answers as the
    matrix does."""
    matrix = HybridSearcher(store, embedder)
    remote = HybridSearcher(store, embedder, qdrant=qdrant)
    vector = embedder.embed(["the children were hungry"])[0]
    from retrieval.access import scope_masks

    with store.snapshot() as conn:
        matrix.dense.sync(store, conn)
        remote.dense.sync(store, conn)
        _, allowed = scope_masks(conn, AMY, SearchFilters())
    for low in (-math.inf, 0.2):
        a = matrix.dense.search_above(vector, allowed, 5, low, 0.3)
        b = remote.dense.search_above(vector, allowed, 5, low, 0.3)
        assert [(c, r) for c, r, _ in b[0]] == [(c, r) for c, r, _ in a[0]]
        assert b[1].tolist() == a[1].tolist()
        assert b[2].tolist() == a[2].tolist()
