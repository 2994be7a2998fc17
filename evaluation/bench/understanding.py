"""Benchmark 8, query understanding (``retrieval.understanding.understand``) alone: it runs
before every search, so its cost is paid on every keystroke of results-as-you-type.

Targets: a mean under 2 ms per query over the synthetic generator's questions and a set of
hand-written ones with misspellings, dates and abbreviations; and a bound on one long input of
unknown words, each of which is spell-checked (the worst case a caller can send). This was a
timed unit test; it lives here because absolute times on a shared CPU are noisy.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from evaluation.bench.common import BenchConfig, Json, phase, target
from evaluation.metrics import percentile
from evaluation.synthetic import DEFAULT_TODAY, build_collection
from retrieval import analysis
from retrieval.understanding import understand, warm_up

MEAN_MAX_MS = 2.0
LONG_INPUT_MAX_MS = 50.0
# written by hand: misspellings, dates, abbreviations and ranges a social worker types
HAND_WRITTEN = (
    "current saftey plan",
    "when was she last seen by the GP",
    "any police involvement since March 2024",
    "ICPC minutes between Jan and March 2024",
    "instances of neglect in the last 6 months",
    "children left home alone",
    "signs of criminal exploitation CCE county lines",
    "stratergy meeting after the s47 referral",
    "latest health visitor contact about missed immunisations",
    "was not brought to dental appointments last year",
)


def long_unknown_input(chars: int = 1000) -> str:
    """``chars`` characters of letter-only words no dictionary holds: each is spell-checked."""
    consonants = "bcdfghjklmnpqrstvwxz"
    words = (
        "".join(consonants[(i * 7 + j * 3) % 20] for j in range(4 + i % 8)) for i in range(400)
    )
    return " ".join(words)[:chars]


def bench_understanding(config: BenchConfig, work: Path) -> Json:
    """Each query ``understanding_rounds`` times, in order, after one unmeasured reading of each
    (the caches warm, as on a server); then the long input alone."""
    phases: dict[str, Json] = {}
    with phase(phases, "prepare"):
        generated = [q.text for q in build_collection(seed=config.seed, n_cases=8).queries]
        queries = [*HAND_WRITTEN, *dict.fromkeys(generated)]
        warm_up()
        vocabulary = analysis.english_vocabulary
    per_query_ms: list[float] = []
    first = [understand(q, today=DEFAULT_TODAY, vocabulary=vocabulary) for q in queries]
    stable = True  # a query read the same way every round: no state leaks between queries
    with phase(phases, "measure"):
        for _ in range(config.understanding_rounds):
            for query, reading in zip(queries, first, strict=True):
                started = time.perf_counter()
                again = understand(query, today=DEFAULT_TODAY, vocabulary=vocabulary)
                per_query_ms.append((time.perf_counter() - started) * 1000)
                stable = stable and again == reading
        long_ms: list[float] = []
        text = long_unknown_input()
        for _ in range(config.understanding_rounds):
            started = time.perf_counter()
            understand(text, today=DEFAULT_TODAY, vocabulary=lambda term: 0)
            long_ms.append((time.perf_counter() - started) * 1000)
    mean_ms = statistics.fmean(per_query_ms)
    long_median = statistics.median(long_ms)
    return {
        "phases": phases,
        "queries": len(queries),
        "mean_ms": round(mean_ms, 4),
        "p50_ms": round(percentile(per_query_ms, 50), 4),
        "p95_ms": round(percentile(per_query_ms, 95), 4),
        "max_ms": round(max(per_query_ms), 4),
        "long_input_median_ms": round(long_median, 3),
        "parameters": {
            "rounds": config.understanding_rounds,
            "hand_written": len(HAND_WRITTEN),
            "generated": len(queries) - len(HAND_WRITTEN),
            "generator_seed": config.seed,
            "long_input_chars": len(text),
            "vocabulary": "retrieval.analysis.english_vocabulary (the long input: none known)",
        },
        "targets": [
            target("understanding_mean_ms", mean_ms, MEAN_MAX_MS),
            target("understanding_long_input_median_ms", long_median, LONG_INPUT_MAX_MS),
        ],
        "invariants": {"same_reading_every_round": stable},
    }
