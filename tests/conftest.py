"""Shared fixtures: a record factory, the real embedding model (cached), fresh stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pg_schema import postgresql_schema

from indexer import Indexer
from retrieval.chunking import ChunkingConfig
from retrieval.embedding import CachedEmbedder, Embedder, SentenceTransformerEmbedder
from retrieval.search import HybridSearcher
from retrieval.store import SqliteStore

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real all-MiniLM-L6-v2, with a persistent cache so reruns skip known texts.

    A clean checkout (CI) starts with an empty cache, so the real model always runs there.
    """
    return CachedEmbedder(SentenceTransformerEmbedder(), REPO / ".cache" / "test-embeddings.db")


BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqliteStore]:
    """A fresh store on each backend: the embedded SQLite file and a PostgreSQL schema.

    Every test that takes this fixture is the conformance suite: it runs on both. A test of
    what only the embedded store does (its file, FTS5) is marked ``embedded_only``.
    """
    if request.param == "sqlite":
        s = SqliteStore(tmp_path / "store.sqlite3")
        yield s
        s.close()
        return
    with postgresql_schema() as url:
        s = SqliteStore(url)
        yield s
        s.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Drop the PostgreSQL runs of tests marked ``embedded_only`` (deselected, not skipped)."""
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_postgresql = callspec is not None and callspec.params.get("store") == "postgresql"
        (dropped if on_postgresql and item.get_closest_marker("embedded_only") else kept).append(
            item
        )
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture
def indexer(store: SqliteStore, embedder: Embedder) -> Indexer:
    return Indexer(store, embedder, ChunkingConfig(max_words=60, overlap_sentences=1))


@pytest.fixture
def searcher(store: SqliteStore, embedder: Embedder) -> HybridSearcher:
    return HybridSearcher(store, embedder)
