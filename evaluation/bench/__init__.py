"""Speed and memory benchmarks: incremental indexing (issue 3), HTTP search latency (issue 4),
embedding precision, BM25 with statistics over the caller's records (``lexical``), search
under concurrent load (``load``, fail-safe issue item 5), search latency against store size
(``scale``, issue 14), 10,000 random searches judged by an access answer key (``access``,
fail-safe issue item 6) and query understanding alone (``understanding``, on every search's
path). Optional, run only when named in ``--only``: indexing throughput with 1 and 2
``--shard`` workers on PostgreSQL (``shards``, scale-out issue item 4; it needs the database at
``evaluation.bench.shards.DATABASE_URL``).

``python -m evaluation.bench --out reports/bench [--records N]
[--only indexing,latency,embedding,lexical,load,scale,access,understanding]
[--lexical-sizes 2000,10000] [--scale-sizes 100000,300000,1000000] [--scale-store-dir DIR]
[--scale-baseline COMMIT] [--quick]`` writes one JSON file per benchmark (sorted keys),
``summary.json`` and ``summary.md`` (built from every benchmark file present, so ``--only``
refreshes one part).

Speed targets are ratios of runs measured side by side in one process on one machine, because
absolute times on a shared CPU are noisy. Correctness invariants (a rerun embeds nothing, an
edit re-embeds exactly the edited records' chunks, deleted and restricted records vanish from
the next search) are checked on every run; the exit status is 1 when one fails, 2 when a
benchmark cannot run, 0 otherwise (a missed speed target is reported, not fatal).

Evaluation sits below ``app/``, so the server, its settings and its tokens are driven through
the ``casesearch`` command line, with default settings (inherited ``CASESEARCH_*`` variables
are dropped) so that both sides of each comparison run the same configuration.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from pathlib import Path

from evaluation.bench.access import bench_access
from evaluation.bench.common import (
    BENCHMARKS,
    BenchConfig,
    BenchError,
    CountingEmbedder,
    Json,
    environment,
    now,
    synthetic_records,
)
from evaluation.bench.embedding import bench_embedding, embedding_texts
from evaluation.bench.indexing import RERUN_RATIO_MAX, RESTRICTED_TO, bench_indexing
from evaluation.bench.latency import HTTP_P95_MAX_MS, bench_latency
from evaluation.bench.lexical import bench_lexical
from evaluation.bench.load import LOAD_P95_MAX_MS, bench_load
from evaluation.bench.process import MODEL_DIR_VARIABLE
from evaluation.bench.report import dump, write_summary
from evaluation.bench.scale import bench_scale
from evaluation.bench.understanding import bench_understanding

__all__ = [
    "BENCHMARKS",
    "HTTP_P95_MAX_MS",
    "LOAD_P95_MAX_MS",
    "RERUN_RATIO_MAX",
    "RESTRICTED_TO",
    "RUNNERS",
    "BenchConfig",
    "BenchError",
    "CountingEmbedder",
    "Json",
    "bench_access",
    "bench_embedding",
    "bench_indexing",
    "bench_latency",
    "bench_lexical",
    "bench_load",
    "bench_scale",
    "bench_understanding",
    "embedding_texts",
    "environment",
    "main",
    "run_benchmarks",
    "synthetic_records",
    "write_summary",
]


def _bench_shards(config: BenchConfig, work: Path) -> Json:
    # imported when run: ``python -m evaluation.bench.shards`` must not find it imported already
    from evaluation.bench.shards import bench_shards

    return bench_shards(config, work)


def _bench_transcription(config: BenchConfig, work: Path) -> Json:
    # imported when run: it needs espeak-ng, ffmpeg and the speech model
    from evaluation.bench.transcription import bench_transcription

    return bench_transcription(config, work)


RUNNERS: dict[str, Callable[[BenchConfig, Path], Json]] = {
    "indexing": bench_indexing,
    "latency": bench_latency,
    "embedding": bench_embedding,
    "lexical": bench_lexical,
    "load": bench_load,
    "scale": bench_scale,
    "access": bench_access,
    "understanding": bench_understanding,
    "shards": _bench_shards,  # optional: not in BENCHMARKS, the default run
    "transcription": _bench_transcription,  # optional (issue 17): audio seconds per second
}


def run_benchmarks(config: BenchConfig, names: Sequence[str], out: Path, work: Path) -> Json:
    """Run ``names`` in order, writing ``<out>/<name>.json`` after each, then the summary.

    Raises ``BenchError`` when a benchmark cannot run, or when ``work`` already holds one of
    its folders (each benchmark starts from a fresh data dir).
    """
    taken = [name for name in names if (work / name).exists()]
    if taken:
        raise BenchError(f"{work} already holds {', '.join(taken)}: use an empty --work folder")
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        print(f"bench: {name} …", file=sys.stderr, flush=True)
        started_at, started = now(), time.perf_counter()
        env = environment()
        data = RUNNERS[name](config, work)
        env["machine"]["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
        data.update(env)
        data.update(
            benchmark=name,
            started_at=started_at,
            finished_at=now(),
            duration_s=round(time.perf_counter() - started, 1),
            config=asdict(config),
        )
        dump(out / f"{name}.json", data)
        print(f"bench: {name} done in {data['duration_s']} s", file=sys.stderr, flush=True)
    return write_summary(out)


def _peers(parser: argparse.ArgumentParser, text: str) -> tuple[str, ...]:
    if text.strip() == "none":
        return ()
    peers = tuple(p.strip() for p in text.split(",") if p.strip())
    known = ("qdrant_edge", "rank_bm25")
    if not peers or set(peers) - set(known):
        parser.error(f"--scale-peers takes 'none' or some of {', '.join(known)}; got {text!r}")
    return peers


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation.bench", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("reports/bench"))
    parser.add_argument(
        "--only",
        default=",".join(BENCHMARKS),
        help=f"comma-separated subset of {', '.join(RUNNERS)} (default: all but shards)",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (< 3 minutes)")
    parser.add_argument("--records", type=int, help="records in the indexing source")
    parser.add_argument("--requests", type=int, help="measured HTTP requests")
    parser.add_argument("--demo-cases", type=int, help="cases in the latency corpus")
    parser.add_argument("--embed-texts", type=int, help="texts in the embedding benchmark")
    parser.add_argument("--index-precision", choices=["fp32", "bf16"])
    parser.add_argument(
        "--lexical-sizes", help="comma-separated record counts of the lexical benchmark's stores"
    )
    parser.add_argument(
        "--search-threads", type=int, help="torch threads of the server and the in-process searcher"
    )
    parser.add_argument(
        "--load-clients", help="comma-separated client counts of the load benchmark"
    )
    parser.add_argument("--load-seconds", type=float, help="measured seconds per load level")
    parser.add_argument(
        "--scale-sizes", help="comma-separated chunk counts of the scale benchmark's stores"
    )
    parser.add_argument("--scale-store-dir", help="keep the scale stores here and reuse them")
    parser.add_argument(
        "--scale-baseline",
        help="a git commit (or a folder holding a retrieval/) the scale benchmark runs beside",
    )
    parser.add_argument(
        "--scale-peers",
        help="comma-separated peers the scale benchmark runs beside (qdrant_edge, rank_bm25), "
        "or 'none' (default: both)",
    )
    parser.add_argument("--work", type=Path, help="scratch folder (default: a temporary one)")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = sorted(set(names) - set(RUNNERS))
    if unknown or not names:
        parser.error(f"--only takes {', '.join(RUNNERS)}; got {args.only!r}")
    config = BenchConfig.quick() if args.quick else BenchConfig()
    overrides = {
        "records": args.records,
        "requests": args.requests,
        "warmup": min(config.warmup, args.requests) if args.requests else None,
        "demo_cases": args.demo_cases,
        "embed_texts": args.embed_texts,
        "embed_block": min(config.embed_block, args.embed_texts) if args.embed_texts else None,
        "index_precision": args.index_precision,
        "search_threads": args.search_threads,
        "lexical_sizes": _sizes(parser, args.lexical_sizes) if args.lexical_sizes else None,
        "load_clients": (
            _sizes(parser, args.load_clients, "--load-clients") if args.load_clients else None
        ),
        "load_seconds": args.load_seconds,
        "scale_sizes": (
            _sizes(parser, args.scale_sizes, "--scale-sizes") if args.scale_sizes else None
        ),
        "scale_store_dir": args.scale_store_dir,
        "scale_baseline": args.scale_baseline,
        "scale_peers": _peers(parser, args.scale_peers) if args.scale_peers else None,
    }
    config = replace(config, **{k: v for k, v in overrides.items() if v is not None})
    if config.records < 3 or min(config.requests, config.embed_texts) < 1:
        parser.error("--records must be at least 3, --requests and --embed-texts at least 1")
    if config.search_threads is not None and config.search_threads < 1:
        parser.error("--search-threads must be at least 1")
    with tempfile.TemporaryDirectory(prefix="casesearch-bench-") as scratch:
        # one ONNX export for every server the benchmarks start (each would make its own)
        os.environ.setdefault(MODEL_DIR_VARIABLE, str(Path(scratch) / "models"))
        try:
            summary = run_benchmarks(config, names, args.out, args.work or Path(scratch))
        except BenchError as exc:
            print(f"bench: error: {exc}", file=sys.stderr)
            return 2
    print((args.out / "summary.md").read_text(encoding="utf-8"))
    return 0 if summary["invariants_ok"] else 1


def _sizes(
    parser: argparse.ArgumentParser, text: str, flag: str = "--lexical-sizes"
) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        parser.error(f"{flag} takes comma-separated counts; got {text!r}")
    if not sizes or min(sizes) < 1:
        parser.error(f"{flag} takes counts of at least 1; got {text!r}")
    return sizes
