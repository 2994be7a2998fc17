"""Builds the long-lived parts (store, model, searcher, indexer) from the settings."""

from __future__ import annotations

import logging
import os
import threading
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

from app.audit import AuditLog
from app.settings import Settings
from app.telemetry import Telemetry
from indexer import Indexer
from retrieval.embedding import CachedEmbedder, Embedder, SentenceTransformerEmbedder
from retrieval.errors import RetrievalError
from retrieval.onnx_embedding import OnnxEmbedder
from retrieval.openvino_embedding import BATCH_SIZE as OPENVINO_BATCH_SIZE
from retrieval.openvino_embedding import OpenVinoEmbedder
from retrieval.patterns import PatternFinder
from retrieval.qdrant_collection import DEFAULT_COLLECTION
from retrieval.qdrant_index import QdrantIndex, client_for
from retrieval.search import HybridSearcher
from retrieval.store import RecordStore

QDRANT_COLLECTION = DEFAULT_COLLECTION
"""The collection's default name (``CASESEARCH_QDRANT_COLLECTION`` names the one used)."""

_log = logging.getLogger(__name__)


@dataclass(slots=True)
class Services:
    settings: Settings
    store: RecordStore
    embedder: Embedder
    searcher: HybridSearcher
    patterns: PatternFinder
    indexer: Indexer
    audit: AuditLog
    telemetry: Telemetry
    # Bounds the searches computed at once (``limits.max_concurrent_searches``); None: no bound.
    search_slots: threading.BoundedSemaphore | None = field(default=None)
    # The dense index in Qdrant (``CASESEARCH_QDRANT_URL``); None: the in-memory matrix.
    qdrant: QdrantIndex | None = field(default=None)

    def search_slot(self) -> AbstractContextManager[object]:
        """Hold one search slot for the block (waiting for one, about first come, first served)."""
        return self.search_slots if self.search_slots is not None else nullcontext()

    def close(self) -> None:
        self.store.close()
        if self.qdrant is not None:
            self.qdrant.client.close()


def build_embedder(settings: Settings, *, serving: bool = False) -> Embedder:
    """The encoder the settings name: ``embedding.backend`` for indexing, and
    ``embedding.query_backend`` in a search server (``serving``), made ready there so that an
    ONNX export that cannot be made falls back to torch before the first search, not in it.
    OpenVINO is made ready wherever it is named, and torch is used (with a warning) when it
    cannot load, compile or match torch's vectors."""
    embedding = settings.embedding
    threads = embedding.serve_threads if serving else embedding.threads
    torch_model = SentenceTransformerEmbedder(
        batch_size=embedding.batch_size,
        precision=embedding.precision,
        device=embedding.device,
        threads=threads,
    )
    model: Embedder = torch_model
    backend = embedding.query_backend if serving else embedding.backend
    if backend == "onnx":
        onnx = OnnxEmbedder(
            embedding.model_dir or settings.data_dir / "models",
            batch_size=embedding.batch_size,
            threads=threads,
        )
        model = (
            _ready_or_torch(onnx, torch_model, "query encoder: ONNX Runtime") if serving else onnx
        )
    elif backend == "openvino":
        openvino = OpenVinoEmbedder(
            embedding.model_dir or settings.data_dir / "models",
            # its own batch (measured fastest with its two streams) unless one is set
            batch_size=(
                embedding.batch_size
                if "batch_size" in embedding.model_fields_set
                else OPENVINO_BATCH_SIZE
            ),
            threads=threads,
        )
        # loaded, compiled and checked here, not mid-build
        model = _ready_or_torch(openvino, torch_model, "encoder: OpenVINO")
    if embedding.cache:
        return CachedEmbedder(model, settings.embedding_cache_path)
    return model


def build_services(
    settings: Settings, *, embedder: Embedder | None = None, serving: bool = False
) -> Services:
    """Everything a process needs; ``serving`` tunes the model for one query at a time."""
    store = RecordStore(settings.store_target)
    model = embedder or build_embedder(settings, serving=serving)
    qdrant = build_qdrant(settings, model.dimension)
    searcher = HybridSearcher(store, model, settings.search.config(), qdrant=qdrant)
    return Services(
        settings=settings,
        store=store,
        embedder=model,
        searcher=searcher,
        patterns=PatternFinder(searcher),
        indexer=Indexer(
            store, model, settings.chunking.config(), progress=settings.progress, qdrant=qdrant
        ),
        audit=AuditLog(store),
        telemetry=Telemetry(store),
        search_slots=_search_slots(settings.limits.max_concurrent_searches, settings.workers),
        qdrant=qdrant,
    )


def _ready_or_torch(model: Embedder, torch_model: Embedder, what: str) -> Embedder:
    """``model`` once it has encoded a first text (loading, exporting or compiling it and
    checking its vectors against torch's); ``torch_model``, with a warning naming the reason,
    where that fails."""
    try:
        model.embed(["warm up"])
    except (RetrievalError, ImportError, OSError, RuntimeError) as exc:
        _log.warning("%s unavailable (%s); using torch", what, exc)
        return torch_model
    return model


def build_qdrant(settings: Settings, dimension: int) -> QdrantIndex | None:
    """The Qdrant index the settings name, its collection made if missing; None when
    ``CASESEARCH_QDRANT_URL`` is unset. Raises ``IndexMismatchError`` when the existing
    collection's vectors do not fit the model (``QdrantIndex.check_collection``)."""
    if settings.qdrant_url is None:
        return None
    key = settings.qdrant_api_key
    client = client_for(settings.qdrant_url, key.get_secret_value() if key else None)
    index = QdrantIndex(
        client, settings.qdrant_collection, dimension, tenant=settings.qdrant_tenant
    )
    try:
        index.ensure_collection()
    except BaseException:
        client.close()  # local mode holds its folder's lock until closed
        raise
    return index


def _search_slots(limit: int | None, workers: int) -> threading.BoundedSemaphore | None:
    """The per-process bound: the configured one, else this process's share of the cores."""
    if limit == 0:
        return None
    return threading.BoundedSemaphore(limit or max(1, (os.cpu_count() or 1) // workers))
