"""Shared fixtures: a record factory, the real embedding model (cached), fresh stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

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


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "store.sqlite3")
    yield s
    s.close()


@pytest.fixture
def indexer(store: SqliteStore, embedder: Embedder) -> Indexer:
    return Indexer(store, embedder, ChunkingConfig(max_words=60, overlap_sentences=1))


@pytest.fixture
def searcher(store: SqliteStore, embedder: Embedder) -> HybridSearcher:
    return HybridSearcher(store, embedder)
