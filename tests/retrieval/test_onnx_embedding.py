"""The ONNX Runtime encoder path: exported once from the packaged weights, the torch encoder's
vectors to cosine 0.9999 on every kind of text (long, empty, non-ASCII), reused across
processes, and chosen by ``CASESEARCH_EMBEDDING__BACKEND=onnx``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import SecretStr

from app.services import build_embedder
from app.settings import EmbeddingSettings, Settings
from retrieval.embedding import Embedder
from retrieval.onnx_embedding import MIN_COSINE, OnnxEmbedder

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
