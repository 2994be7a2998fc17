"""Qdrant follows the record store through the store's change log (the outbox), on both store
backends and qdrant-client's local mode on disk: what the indexer commits reaches Qdrant after
each batch; an edit replaces the record's points; a permission change is a payload update with
nothing embedded or re-written; a deletion deletes; and a Qdrant write that fails after the
store committed is replayed by the next sync, so nothing is lost."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from factories import record_factory
from qdrant_target import qdrant_index

from connectors.registry import connector_from_source
from indexer import Indexer
from retrieval.chunking import ChunkingConfig
from retrieval.errors import IndexSyncError
from retrieval.qdrant_index import QdrantIndex
from retrieval.qdrant_points import point_id
from retrieval.store import RecordStore

DIM = 16


# numbered by this module: factories.record_factory says why
make_record = record_factory("QS")


class HashEmbedder:
    """Unit vectors from a hash of each text (no model to load); counts the texts it embeds."""

    fingerprint = "test-hash-16"
    dimension = DIM

    def __init__(self) -> None:
        self.texts = 0

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        self.texts += len(texts)
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for i, text in enumerate(texts):
            raw = hashlib.blake2b(text.encode(), digest_size=DIM).digest()
            v = np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 127.5
            out[i] = v / np.linalg.norm(v)
        return out


@pytest.fixture
def qdrant(tmp_path: Path) -> Iterator[QdrantIndex]:
    with qdrant_index(tmp_path / "qdrant", "chunks", DIM) as index:
        yield index


@pytest.fixture
def model() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture
def indexer(store: RecordStore, model: HashEmbedder, qdrant: QdrantIndex) -> Indexer:
    return Indexer(store, model, ChunkingConfig(max_words=12, overlap_sentences=0), qdrant=qdrant)


def _points(index: QdrantIndex) -> dict[str, dict[str, Any]]:
    points, _ = index.client.scroll(index.name, limit=10_000, with_payload=True)
    return {str(p.id): dict(p.payload or {}) for p in points}


def _vectors(index: QdrantIndex) -> dict[str, list[float]]:
    points, _ = index.client.scroll(index.name, limit=10_000, with_vectors=["dense"])
    out = {}
    for p in points:
        assert isinstance(p.vector, dict)
        out[str(p.id)] = np.asarray(p.vector["dense"], dtype=np.float32).tolist()
    return out


def _store_points(store: RecordStore) -> dict[str, tuple[int, int]]:
    """point id → (record pk, chunk pk) of every chunk the store holds."""
    out = {}
    with store.snapshot() as conn:
        pks = store.record_pks(conn)
        records = store.indexed_records(conn, pks)
        for record_pk, chunks in store.chunks_with_pks(conn, pks).items():
            for chunk_pk, chunk in chunks:
                out[point_id(records[record_pk].id, chunk.ordinal)] = (record_pk, chunk_pk)
    return out


def _in_step(store: RecordStore, index: QdrantIndex) -> None:
    """Qdrant holds exactly the store's chunks, each under its own pks, acknowledged."""
    expected = _store_points(store)
    held = _points(index)
    assert held.keys() == expected.keys()
    for pid, (record_pk, chunk_pk) in expected.items():
        assert (held[pid]["record_pk"], held[pid]["chunk_pk"]) == (record_pk, chunk_pk)
    assert index.acknowledged(store) == store.generation()


LONG = (
    "The social worker visited the family home. The child was seen alone in her bedroom. "
    "Mother said the fridge had been empty since Friday. School reports poor attendance."
)


def test_what_the_indexer_commits_reaches_qdrant(
    store: RecordStore, indexer: Indexer, qdrant: QdrantIndex
) -> None:
    records = [make_record(text=LONG), make_record(), make_record(acl=["team:b"])]
    indexer.apply(records, source="t")
    _in_step(store, qdrant)
    assert len(_points(qdrant)) > len(records)  # the long record has several chunks
    held = _points(qdrant)[point_id(records[2].id, 0)]
    assert (held["allow"], held["deny"], held["case_id"]) == (["team:b"], [], "CASE-1")


def test_an_edit_replaces_the_points_and_a_shorter_text_drops_the_rest(
    store: RecordStore, indexer: Indexer, qdrant: QdrantIndex
) -> None:
    record = make_record(text=LONG)
    indexer.apply([record], source="t")
    assert len(_points(qdrant)) > 1
    shorter = make_record(id=record.id, text="Only one short sentence now.")
    summary = indexer.apply([shorter], source="t")
    assert summary.updated == 1
    _in_step(store, qdrant)
    assert list(_points(qdrant)) == [point_id(record.id, 0)]


def test_a_permission_change_is_a_payload_update_nothing_embedded_or_rewritten(
    store: RecordStore, indexer: Indexer, qdrant: QdrantIndex, model: HashEmbedder
) -> None:
    record = make_record(text=LONG)
    indexer.apply([record, make_record()], source="t")
    vectors = _vectors(qdrant)
    embedded = model.texts
    upserts = 0
    real_upsert = qdrant.client.upsert

    def counting_upsert(*args: Any, **kwargs: Any) -> Any:
        nonlocal upserts
        upserts += 1
        return real_upsert(*args, **kwargs)

    qdrant.client.upsert = counting_upsert  # type: ignore[method-assign]
    revoked = replace(record, acl=("team:b",), deny=("user:amy",))
    summary = indexer.apply([revoked], source="t")
    assert summary.acl_changed == 1
    assert model.texts == embedded  # no embedding
    assert upserts == 0  # no point re-written
    assert _vectors(qdrant) == vectors
    _in_step(store, qdrant)
    for pid, payload in _points(qdrant).items():
        if payload["record_id"] == record.id:
            assert (payload["allow"], payload["deny"]) == (["team:b"], ["user:amy"]), pid


def test_a_deletion_deletes_the_points(
    store: RecordStore, indexer: Indexer, qdrant: QdrantIndex
) -> None:
    gone, kept = make_record(text=LONG), make_record()
    indexer.apply([gone, kept], source="t")
    indexer.remove_absent("t", {kept.id})
    _in_step(store, qdrant)
    assert {p["record_id"] for p in _points(qdrant).values()} == {kept.id}


@pytest.mark.parametrize("failing", ["upsert", "batch_update_points", "delete"])
def test_a_qdrant_write_failing_after_the_commit_is_replayed(
    store: RecordStore,
    indexer: Indexer,
    qdrant: QdrantIndex,
    failing: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The kill between the store's commit and the Qdrant write: the write raises, the store
    keeps the batch, the acknowledged generation does not move; the next sync brings every
    change, of every kind (new, edited, revoked, deleted), to Qdrant."""
    edited, revoked, deleted = make_record(text=LONG), make_record(), make_record()
    indexer.apply([edited, revoked, deleted], source="t")
    acknowledged = qdrant.acknowledged(store)
    real = getattr(qdrant.client, failing)
    broken = True

    def flaky(*args: Any, **kwargs: Any) -> Any:
        if broken:
            raise ConnectionError("qdrant went away")
        return real(*args, **kwargs)

    setattr(qdrant.client, failing, flaky)
    added = make_record(text="A new strategy discussion was held.")
    shorter = make_record(id=edited.id, text="Only one short sentence now.")
    summary = indexer.apply([shorter, replace(revoked, acl=("team:b",)), added], source="t")
    indexer.remove_absent("t", {edited.id, revoked.id, added.id})  # a second commit
    assert (summary.updated, summary.acl_changed, summary.added) == (1, 1, 1)
    assert "could not follow the store" in caplog.text
    assert qdrant.acknowledged(store) == acknowledged  # nothing acknowledged
    assert store.document(added.id) is not None  # the store committed
    broken = False
    report = qdrant.sync(store)  # the next sync: a later batch, a push, or reconcile
    assert report.generation == store.generation()
    _in_step(store, qdrant)
    payloads = _points(qdrant)
    assert payloads[point_id(revoked.id, 0)]["allow"] == ["team:b"]
    assert deleted.id not in {p["record_id"] for p in payloads.values()}
    assert added.id in {p["record_id"] for p in payloads.values()}


def test_a_run_whose_last_sync_fails_says_so_and_keeps_the_records(
    store: RecordStore, indexer: Indexer, qdrant: QdrantIndex, tmp_path: Path
) -> None:
    """The sync at the end of ``casesearch index`` raising: one clear error naming what to do,
    not a traceback, and the store keeps what the run committed."""
    source = tmp_path / "records.jsonl"
    line = {"id": "SYNC-1", "text": "A home visit note.", "acl": ["team:a"]}
    source.write_text(json.dumps(line) + "\n", encoding="utf-8")

    def down(*_args: Any, **_kwargs: Any) -> Any:
        raise ConnectionError("qdrant went away")

    qdrant.client.upsert = down  # type: ignore[method-assign]
    with pytest.raises(IndexSyncError, match="reconcile") as raised:
        indexer.run(connector_from_source(f"jsonl:{source}"))
    assert "ConnectionError: qdrant went away" in str(raised.value)
    assert store.counts()["records"] == 1


def test_a_sync_with_nothing_new_writes_nothing(
    store: RecordStore, indexer: Indexer, qdrant: QdrantIndex
) -> None:
    indexer.apply([make_record()], source="t")
    report = qdrant.sync(store)
    assert (report.upserted, report.payloads, report.deleted) == (0, 0, 0)
    assert store.get_meta(qdrant.acknowledged_key) == str(store.generation())


def test_a_first_sync_loads_a_store_indexed_without_qdrant(
    store: RecordStore, model: HashEmbedder, qdrant: QdrantIndex
) -> None:
    Indexer(store, model, ChunkingConfig(max_words=12)).apply(
        [make_record(text=LONG), make_record()], source="t"
    )
    assert qdrant.acknowledged(store) is None
    embedded = model.texts
    report = qdrant.sync(store)
    assert report.upserted == len(_store_points(store))
    assert model.texts == embedded  # the stored vectors, not new ones
    _in_step(store, qdrant)
