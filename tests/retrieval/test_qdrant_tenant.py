"""Two councils' stores in one Qdrant collection (``CASESEARCH_QDRANT_TENANT``): each point
carries its council, indexed as a tenant; the same record id in both councils is two points;
a council's searches, deletions, counts and reconcile see and touch its own points only.
qdrant-client local mode, in memory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from factories import HashEmbedder, record_factory
from pydantic import ValidationError
from qdrant_client import QdrantClient, models

from app.services import build_qdrant
from app.settings import Settings
from indexer import Indexer
from retrieval.chunking import ChunkingConfig
from retrieval.qdrant_index import QdrantIndex
from retrieval.qdrant_points import TENANT, point_id
from retrieval.qdrant_queries import Scope
from retrieval.qdrant_reconcile import reconcile
from retrieval.store import RecordStore

DIM = 384
NORTH_TEXT = "The fridge was empty and the children had not eaten since Friday."
SOUTH_TEXT = "Police were called to a domestic incident at the address on Saturday."
TEAM = Scope(frozenset({"team:a"}))


class Council:
    """One council: its own store, its index on the shared collection, its one record."""

    def __init__(self, client: QdrantClient, tenant: str, store: RecordStore, text: str):
        self.store = store
        self.index = QdrantIndex(client, "shared", DIM, tenant=tenant)
        self.index.ensure_collection()
        # each council numbers its records alike: the same id in both
        self.record = record_factory("COUNCIL")(text=text)
        self.indexer = Indexer(store, HashEmbedder(), ChunkingConfig(), qdrant=self.index)
        self.indexer.apply([self.record], source="t")


@pytest.fixture
def councils(tmp_path: Path) -> Iterator[tuple[Council, Council]]:
    client = QdrantClient(location=":memory:")
    north_store = RecordStore(tmp_path / "north.sqlite3")
    south_store = RecordStore(tmp_path / "south.sqlite3")
    try:
        yield (
            Council(client, "north", north_store, NORTH_TEXT),
            Council(client, "south", south_store, SOUTH_TEXT),
        )
    finally:
        north_store.close()
        south_store.close()
        client.close()


def test_each_point_carries_its_council_and_the_same_record_id_is_two_points(
    councils: tuple[Council, Council],
) -> None:
    north, south = councils
    assert north.record.id == south.record.id
    assert north.index.point_id(north.record.id, 0) != south.index.point_id(south.record.id, 0)
    assert point_id(north.record.id, 0) not in {  # and neither is the untenanted id
        north.index.point_id(north.record.id, 0),
        south.index.point_id(south.record.id, 0),
    }
    points, _ = north.index.client.scroll("shared", limit=10, with_payload=True)
    assert sorted(str((p.payload or {})[TENANT]) for p in points) == ["north", "south"]
    assert north.index.count() == south.index.count() == 1


def test_a_council_searches_only_its_own_points(councils: tuple[Council, Council]) -> None:
    north, south = councils
    vector = np.asarray(HashEmbedder().embed([SOUTH_TEXT])[0], dtype=np.float32)
    # south's text, asked in north: north's own record is all it can get, by any path
    assert len(north.index.nearest(vector, limit=10, scope=TEAM)) == 1
    assert [c.record_id for c in north.index.dense(vector, TEAM, limit=10)] == [north.record.id]
    hits = north.index.hybrid(["police", "domestic"], vector, TEAM, limit=10)
    assert [c.record_id for c in hits] == [north.record.id]  # from its dense list only
    assert north.index.lexical(["police", "domestic"], TEAM, limit=10) == []
    assert south.index.lexical(["police", "domestic"], TEAM, limit=10) != []


def test_a_council_deletes_and_reconciles_its_own_points_only(
    councils: tuple[Council, Council],
) -> None:
    north, south = councils
    assert reconcile(north.store, north.index, repair=True).stray == 0  # south's are not strays
    assert south.index.count() == 1
    north.indexer.apply([], source="t")
    north.indexer.remove_absent("t", set())
    assert north.index.count() == 0
    assert south.index.count() == 1
    assert reconcile(south.store, south.index, repair=False).total == 0


def test_the_tenant_index_is_made_with_is_tenant(monkeypatch: pytest.MonkeyPatch) -> None:
    client = QdrantClient(location=":memory:")
    made: list[tuple[str, Any]] = []
    original = client.create_payload_index

    def spy(collection: str, field: str, schema: Any = None, **kw: Any) -> Any:
        made.append((field, schema))
        return original(collection, field, schema, **kw)

    monkeypatch.setattr(client, "create_payload_index", spy)
    QdrantIndex(client, "shared", DIM, tenant="north").ensure_collection()
    tenant_index = dict(made)[TENANT]
    assert isinstance(tenant_index, models.KeywordIndexParams)
    assert tenant_index.is_tenant is True
    made.clear()
    QdrantIndex(client, "shared", DIM).ensure_collection()  # no tenant: no tenant index
    assert TENANT not in dict(made)
    client.close()


def test_the_setting_names_the_tenant_and_refuses_odd_ids(tmp_path: Path) -> None:
    assert Settings().qdrant_tenant is None
    settings = Settings(qdrant_url=f"local:{tmp_path / 'q'}", qdrant_tenant="council-42")
    index = build_qdrant(settings, DIM)
    assert index is not None
    assert index.tenant == "council-42"
    index.client.close()
    with pytest.raises(ValidationError, match="CASESEARCH_QDRANT_TENANT"):
        Settings(qdrant_tenant="north council")
