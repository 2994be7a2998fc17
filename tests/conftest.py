"""Shared fixtures: a record factory, the real embedding model (cached), fresh stores."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pg_schema import postgresql_schema

from evaluation.bench.process import MODEL_DIR_VARIABLE
from indexer import Indexer
from retrieval.chunking import ChunkingConfig
from retrieval.embedding import CachedEmbedder, Embedder, SentenceTransformerEmbedder
from retrieval.search import HybridSearcher
from retrieval.store import RecordStore

REPO = Path(__file__).resolve().parents[1]

# One ONNX export of the query encoder for every server and CLI process the tests start (each
# would otherwise export into its own data directory, about 16 s each); inherited by them.
os.environ.setdefault(MODEL_DIR_VARIABLE, str(REPO / ".cache" / "models"))


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real all-MiniLM-L6-v2, with a persistent cache so reruns skip known texts.

    A clean checkout (CI) starts with an empty cache, so the real model always runs there.
    """
    return CachedEmbedder(SentenceTransformerEmbedder(), REPO / ".cache" / "test-embeddings.db")


BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The record store's backend: the embedded SQLite file, or PostgreSQL (a fresh schema of
    the local database, tests/pg_schema.py). Which tests run on PostgreSQL: see
    ``pytest_collection_modifyitems``."""
    return str(request.param)


@pytest.fixture
def store(backend: str, tmp_path: Path) -> Iterator[RecordStore]:
    """A fresh store on each backend."""
    if backend == "sqlite":
        s = RecordStore(tmp_path / "store.sqlite3")
        yield s
        s.close()
        return
    with postgresql_schema() as url:
        s = RecordStore(url)
        yield s
        s.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The conformance suite: the tests that run on both backends.

    A test taking the ``store`` fixture (retrieval, permissions, incremental indexing,
    deletion) runs on both unless marked ``embedded_only`` (what only the SQLite file does);
    a test that takes ``backend`` through the API's settings runs on PostgreSQL only when
    marked ``conformance``. The other PostgreSQL runs are deselected (not skipped).
    """
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_postgresql = callspec is not None and callspec.params.get("backend") == "postgresql"
        if not on_postgresql:
            wanted = True
        elif item.get_closest_marker("embedded_only") is not None:
            wanted = False
        else:
            wanted = item.get_closest_marker("conformance") is not None or "store" in getattr(
                item, "fixturenames", ()
            )
        (kept if wanted else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture
def indexer(store: RecordStore, embedder: Embedder) -> Indexer:
    return Indexer(store, embedder, ChunkingConfig(max_words=60, overlap_sentences=1))


@pytest.fixture
def searcher(store: RecordStore, embedder: Embedder) -> HybridSearcher:
    return HybridSearcher(store, embedder)
