"""The scale benchmark's peers answer within the caller's scope: a team's worker gets only
records her principals allow and none deny, and a per-case search only that case's records.
Otherwise the peers' latency would be measured on a cheaper, unfiltered question."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from evaluation.bench.common import BenchConfig
from evaluation.bench.scale import StandInEmbedder, build_store
from evaluation.bench.scale_peers import (
    PeerChunk,
    PeerHit,
    PeerSearch,
    QdrantEdgePeer,
    RankBm25Peer,
    read_chunks,
)

QA = ("user:bench-qa", "role:qa")


@pytest.fixture(scope="module")
def chunks(tmp_path_factory: pytest.TempPathFactory) -> list[PeerChunk]:
    """A store of three generated cases copied to about 600 chunks, teams spread as in the
    benchmark."""
    folder = tmp_path_factory.mktemp("scale-peer-store")
    path, info = build_store(replace(BenchConfig.quick(), scale_base_cases=3), folder, 600)
    assert info["chunks"] >= 600
    return list(read_chunks(path))


@pytest.fixture(scope="module")
def qdrant(
    chunks: list[PeerChunk], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[QdrantEdgePeer]:
    peer = QdrantEdgePeer(tmp_path_factory.mktemp("shard") / "shard")
    assert peer.add(chunks) == len(chunks)
    yield peer
    peer.close()


def _searches(chunks: list[PeerChunk]) -> list[PeerSearch]:
    """Per team: a cross-case search and a search in each of two of its cases, as its worker
    and as the QA officer, with words taken from the case's own chunks."""
    teams = sorted({p for c in chunks for p in c.acl if p.startswith("team:")})
    assert len(teams) >= 3
    out = []
    for team in teams:
        own = [c for c in chunks if team in c.acl and c.case_id]
        cases = sorted({c.case_id for c in own})[:2]
        for case in cases:
            words = " ".join(next(c for c in own if c.case_id == case).terms[:6])
            for principals in (("user:bench-sw", team), QA):
                out.append(PeerSearch(words, principals, case))
                out.append(PeerSearch(words, principals, None))
    return out


def _check(hits: list[PeerHit], search: PeerSearch, chunks: list[PeerChunk]) -> None:
    records = {c.record_id: c for c in chunks}
    assert hits, search
    assert len(hits) <= 10
    caller = set(search.principals)
    for hit in hits:
        chunk = records[hit.record_id]
        assert caller & set(chunk.acl), (hit, search)
        assert not caller & set(chunk.deny), (hit, search)
        if search.case_id is not None:
            assert hit.case_id == chunk.case_id == search.case_id


def test_qdrant_edge_keeps_to_the_callers_records_and_case(
    qdrant: QdrantEdgePeer, chunks: list[PeerChunk]
) -> None:
    embedder = StandInEmbedder()
    for search in _searches(chunks):
        _check(qdrant.search(search, embedder.embed([search.text])[0]), search, chunks)


def test_rank_bm25_keeps_to_the_callers_records_and_case(chunks: list[PeerChunk]) -> None:
    bm25 = RankBm25Peer(chunks)
    for search in _searches(chunks):
        _check(bm25.search(search), search, chunks)
        if search.case_id is not None:
            _check(bm25.search_case_index(search), search, chunks)


def test_a_denied_record_is_never_returned_however_well_it_matches(tmp_path: Path) -> None:
    vector = np.ones(384, dtype=np.float32) / np.sqrt(384)

    def chunk(record: str, deny: tuple[str, ...], terms: tuple[str, ...]) -> PeerChunk:
        return PeerChunk(record, "case-1", ("team:a",), deny, terms, vector)

    chunks = [
        chunk("denied", ("user:sw",), ("neglect", "neglect", "school")),
        chunk("allowed", (), ("school", "visit")),
        chunk("other", (), ("housing",)),
    ]
    search = PeerSearch("neglect school", ("user:sw", "team:a"), "case-1")
    qdrant = QdrantEdgePeer(tmp_path / "shard")
    qdrant.add(chunks)
    for hits in (qdrant.search(search, vector), RankBm25Peer(chunks).search(search)):
        assert "denied" not in {h.record_id for h in hits}
        assert hits[0].record_id == "allowed"
    qdrant.close()
