"""The OpenVINO encoder path: the ONNX export the ONNX Runtime path makes, compiled and reused
(never exported again), the torch encoder's vectors to cosine 0.9999 on every kind of text,
the same vector for a text whatever batch it falls in, chosen by
``CASESEARCH_EMBEDDING__BACKEND=openvino``, and torch (with a warning) where OpenVINO fails.

Every test reads the one export in the folder the test conftest names (``MODEL_DIR``), so no
test here exports the model unless that folder is empty."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from pydantic import SecretStr

from app.services import build_embedder
from app.settings import EmbeddingSettings, Settings
from evaluation.bench.process import MODEL_DIR_VARIABLE
from retrieval.embedding import Embedder, SentenceTransformerEmbedder, Vectors
from retrieval.onnx_embedding import MIN_COSINE, PROBES, OnnxExport
from retrieval.openvino_embedding import BATCH_SIZE, OpenVinoEmbedder

pytestmark = pytest.mark.slow

MODEL_DIR = Path(os.environ[MODEL_DIR_VARIABLE])

TEXTS = [
    "Safety plan agreed at the core group: Kai is not to be left alone with the ex-partner.",
    "Home visit. " + "The kitchen was dirty and there was no food in the fridge. " * 60,
    "",
    "   ",
    "GP",
    "Zoë's school reports 77 % attendance; Łukasz (sibling) was late again — twice.",
    "Мама сказала, що дитина не ходила до школи. 母亲说孩子没有上学。",
    "ICPC: CP plan under the category of neglect; RCPC in 3 months.",
]


@pytest.fixture(scope="module")
def openvino_encoder() -> OpenVinoEmbedder:
    # batches of 3: the eight texts fall in three batches of mixed lengths
    return OpenVinoEmbedder(MODEL_DIR, batch_size=3)


def test_the_vectors_are_the_torch_encoders(
    openvino_encoder: OpenVinoEmbedder, embedder: Embedder
) -> None:
    ours = openvino_encoder.embed(TEXTS)
    theirs = embedder.embed(TEXTS)
    assert ours.shape == theirs.shape == (len(TEXTS), 384)
    assert ours.dtype == np.float32
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert float(np.min(np.sum(ours * theirs, axis=1))) >= MIN_COSINE
    assert openvino_encoder.fingerprint == "all-MiniLM-L6-v2:normalised:max_seq=256"
    assert openvino_encoder.embed([]).shape == (0, 384)


def test_a_texts_vector_does_not_depend_on_its_batch(openvino_encoder: OpenVinoEmbedder) -> None:
    together = openvino_encoder.embed(TEXTS)
    order = [5, 2, 7, 0, 3, 1, 6, 4]
    shuffled = openvino_encoder.embed([TEXTS[i] for i in order])
    assert np.allclose(shuffled, together[order], atol=1e-5)
    alone = np.concatenate([openvino_encoder.embed([text]) for text in TEXTS[:3]])
    assert np.allclose(alone, together[:3], atol=1e-5)  # padded beside the long text, or not


def test_the_export_is_read_not_made_again(
    openvino_encoder: OpenVinoEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    openvino_encoder.embed(["warm"])
    path = openvino_encoder.onnx_path
    assert path.parent == MODEL_DIR
    written = path.stat().st_mtime_ns

    def refuse(self: OnnxExport, path: Path) -> None:
        raise AssertionError("exported again")

    monkeypatch.setattr(OnnxExport, "_export", refuse)
    again = OpenVinoEmbedder(MODEL_DIR)  # another process, the same folder
    assert again.onnx_path == path
    assert again.embed(["Police attended overnight."]).shape == (1, 384)
    assert path.stat().st_mtime_ns == written
    assert not list(path.parent.glob("*.partial"))


def _settings(data_dir: Path, **embedding: object) -> Settings:
    return Settings(
        data_dir=data_dir,
        jwt_secret=SecretStr("x" * 32),
        embedding=EmbeddingSettings.model_validate({"model_dir": MODEL_DIR, **embedding}),
    )


def test_the_setting_chooses_the_openvino_path(tmp_path: Path) -> None:
    chosen = build_embedder(_settings(tmp_path, backend="openvino"))
    assert isinstance(chosen, OpenVinoEmbedder)
    assert chosen.onnx_path.parent == MODEL_DIR
    assert chosen._batch_size == BATCH_SIZE  # its own unless the settings name one
    sized = build_embedder(_settings(tmp_path, backend="openvino", batch_size=32))
    assert isinstance(sized, OpenVinoEmbedder)
    assert sized._batch_size == 32


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param("import", id="openvino-not-installed"),
        pytest.param("check", id="vectors-not-torchs"),
    ],
)
def test_where_openvino_fails_the_encoder_is_torch(
    failure: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if failure == "import":
        monkeypatch.setitem(sys.modules, "openvino", None)  # `import openvino` raises
    else:

        def elsewhere(self: OnnxExport, path: Path) -> Vectors:
            return np.full((len(PROBES), 384), 384**-0.5, dtype=np.float32)

        monkeypatch.setattr(OnnxExport, "_torch_probes", elsewhere)
    with caplog.at_level(logging.WARNING, logger="app.services"):
        chosen = build_embedder(_settings(tmp_path, backend="openvino"))
    assert isinstance(chosen, SentenceTransformerEmbedder)
    assert "OpenVINO unavailable" in caplog.text
    assert "using torch" in caplog.text
    # OpenVINO failing its check is no fault of the export, which the ONNX path still reads
    assert OnnxExport(MODEL_DIR).path.exists()
