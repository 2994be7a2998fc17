"""The ONNX Runtime encoder path: exported once from the packaged weights, the torch encoder's
vectors to cosine 0.9999 on every kind of text (long, empty, non-ASCII), reused across
processes without loading torch, chosen by ``CASESEARCH_EMBEDDING__BACKEND=onnx`` for indexing
and by default for a search server's queries, which fall back to torch when it cannot run."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pydantic import SecretStr

from app.services import build_embedder
from app.settings import EmbeddingSettings, Settings
from retrieval.embedding import Embedder, SentenceTransformerEmbedder, packaged_model_path
from retrieval.errors import RetrievalError
from retrieval.onnx_embedding import MIN_COSINE, OnnxEmbedder, _tokenizer

pytestmark = pytest.mark.slow

TEXTS = [
    "Safety plan agreed at the core group: Kai is not to be left alone with the ex-partner.",
    "Home visit. " + "The kitchen was dirty and there was no food in the fridge. " * 60,
    "",
    "GP",
    "Zoë's school reports 77 % attendance; Łukasz (sibling) was late again — twice.",
    "ICPC: CP plan under the category of neglect; RCPC in 3 months.",
]


@pytest.fixture(scope="module")
def onnx_encoder(tmp_path_factory: pytest.TempPathFactory) -> OnnxEmbedder:
    return OnnxEmbedder(tmp_path_factory.mktemp("models"), batch_size=4)


def test_the_vectors_are_the_torch_encoders(onnx_encoder: OnnxEmbedder, embedder: Embedder) -> None:
    ours = onnx_encoder.embed(TEXTS)
    theirs = embedder.embed(TEXTS)
    assert ours.shape == theirs.shape == (len(TEXTS), 384)
    assert ours.dtype == np.float32
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert float(np.min(np.sum(ours * theirs, axis=1))) >= MIN_COSINE
    assert onnx_encoder.fingerprint == "all-MiniLM-L6-v2:normalised:max_seq=256"
    assert onnx_encoder.embed([]).shape == (0, 384)


def test_the_export_is_made_once_and_reused(onnx_encoder: OnnxEmbedder) -> None:
    onnx_encoder.embed(["warm"])
    path = onnx_encoder.onnx_path
    written = path.stat().st_mtime_ns
    again = OnnxEmbedder(path.parent)  # another process, the same folder
    assert again.onnx_path == path
    again.embed(["Police attended overnight."])
    assert path.stat().st_mtime_ns == written
    assert not list(path.parent.glob("*.partial"))


def test_the_setting_chooses_the_onnx_path(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        jwt_secret=SecretStr("x" * 32),
        embedding=EmbeddingSettings(backend="onnx"),
    )
    chosen = build_embedder(settings)
    assert isinstance(chosen, OnnxEmbedder)
    assert chosen.onnx_path.parent == tmp_path / "models"


def _settings(data_dir: Path, **embedding: object) -> Settings:
    return Settings(
        data_dir=data_dir,
        jwt_secret=SecretStr("x" * 32),
        embedding=EmbeddingSettings.model_validate(embedding),
    )


def test_the_tokens_are_the_ones_transformers_gives() -> None:
    from transformers import AutoTokenizer

    theirs = AutoTokenizer.from_pretrained(str(packaged_model_path()))(
        TEXTS, padding=True, truncation=True, max_length=256, return_tensors="np"
    )
    ours = _tokenizer(packaged_model_path(), 256).encode_batch(TEXTS)
    assert np.array_equal([e.ids for e in ours], theirs["input_ids"])
    assert np.array_equal([e.attention_mask for e in ours], theirs["attention_mask"])
    assert np.array_equal([e.type_ids for e in ours], theirs["token_type_ids"])
    assert max(len(e.ids) for e in ours) == 256  # the long text is cut where torch cuts it


def test_a_process_reusing_the_export_never_loads_torch(onnx_encoder: OnnxEmbedder) -> None:
    onnx_encoder.embed(["warm"])  # the export and its probe vectors exist
    program = (
        "import sys; from pathlib import Path; from retrieval.onnx_embedding import OnnxEmbedder;"
        f" OnnxEmbedder(Path({str(onnx_encoder.onnx_path.parent)!r})).embed(['a query']);"
        " print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "[]"


def test_a_search_server_encodes_queries_with_onnx_by_default(tmp_path: Path) -> None:
    chosen = build_embedder(_settings(tmp_path, model_dir=tmp_path / "shared"), serving=True)
    assert isinstance(chosen, OnnxEmbedder)
    assert chosen.onnx_path.parent == tmp_path / "shared"
    assert chosen.onnx_path.exists()  # made ready before the first search, not in it
    indexing = build_embedder(_settings(tmp_path))
    assert isinstance(indexing, SentenceTransformerEmbedder)  # documents: torch unless asked
    torch_queries = build_embedder(_settings(tmp_path, query_backend="torch"), serving=True)
    assert isinstance(torch_queries, SentenceTransformerEmbedder)


def test_a_server_whose_export_fails_serves_with_torch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(self: OnnxEmbedder, texts: object, *, progress: bool = False) -> None:
        raise RetrievalError("the ONNX export of the model gives vectors at cosine 0.5")

    monkeypatch.setattr(OnnxEmbedder, "embed", refuse)
    with caplog.at_level(logging.WARNING, logger="app.services"):
        chosen = build_embedder(_settings(tmp_path), serving=True)
    assert isinstance(chosen, SentenceTransformerEmbedder)
    assert "cosine 0.5" in caplog.text
    assert "using torch" in caplog.text
