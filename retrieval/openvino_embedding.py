"""all-MiniLM-L6-v2 through OpenVINO: the torch encoder's vectors, faster again on a CPU.

OpenVINO compiles the same ONNX export that the ONNX Runtime encoder reads
(``retrieval/onnx_embedding.py``, ``OnnxExport``: made once from the packaged weights, named by
their digest), for the CPU in float32. Float32 is asked for, not left to OpenVINO: on a CPU
with bf16 instructions (``avx512_bf16``, AMX) it would otherwise infer in bf16, whose vectors
are not torch's to 0.9999. Its vectors of the probe sentences must be within cosine
``MIN_COSINE`` (0.9999) of the torch encoder's, or loading raises ``RetrievalError``.

Batches are tokenised and pooled exactly as the ONNX Runtime path does (the model's own
tokenizer, texts longest first so padding stays short, mean pooling over the attention mask,
L2 normalisation), and run under OpenVINO's THROUGHPUT hint: one inference stream per core,
each on its own thread, with a batch in flight on each (an ``AsyncInferQueue``) while the next
is tokenised. On this project's 2-core machine that measured fastest (README, "Benchmarks").
``threads`` bounds OpenVINO's inference threads; ``streams`` overrides the hint's count.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from retrieval.embedding import Vectors
from retrieval.onnx_embedding import PROBES, ExportedEncoder, IntArray, batches, mean_pool

BATCH_SIZE = 4
"""Texts per inference request by default: with two requests in flight (one per core) and texts
sorted by length, small batches pad least. On 512 chunks here, quiet machine: 4 gave 2.56-2.61x
torch fp32's texts/s, 8 gave 2.49-2.50x, 16 gave 2.38x, 2 gave 2.46x."""


class OpenVinoEmbedder(ExportedEncoder):
    """The packaged model compiled by OpenVINO for the CPU. Loaded lazily and once; thread-safe
    (one ``embed`` runs at a time: its batches already use every core)."""

    def __init__(
        self,
        cache_dir: Path,
        *,
        model_path: Path | None = None,
        batch_size: int = BATCH_SIZE,
        max_seq_length: int = 256,
        threads: int | None = None,
        streams: int | None = None,
    ) -> None:
        super().__init__(
            cache_dir,
            model_path=model_path,
            batch_size=batch_size,
            max_seq_length=max_seq_length,
            threads=threads,
        )
        self._streams = streams

    def _run(self, texts: list[str]) -> Vectors:
        with self._lock:
            tokenizer, queue = self._load()
            return self._encode(tokenizer, queue, texts)

    def _load(self) -> tuple[Any, Any]:
        """The tokenizer and a queue of inference requests on the compiled model (the caller
        holds the lock)."""
        if self._loaded is None:
            tokenizer, path = self._export.prepare()
            import openvino

            config: dict[str, Any] = {
                "PERFORMANCE_HINT": "THROUGHPUT",
                "INFERENCE_PRECISION_HINT": "f32",
            }
            if self._threads is not None:
                config["INFERENCE_NUM_THREADS"] = self._threads
            if self._streams is not None:
                config["NUM_STREAMS"] = self._streams
            core = openvino.Core()
            compiled = core.compile_model(core.read_model(str(path)), "CPU", config)
            requests = int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
            queue = openvino.AsyncInferQueue(compiled, max(1, requests))
            probes = self._encode(tokenizer, queue, list(PROBES))
            self._export.check(probes, "OpenVINO", discard=False)
            self._loaded = (tokenizer, queue)
        return self._loaded

    def _encode(self, tokenizer: Any, queue: Any, texts: list[str]) -> Vectors:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        failures: list[BaseException] = []

        def done(request: Any, job: tuple[IntArray, IntArray]) -> None:
            # on OpenVINO's thread, while the request still holds its output
            rows, mask = job
            try:
                out[rows] = mean_pool(request.get_output_tensor(0).data, mask)
            except BaseException as exc:  # raised again on the caller's thread
                failures.append(exc)

        queue.set_callback(done)
        for rows, feed in batches(tokenizer, texts, self._batch_size):
            queue.start_async(feed, (rows, feed["attention_mask"]))
        queue.wait_all()
        if failures:
            raise failures[0]
        return out
