"""The Qdrant index through qdrant-client's local mode: the caller's scope inside every query,
deny beating allow, BM25 with IDF over the caller's records and a length normalisation no
hidden record can move (property test), permission changes as payload updates, replays that
overwrite the same points, and Qdrant's scores equal to the BM25 formula written out here."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from qdrant_target import qdrant_index

from retrieval.lexical import K1, B
from retrieval.qdrant_index import QdrantIndex
from retrieval.qdrant_points import REFERENCE_LENGTH, IndexedChunk, point_id
from retrieval.qdrant_queries import Scope

DIM = 8
NORTH = Scope(frozenset({"team:north", "user:amy"}))


def _vector(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def _chunk(
    record_id: str,
    terms: str,
    allow: tuple[str, ...] = ("team:north",),
    deny: tuple[str, ...] = (),
    *,
    ordinal: int = 0,
    case_id: str = "CASE-1",
    day: dt.date | None = None,
) -> IndexedChunk:
    return IndexedChunk(
        record_id=record_id,
        ordinal=ordinal,
        case_id=case_id,
        doc_type="case_note",
        created=day,
        allow=allow,
        deny=deny,
        terms=terms,
        vector=_vector(sum(map(ord, record_id)) + ordinal),
    )


@pytest.fixture
def index() -> Iterator[QdrantIndex]:
    with qdrant_index(None, "chunks", DIM) as made:
        yield made


def test_scope_and_deny_hold_in_every_kind_of_query(index: QdrantIndex) -> None:
    index.upsert(
        [
            _chunk("N-1", "fridge empty"),
            _chunk("S-1", "fridge empty", allow=("team:south",)),
            _chunk("D-1", "fridge empty", deny=("user:amy",)),
        ]
    )
    for found in (
        index.lexical(["fridge"], NORTH, limit=10),
        index.dense(_vector(1), NORTH, limit=10),
        index.hybrid(["fridge"], _vector(1), NORTH, limit=10),
    ):
        assert [c.record_id for c in found] == ["N-1"]
    assert index.hybrid(["fridge"], _vector(1), Scope(frozenset()), limit=10) == []


def test_filters_narrow_inside_the_query(index: QdrantIndex) -> None:
    index.upsert(
        [
            _chunk("A", "visit", case_id="CASE-1", day=dt.date(2024, 3, 1)),
            _chunk("B", "visit", case_id="CASE-2", day=dt.date(2024, 5, 1)),
        ]
    )
    in_case = Scope(NORTH.principals, case_ids=("CASE-2",))
    assert [c.record_id for c in index.lexical(["visit"], in_case, limit=5)] == ["B"]
    spring = Scope(NORTH.principals, date_from=dt.date(2024, 2, 1), date_to=dt.date(2024, 3, 31))
    assert [c.record_id for c in index.dense(_vector(0), spring, limit=5)] == ["A"]


def test_scores_are_bm25_with_idf_over_the_visible_chunks(index: QdrantIndex) -> None:
    texts = {"A": "fridge empty fridge", "B": "fridge lice", "C": "school visit"}
    index.upsert([_chunk(k, v) for k, v in texts.items()])
    index.upsert([_chunk("H", "fridge fridge fridge", allow=("team:south",))])
    visible, holding = len(texts), 2
    idf = math.log((visible - holding + 0.5) / (holding + 0.5) + 1)

    def expected(terms: str) -> float:
        words = terms.split()
        tf = words.count("fridge")
        return idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * len(words) / REFERENCE_LENGTH))

    found = index.lexical(["fridge"], NORTH, limit=5)
    assert [c.record_id for c in found] == ["A", "B"]
    for c in found:
        assert c.score == pytest.approx(expected(texts[c.record_id]), rel=1e-5)


WORDS = ["fridge", "lice", "bruise", "school", "visit", "police", "food", "dirty"]
texts = st.lists(st.sampled_from(WORDS), min_size=1, max_size=12).map(" ".join)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    visible=st.lists(texts, min_size=1, max_size=6),
    hidden=st.lists(texts, min_size=1, max_size=6),
    query=st.lists(st.sampled_from(WORDS), min_size=1, max_size=3, unique=True),
)
def test_hidden_records_change_nothing_the_caller_gets(
    visible: list[str], hidden: list[str], query: list[str]
) -> None:
    """Adding records the caller may not see (however many, whatever they say) leaves her
    lexical, dense and hybrid answers, scores included, exactly as they were."""
    with qdrant_index(None, "chunks", DIM) as index:
        index.upsert([_chunk(f"V-{i}", t) for i, t in enumerate(visible)])
        vector = _vector(99)
        before = (
            index.lexical(query, NORTH, limit=20),
            index.dense(vector, NORTH, limit=20),
            index.hybrid(query, vector, NORTH, limit=20),
        )
        index.upsert(
            [_chunk(f"H-{i}", t, allow=("team:south",)) for i, t in enumerate(hidden)]
            + [_chunk(f"D-{i}", t, deny=("user:amy",)) for i, t in enumerate(hidden)]
        )
        after = (
            index.lexical(query, NORTH, limit=20),
            index.dense(vector, NORTH, limit=20),
            index.hybrid(query, vector, NORTH, limit=20),
        )
        for old, new in zip(before, after, strict=True):
            assert [(c.record_id, round(c.score, 6)) for c in old] == [
                (c.record_id, round(c.score, 6)) for c in new
            ]


def test_a_permission_change_is_a_payload_update(index: QdrantIndex) -> None:
    index.upsert([_chunk("R-1", "safety plan"), _chunk("R-2", "safety plan")])
    before = index.client.retrieve("chunks", [point_id("R-1", 0)], with_vectors=True)[0]
    index.set_permissions("R-1", allow=["team:south"], deny=[])
    assert [c.record_id for c in index.lexical(["safety"], NORTH, limit=5)] == ["R-2"]
    south = Scope(frozenset({"team:south"}))
    assert [c.record_id for c in index.lexical(["safety"], south, limit=5)] == ["R-1"]
    after = index.client.retrieve("chunks", [point_id("R-1", 0)], with_vectors=True)[0]
    assert after.vector == before.vector  # not re-embedded


def test_replays_overwrite_and_a_shorter_record_loses_its_old_chunks(index: QdrantIndex) -> None:
    chunks = [_chunk("R-1", "first part", ordinal=0), _chunk("R-1", "second part", ordinal=1)]
    index.upsert(chunks)
    index.upsert(chunks)  # a replay after a crash between commit and checkpoint
    assert index.count() == 2
    index.replace_record("R-1", [_chunk("R-1", "the only part")])
    assert index.count() == 1
    assert [c.record_id for c in index.lexical(["second"], NORTH, limit=5)] == []
    index.delete_records(["R-1"])
    assert index.count() == 0
