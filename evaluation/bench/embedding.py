"""Benchmark 3, the encoder paths on the same chunk texts: torch fp32, torch under bf16
autocast, ONNX Runtime (the same weights exported once; retrieval/onnx_embedding.py) and
OpenVINO (that export compiled; retrieval/openvino_embedding.py)."""

from __future__ import annotations

import random
import time
from pathlib import Path

import numpy as np

from evaluation.bench.common import BenchConfig, Json, phase
from evaluation.synthetic import build_collection
from retrieval.chunking import ChunkingConfig, chunk_text
from retrieval.embedding import Embedder, Precision, SentenceTransformerEmbedder, Vectors
from retrieval.onnx_embedding import MIN_COSINE, OnnxEmbedder


def embedding_texts(count: int, *, seed: int, n_cases: int) -> list[str]:
    """``count`` chunk texts as the indexer embeds them (title line + chunk), from shuffled
    synthetic records."""
    documents = list(build_collection(seed=seed, n_cases=n_cases).documents)
    random.Random(f"bench-embed:{seed}").shuffle(documents)  # noqa: S311 - reproducible
    texts: list[str] = []
    for document in documents:
        for chunk in chunk_text(document.text, ChunkingConfig()):
            texts.append(f"{document.title}\n{chunk.text}" if document.title else chunk.text)
        if len(texts) >= count:
            break
    return texts[:count]


def bench_embedding(config: BenchConfig, work: Path) -> Json:
    """Each path on the same texts, block by block, rotating which goes first."""
    # here, not at the top: the scale probe imports this package beside an older retrieval/
    from retrieval.openvino_embedding import BATCH_SIZE as OPENVINO_BATCH_SIZE
    from retrieval.openvino_embedding import OpenVinoEmbedder

    phases: dict[str, Json] = {}
    with phase(phases, "prepare_texts"):
        texts = embedding_texts(config.embed_texts, seed=config.seed, n_cases=config.demo_cases)
    precisions: tuple[Precision, Precision] = ("fp32", "bf16")
    models: dict[str, Embedder] = {p: SentenceTransformerEmbedder(precision=p) for p in precisions}
    models["onnx"] = OnnxEmbedder(work / "embedding-models")
    models["openvino"] = OpenVinoEmbedder(work / "embedding-models")
    names = list(models)
    for model in models.values():
        model.embed(texts[:16])  # load (and export) and warm up outside the clock
    seconds = dict.fromkeys(names, 0.0)
    vectors: dict[str, list[Vectors]] = {p: [] for p in names}
    with phase(phases, "measure"):
        for n, start in enumerate(range(0, len(texts), config.embed_block)):
            block = texts[start : start + config.embed_block]
            for p in names[n % len(names) :] + names[: n % len(names)]:
                started = time.perf_counter()
                vectors[p].append(models[p].embed(block))
                seconds[p] += time.perf_counter() - started
    onnx = np.concatenate(vectors["onnx"])
    openvino = np.concatenate(vectors["openvino"])
    fp32, bf16 = (np.concatenate(vectors[p]) for p in precisions)
    cosines = np.sum(fp32 * bf16, axis=1)
    onnx_cosines = np.sum(fp32 * onnx, axis=1)
    openvino_cosines = np.sum(fp32 * openvino, axis=1)
    rate = {p: len(texts) / seconds[p] for p in names}
    return {
        "phases": phases,
        "texts_per_s": {p: round(r, 2) for p, r in rate.items()},
        "seconds": {p: round(s, 3) for p, s in seconds.items()},
        "ratio_bf16_over_fp32": round(rate["bf16"] / rate["fp32"], 3),
        "ratio_onnx_over_fp32": round(rate["onnx"] / rate["fp32"], 3),
        "ratio_openvino_over_fp32": round(rate["openvino"] / rate["fp32"], 3),
        "cosine_onnx_fp32": {
            "mean": round(float(onnx_cosines.mean()), 6),
            "min": round(float(onnx_cosines.min()), 6),
        },
        "cosine_openvino_fp32": {
            "mean": round(float(openvino_cosines.mean()), 6),
            "min": round(float(openvino_cosines.min()), 6),
        },
        "cosine_bf16_fp32": {
            "mean": round(float(cosines.mean()), 6),
            "min": round(float(cosines.min()), 6),
        },
        "parameters": {
            "texts": len(texts),
            "mean_chars": round(sum(map(len, texts)) / len(texts), 1),
            "block": config.embed_block,
            "batch_size": 32,
            "openvino_batch_size": OPENVINO_BATCH_SIZE,
            "max_seq_length": 256,
            "source": f"chunks of shuffled synthetic records (seed {config.seed})",
            "order": "blocks rotate which path runs first",
        },
        "targets": [],
        "invariants": {
            "vectors_agree": float(cosines.mean()) > 0.99,
            "onnx_vectors_are_torchs": float(onnx_cosines.min()) >= MIN_COSINE,
            "openvino_vectors_are_torchs": float(openvino_cosines.min()) >= MIN_COSINE,
        },
    }
