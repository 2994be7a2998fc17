"""What every benchmark shares: the configuration, the error, measurement helpers, the record
of the machine and library versions, and the synthetic record source."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import math
import os
import platform
import resource
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluation import EvaluationError
from evaluation.synthetic import SyntheticCollection, build_collection
from retrieval.embedding import Precision, SentenceTransformerEmbedder, Vectors

BENCHMARKS = (
    "indexing", "latency", "embedding", "lexical", "load", "scale", "access", "understanding"
)  # fmt: skip
Json = dict[str, Any]


class BenchError(EvaluationError):
    """A benchmark could not run (a subprocess failed, the server never became ready)."""


@dataclass(frozen=True, slots=True)
class BenchConfig:
    """Sizes and bounds. ``quick()`` is the small variant (< 3 minutes on two cores)."""

    records: int = 10_000
    change_share: float = 0.01  # edited, restricted and deleted: each this share of records
    index_precision: Precision = "fp32"
    reruns: int = 3
    verify_sample: int = 50  # records searched for before and after a deletion/restriction
    demo_cases: int = 40
    requests: int = 400
    warmup: int = 20
    latency_budget_s: float = 300.0
    search_threads: int | None = None  # torch threads for searching; None: torch's default
    embed_texts: int = 512
    embed_block: int = 128
    lexical_sizes: tuple[int, ...] = (2_000, 10_000, 40_000)  # records per store
    lexical_case_queries: int = 60  # per size, drawn from the cases the store holds
    lexical_cross_queries: int = 35  # the QA queries across cases (35 exist)
    lexical_warmup: int = 5  # queries run on both paths, unmeasured, before each size
    lexical_repeats: int = 3  # runs per query, user and path; the median is kept
    load_clients: tuple[int, ...] = (4, 16, 32, 64)  # closed-loop clients, one level at a time
    load_seconds: float = 20.0  # measured per level
    load_warmup_s: float = 3.0  # per level, before measuring
    load_plan: int = 600  # distinct (query, case, user) requests the clients cycle through
    # the scale-out variants' database (a fresh schema each run); None leaves them out
    load_database_url: str | None = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    patterns_rounds: int = 3  # POST /v1/patterns per category and as free text (latency)
    scale_sizes: tuple[int, ...] = (100_000, 300_000)  # chunks per store (issue 14: and 1M)
    scale_base_cases: int = 200  # generated and indexed once; bigger stores copy them
    scale_case_queries: int = 40  # per-case questions per size, each as both users
    scale_cross_queries: int = 20  # cross-case questions per size, each as both users
    scale_warmup: int = 4  # per-case questions per user run first, unmeasured
    scale_bursts: int = 10  # results-as-you-type bursts (one search per word)
    access_records: int = 300  # the answer key's records (evaluation/answer_key.py)
    access_searches: int = 10_000  # random searches judged by the key, over HTTP
    understanding_rounds: int = 50  # each query read this many times (understanding.py)
    scale_store_dir: str | None = None  # keep stores here and reuse them (default: scratch)
    scale_baseline: str | None = None  # a git commit whose retrieval/ runs beside this tree
    # the same searches through peers (scale_peers.py); rank-bm25 holds every chunk's term
    # lists in Python objects and scores all of them per query: at 100k chunks it took 34 s
    # and 268 MiB to build on the 2-core machine, so it runs at 300k and is skipped at 1M
    scale_peers: tuple[str, ...] = ("qdrant_edge", "rank_bm25")
    scale_http: bool = True  # the same searches through `casesearch serve` over HTTP too
    scale_bm25_max_chunks: int = 400_000
    seed: int = 7

    @classmethod
    def quick(cls) -> BenchConfig:
        return cls(
            records=400, reruns=2, verify_sample=10, demo_cases=4, requests=60, warmup=5,
            latency_budget_s=45.0, embed_texts=64, embed_block=32, lexical_sizes=(300, 1_000),
            lexical_case_queries=20, lexical_cross_queries=10, lexical_warmup=2, lexical_repeats=2,
            load_clients=(4, 16), load_seconds=5.0, load_warmup_s=1.0, load_plan=100,
            patterns_rounds=1, scale_sizes=(1_500, 3_000), scale_base_cases=12,
            scale_case_queries=6, scale_cross_queries=3, scale_warmup=1, scale_bursts=2,
            access_searches=300, understanding_rounds=5,
        )  # fmt: skip


# -- measurement helpers ------------------------------------------------------------------------


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (Linux ``clear_refs`` 5); False where not possible."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
            handle.write("5")
    except OSError:
        return False
    return True


def rss_mib(field: str = "VmRSS", pid: int | str = "self") -> float | None:
    """A memory figure of ``/proc/<pid>/status`` in MiB (None where there is no /proc)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
            if line.startswith(f"{field}:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


@contextmanager
def phase(phases: dict[str, Json], name: str) -> Iterator[None]:
    """Record the wall time, the RSS at the start and the peak RSS of the block.

    The peak is the phase's own where the kernel lets us reset the mark, so it is at least the
    RSS the phase started with (memory a process once held is rarely given back).
    """
    per_phase = _reset_peak_rss()
    rss_at_start = rss_mib()
    started = time.perf_counter()
    yield
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    phases[name] = {
        "wall_s": round(time.perf_counter() - started, 3),
        "rss_at_start_mib": rss_at_start,
        "peak_rss_mib": round(peak_kib / 1024, 1),
        "peak_rss_scope": "phase" if per_phase else "process so far",
    }


def target(name: str, value: float, limit: float) -> Json:
    return {"name": name, "value": round(value, 4), "limit": limit, "met": value <= limit}


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _git_state() -> Json:
    """The commit the benchmark ran on and the tracked files changed since (None without git)."""

    def git(*args: str) -> str:
        return subprocess.run(  # noqa: S603 - fixed arguments
            ["git", *args],  # noqa: S607 - git from PATH, as a developer runs it
            cwd=Path(__file__).resolve().parents[2],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout

    try:
        commit = git("rev-parse", "HEAD").strip()
        changed = git("status", "--porcelain", "--untracked-files=no").splitlines()
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "modified_files": None}
    return {"commit": commit, "modified_files": sorted(line[3:] for line in changed)}


def environment() -> Json:
    """The machine and library versions, stored with every result."""
    import torch

    versions: dict[str, str | None] = {
        "python": platform.python_version(),
        "torch": str(torch.__version__),
    }
    for dist in ("sentence-transformers", "numpy", "fastapi", "uvicorn", "spacy", "sqlalchemy"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "code": _git_state(),
        "machine": {
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "load_average_1m_at_start": round(os.getloadavg()[0], 2),
        },
        "versions": versions,
    }


class CountingEmbedder:
    """Passes texts to the model and counts them and the seconds spent: the indexer's own
    count is checked with it, and the scale probe tells a search's embedding from the rest."""

    def __init__(self, inner: SentenceTransformerEmbedder) -> None:
        self.inner = inner
        self.texts = 0
        self.seconds = 0.0

    @property
    def fingerprint(self) -> str:
        return self.inner.fingerprint

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        self.texts += len(texts)
        begun = time.perf_counter()
        try:
            return self.inner.embed(texts, progress=progress)
        finally:
            self.seconds += time.perf_counter() - begun


# -- the record source --------------------------------------------------------------------------


def synthetic_collection(
    n: int, *, seed: int, today: dt.date
) -> tuple[SyntheticCollection, list[Json]]:
    """The smallest collection with at least ``n`` records, and its first ``n`` records (whole
    cases, the last one cut) in id order."""
    cases = max(1, math.ceil(n / 45))
    while True:
        collection = build_collection(seed=seed, n_cases=cases, today=today)
        documents = collection.documents
        if len(documents) >= n or cases >= 9000:
            break
        cases = min(9000, math.ceil(cases * n / max(1, len(documents))) + 1)
    return collection, [dict(d.record()) for d in sorted(documents, key=lambda d: d.id)[:n]]


def synthetic_records(n: int, *, seed: int, today: dt.date) -> list[Json]:
    """``n`` distinct synthetic records (whole cases, the last one cut), in id order."""
    return synthetic_collection(n, seed=seed, today=today)[1]
