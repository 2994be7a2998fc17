"""Benchmark 3, embedding precision: fp32 against bf16 autocast on the same chunk texts."""

from __future__ import annotations

import random
import time
from pathlib import Path

import numpy as np

from evaluation.bench.common import BenchConfig, Json, phase
from evaluation.synthetic import build_collection
from retrieval.chunking import ChunkingConfig, chunk_text
from retrieval.embedding import Precision, SentenceTransformerEmbedder, Vectors


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
    """fp32 against bf16 on the same texts, block by block, alternating which goes first."""
    del work
    phases: dict[str, Json] = {}
    with phase(phases, "prepare_texts"):
        texts = embedding_texts(config.embed_texts, seed=config.seed, n_cases=config.demo_cases)
    precisions: tuple[Precision, Precision] = ("fp32", "bf16")
    models = {p: SentenceTransformerEmbedder(precision=p) for p in precisions}
    for model in models.values():
        model.embed(texts[:16])  # load and warm up outside the clock
    seconds = dict.fromkeys(precisions, 0.0)
    vectors: dict[str, list[Vectors]] = {p: [] for p in precisions}
    with phase(phases, "measure"):
        for n, start in enumerate(range(0, len(texts), config.embed_block)):
            block = texts[start : start + config.embed_block]
            for p in precisions if n % 2 == 0 else precisions[::-1]:
                started = time.perf_counter()
                vectors[p].append(models[p].embed(block))
                seconds[p] += time.perf_counter() - started
    fp32, bf16 = (np.concatenate(vectors[p]) for p in precisions)
    cosines = np.sum(fp32 * bf16, axis=1)
    rate = {p: len(texts) / seconds[p] for p in precisions}
    return {
        "phases": phases,
        "texts_per_s": {p: round(r, 2) for p, r in rate.items()},
        "seconds": {p: round(s, 3) for p, s in seconds.items()},
        "ratio_bf16_over_fp32": round(rate["bf16"] / rate["fp32"], 3),
        "cosine_bf16_fp32": {
            "mean": round(float(cosines.mean()), 6),
            "min": round(float(cosines.min()), 6),
        },
        "parameters": {
            "texts": len(texts),
            "mean_chars": round(sum(map(len, texts)) / len(texts), 1),
            "block": config.embed_block,
            "batch_size": 32,
            "max_seq_length": 256,
            "source": f"chunks of shuffled synthetic records (seed {config.seed})",
            "order": "blocks alternate which precision runs first",
        },
        "targets": [],
        "invariants": {"vectors_agree": float(cosines.mean()) > 0.99},
    }
