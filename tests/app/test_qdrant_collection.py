"""``CASESEARCH_QDRANT_COLLECTION`` names the collection that the index, its sync and
``casesearch reconcile`` use (a name Qdrant takes; anything else is refused naming the
variable), the store remembers per collection how far each was synced, and an existing
collection whose vectors do not fit the model stops the process when it is opened, with a
message naming the collection, both sizes and what to do. qdrant-client local mode; the
store tests run on both store backends."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import HashEmbedder, record_factory
from pydantic import ValidationError
from qdrant_client import QdrantClient, models

from app import cli
from app.services import build_qdrant
from app.settings import Settings, get_settings
from indexer import Indexer
from retrieval.chunking import ChunkingConfig
from retrieval.errors import IndexMismatchError
from retrieval.qdrant_index import QdrantIndex, client_for
from retrieval.qdrant_points import DENSE, SPARSE
from retrieval.qdrant_reconcile import reconcile
from retrieval.store import RecordStore

# numbered by this module: factories.record_factory says why
make_record = record_factory("QC")
DIM = 384  # the model's dimension (build_embedder's); nothing is embedded here
LONG = (
    "The social worker visited the family home. The child was seen alone in her bedroom. "
    "Mother said the fridge had been empty since Friday. School reports poor attendance."
)


def test_the_collection_is_casesearch_chunks_unless_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CASESEARCH_QDRANT_COLLECTION", raising=False)
    assert Settings().qdrant_collection == "casesearch_chunks"
    monkeypatch.setenv("CASESEARCH_QDRANT_COLLECTION", "council-north_2")
    assert Settings().qdrant_collection == "council-north_2"


@pytest.mark.parametrize("name", ["", "council north", "a/b", "../x", "chunks:1", "é", "x" * 256])
def test_names_qdrant_would_not_take_are_refused_naming_the_variable(name: str) -> None:
    with pytest.raises(ValidationError, match="CASESEARCH_QDRANT_COLLECTION"):
        Settings(qdrant_collection=name)
    with pytest.raises(ValueError, match="not a Qdrant collection name"):
        QdrantIndex(QdrantClient(location=":memory:"), name, DIM)


def test_the_index_sync_and_reconcile_use_the_configured_collection(
    store: RecordStore, tmp_path: Path
) -> None:
    settings = Settings(qdrant_url=f"local:{tmp_path / 'qdrant'}", qdrant_collection="north")
    index = build_qdrant(settings, DIM)
    assert index is not None
    try:
        records = [make_record(text=LONG), make_record(), make_record(acl=["team:b"])]
        Indexer(store, HashEmbedder(), ChunkingConfig(max_words=12), qdrant=index).apply(
            records, source="t"
        )
        names = [c.name for c in index.client.get_collections().collections]
        assert names == ["north"]
        drift = reconcile(store, index, repair=False)
        assert (drift.total, drift.chunks) == (0, index.count())
        assert index.count() > len(records)  # the long record has several chunks

        # pointed at a second, empty collection, the store's progress with the first does
        # not count: its first sync writes every chunk (none silently missing from search)
        south = QdrantIndex(index.client, "south", DIM)
        south.ensure_collection()
        assert south.acknowledged(store) is None
        assert south.sync(store).upserted == index.count() == south.count()
        assert index.acknowledged(store) == south.acknowledged(store) == store.generation()
    finally:
        index.client.close()


def _foreign_collection(path: Path, name: str, vectors: models.VectorParams | None) -> None:
    """A collection another model or program made: ``vectors`` as the named dense vector
    (None: one unnamed 384-dimensional vector), with the BM25 sparse vector."""
    client = QdrantClient(path=str(path))
    client.create_collection(
        name,
        vectors_config={DENSE: vectors} if vectors else models.VectorParams(
            size=DIM, distance=models.Distance.COSINE
        ),
        sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
    )  # fmt: skip
    client.close()


def test_a_collection_of_another_dimension_is_refused_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "qdrant"
    _foreign_collection(path, "old_model", models.VectorParams(size=768, distance="Cosine"))
    settings = Settings(qdrant_url=f"local:{path}", qdrant_collection="old_model")
    with pytest.raises(IndexMismatchError) as refused:
        build_qdrant(settings, DIM)
    message = str(refused.value)
    assert "'old_model'" in message
    assert "768-dimensional" in message
    assert "384-dimensional" in message
    assert "CASESEARCH_QDRANT_COLLECTION" in message
    assert "casesearch reconcile" in message
    # the client was closed: the folder can be opened again at once
    client_for(f"local:{path}").close()


@pytest.mark.parametrize(
    "vectors",
    [models.VectorParams(size=DIM, distance="Dot"), None],
    ids=["dot-product", "unnamed-vector"],
)
def test_a_collection_with_another_distance_or_layout_is_refused(
    tmp_path: Path, vectors: models.VectorParams | None
) -> None:
    path = tmp_path / "qdrant"
    _foreign_collection(path, "chunks", vectors)
    index = QdrantIndex(client_for(f"local:{path}"), "chunks", DIM)
    try:
        with pytest.raises(IndexMismatchError, match="'chunks'"):
            index.ensure_collection()
    finally:
        index.client.close()


def test_an_existing_collection_that_fits_is_opened_again(tmp_path: Path) -> None:
    where = f"local:{tmp_path / 'qdrant'}"
    for _ in range(2):
        index = QdrantIndex(client_for(where), "chunks", DIM)
        index.ensure_collection()
        index.client.close()


def test_the_cli_says_what_to_do_about_a_mismatched_collection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "qdrant"
    _foreign_collection(path, "casesearch_chunks", models.VectorParams(size=8, distance="Cosine"))
    monkeypatch.setenv("CASESEARCH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CASESEARCH_QDRANT_URL", f"local:{path}")
    monkeypatch.delenv("CASESEARCH_QDRANT_COLLECTION", raising=False)
    get_settings.cache_clear()
    try:
        assert cli.main(["reconcile", "--check"]) == 1
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert err.startswith("error: Qdrant collection 'casesearch_chunks' holds 8-dimensional")
    assert "Traceback" not in err
