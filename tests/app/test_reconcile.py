"""``casesearch reconcile`` finds and repairs drift between the record store and its Qdrant
collection (qdrant-client local mode on disk), injected in Qdrant directly: a point deleted, a
stray point added, a payload's permissions edited, a point written from another chunk;
``--check`` reports (exit 1) and writes nothing; a repair leaves no drift and nothing
embedded. On both store backends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from factories import HashEmbedder, record_factory
from qdrant_client import models

from app import cli
from app.services import QDRANT_COLLECTION
from app.settings import get_settings
from indexer import Indexer
from retrieval.chunking import ChunkingConfig
from retrieval.qdrant_index import QdrantIndex, client_for
from retrieval.qdrant_points import point_id
from retrieval.qdrant_reconcile import reconcile
from retrieval.store import RecordStore

DIM = 384  # what build_embedder's model says; nothing is embedded here


# numbered by this module: factories.record_factory says why
make_record = record_factory("RC")


LONG = (
    "The social worker visited the family home. The child was seen alone in her bedroom. "
    "Mother said the fridge had been empty since Friday. School reports poor attendance."
)


@pytest.fixture
def qdrant_path(tmp_path: Path) -> Path:
    return tmp_path / "qdrant"


@pytest.fixture
def indexed(store: RecordStore, qdrant_path: Path) -> Iterator[tuple[QdrantIndex, list[str]]]:
    index = QdrantIndex(client_for(f"local:{qdrant_path}"), QDRANT_COLLECTION, DIM)
    index.ensure_collection()
    records = [make_record(text=LONG), make_record(), make_record(acl=["team:b"])]
    Indexer(store, HashEmbedder(), ChunkingConfig(max_words=12), qdrant=index).apply(
        records, source="t"
    )
    yield index, [r.id for r in records]
    index.client.close()


def _drift(index: QdrantIndex) -> None:
    """A point deleted, a stray added, one payload's permissions widened, one point's content
    hash from another version: what a hand edit or an old backup leaves."""
    client, name = index.client, index.name
    points, _ = client.scroll(name, limit=100, with_payload=True)
    by_record: dict[str, list[Any]] = {}
    for p in points:
        assert p.payload is not None
        by_record.setdefault(str(p.payload["record_id"]), []).append(p)
    first, second, third = sorted(by_record.values(), key=len, reverse=True)
    client.delete(name, points_selector=[first[0].id], wait=True)
    client.set_payload(name, {"allow": ["team:a", "team:south"]}, points=[second[0].id], wait=True)
    client.set_payload(name, {"content_hash": "an older version"}, points=[third[0].id], wait=True)
    stray = dict(third[0].payload)
    stray.update(record_id="GONE-1", chunk_pk=999_999)
    vector = np.ones(DIM, dtype=np.float32).tolist()
    stray_point = models.PointStruct(
        id=point_id("GONE-1", 0), vector={"dense": vector}, payload=stray
    )
    client.upsert(name, points=[stray_point], wait=True)


def test_reconcile_finds_each_kind_of_drift_and_repairs_it(
    store: RecordStore, indexed: tuple[QdrantIndex, list[str]]
) -> None:
    index, _ = indexed
    clean = reconcile(store, index, repair=False)
    assert (clean.total, clean.chunks) == (0, index.count())
    _drift(index)
    found = reconcile(store, index, repair=False)
    assert (found.missing, found.stray, found.stale, found.content) == (1, 1, 1, 1)
    assert reconcile(store, index, repair=False).total == 4  # a check writes nothing
    repaired = reconcile(store, index, repair=True)
    assert repaired.repaired
    assert repaired.total == 4
    after = reconcile(store, index, repair=False)
    assert after.total == 0
    assert after.chunks == index.count()
    for p in index.client.scroll(index.name, limit=100, with_payload=True)[0]:
        assert p.payload is not None
        assert "team:south" not in p.payload["allow"]


def test_reconcile_counts_changes_not_yet_synced_as_drift_and_acknowledges_the_repair(
    store: RecordStore, indexed: tuple[QdrantIndex, list[str]]
) -> None:
    index, ids = indexed
    with store.transaction() as conn:  # committed, never synced (a crash before the write)
        store.update_permissions(
            conn, ids[1], ["team:c"], [], acl_hash="x", generation=store.next_generation(conn)
        )
    assert index.acknowledged(store) == store.generation() - 1
    assert reconcile(store, index, repair=False).stale == 1
    reconcile(store, index, repair=True)
    assert index.acknowledged(store) == store.generation()
    assert index.sync(store).upserted == 0  # nothing left to replay


def test_the_cli_checks_and_repairs(
    store: RecordStore,
    indexed: tuple[QdrantIndex, list[str]],
    qdrant_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    index, _ = indexed
    _drift(index)
    index.client.close()  # local mode: one client per directory at a time
    target = store.postgresql and store.engine.url.render_as_string(hide_password=False)
    if target:
        monkeypatch.setenv("CASESEARCH_DATABASE_URL", target)
    else:
        assert store.path is not None
        store.close()  # the last connection folds the write-ahead log into the file
        monkeypatch.setenv("CASESEARCH_DATA_DIR", str(store.path.parent))
        store.path.rename(store.path.with_name("casesearch.sqlite3"))
    monkeypatch.setenv("CASESEARCH_QDRANT_URL", f"local:{qdrant_path}")
    get_settings.cache_clear()
    try:
        assert cli.main(["reconcile", "--check"]) == 1
        out = capsys.readouterr().out
        assert "missing 1, stray 1, content 1, stale payload 1" in out
        assert cli.main(["reconcile"]) == 0
        assert "repaired" in capsys.readouterr().out
        assert cli.main(["reconcile", "--check"]) == 0
        assert "missing 0, stray 0, content 0, stale payload 0" in capsys.readouterr().out
    finally:
        get_settings.cache_clear()


def test_the_cli_says_when_qdrant_is_not_configured(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CASESEARCH_QDRANT_URL", raising=False)
    monkeypatch.setenv("CASESEARCH_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        assert cli.main(["reconcile", "--check"]) == 1
        assert "CASESEARCH_QDRANT_URL is not set" in capsys.readouterr().err
    finally:
        get_settings.cache_clear()
