"""Indexing throughput with 1 and 2 workers (scale-out issue, item 4): one source of synthetic
records indexed into PostgreSQL by one ``casesearch index`` process, then by two
``casesearch index --shard K/2`` processes side by side, in one run on one machine.

Variants, each into a fresh schema of the database:
- ``one_worker``: one process, torch's default threads (one per core): today's default;
- ``one_worker_one_thread``: one process with ``CASESEARCH_EMBEDDING__THREADS=1``;
- ``two_shards``: shards 1/2 and 2/2 at once, each with torch's default threads;
- ``two_shards_one_thread_each``: the same with one thread each, so that two processes on two
  cores do not each ask for both.

Each process loads the model and embeds its share; their write transactions take turns on the
store's lock. ``records_per_s`` is records over the wall time from the first process started to
the last one finished (start-up and model load included, as an operator sees it);
``indexing_records_per_s`` is records over the longest ``elapsed_s`` the indexers report.
Invariants: every variant stores each record once, each added by one process, and every store
equals the first one (ids and content hashes).

``python -m evaluation.bench.shards --out reports/bench/shards.json [--records 1000]
[--rounds 2] [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]``, or
``python -m evaluation.bench --only shards`` (an optional part: not in the default run, which
needs no database).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from evaluation.bench.common import BenchConfig, BenchError, Json, environment, now
from evaluation.bench.common import synthetic_records as make_records
from evaluation.bench.process import (
    LOCAL_DATABASE_URL,
    casesearch_command,
    cli,
    cli_env,
    postgresql_schema,
)
from evaluation.bench.report import dump
from retrieval.store import RecordStore

DATABASE_URL = LOCAL_DATABASE_URL
RECORDS = 1_000
ROUNDS = 2
ONE_THREAD = {"CASESEARCH_EMBEDDING__THREADS": "1"}
VARIANTS: dict[str, tuple[int, dict[str, str]]] = {
    "one_worker": (1, {}),
    "one_worker_one_thread": (1, ONE_THREAD),
    "two_shards": (2, {}),
    "two_shards_one_thread_each": (2, ONE_THREAD),
}


def _stored(url: str) -> dict[str, str]:
    """Record id → content hash, over every row the store holds (a doubled id would show as
    fewer keys than rows)."""
    store = RecordStore(url)
    try:
        with store.snapshot() as conn:
            rows = store.record_index(conn)
    finally:
        store.close()
    stored = {rid: digest for rid, _, _, digest in rows}
    if len(stored) != len(rows):
        raise BenchError(f"{len(rows) - len(stored)} record ids are stored more than once")
    return stored


def _variant(
    source: Path, url: str, work: Path, workers: int, extra: dict[str, str]
) -> tuple[Json, dict[str, str]]:
    """Run ``workers`` index processes at once (shards 1…N, or one unsharded): the timings,
    each process's summary, and what the store then holds."""
    shards = [None] if workers == 1 else [f"{k}/{workers}" for k in range(1, workers + 1)]
    envs = [
        cli_env(work / f"data-{i}", CASESEARCH_DATABASE_URL=url, **extra)
        for i in range(len(shards))
    ]
    load_at_start = round(os.getloadavg()[0], 2)
    started = time.perf_counter()
    processes: list[subprocess.Popen[bytes]] = []
    for i, shard in enumerate(shards):
        args = ["index", "--source", f"jsonl:{source}", *(["--shard", shard] if shard else [])]
        with (work / f"index-{i}.log").open("wb") as log:  # the child keeps its own descriptor
            processes.append(
                subprocess.Popen(  # noqa: S603 - our own console script
                    [*casesearch_command(), *args],
                    env=envs[i],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
    walls: dict[int, float] = {}
    while len(walls) < len(processes):  # each one's own wall time, whichever ends first
        for i, process in enumerate(processes):
            if i not in walls and process.poll() is not None:
                walls[i] = time.perf_counter() - started
        time.sleep(0.05)
    for i, process in enumerate(processes):
        if process.returncode != 0:
            tail = (work / f"index-{i}.log").read_text(errors="replace")[-2000:]
            raise BenchError(f"casesearch index ({shards[i]}) failed: {tail}")
    wall = max(walls.values())
    load_at_end = round(os.getloadavg()[0], 2)
    status = json.loads(cli(["status", "--json"], envs[0]))
    key = f"jsonl:{source.resolve()}"
    runs = []
    for i, shard in enumerate(shards):
        name = key if shard is None else f"{key}#shard {shard}"
        last = next(s["last_run"] for s in status["sources"] if s["source"] == name)
        runs.append(
            {
                "shard": shard,
                "process_wall_s": round(walls[i], 3),
                "indexer_elapsed_s": last["elapsed_s"],
                "added": last["added"],
                "chunks_embedded": last["chunks_embedded"],
            }
        )
    stored = _stored(url)
    indexing_s = max(r["indexer_elapsed_s"] for r in runs)
    return {
        "processes": workers,
        "environment": extra,
        "wall_s": round(wall, 3),
        "records_per_s": round(len(stored) / wall, 2),
        "indexing_records_per_s": round(len(stored) / indexing_s, 2),
        "chunks": sum(r["chunks_embedded"] for r in runs),
        "load_average_1m_at_start": load_at_start,
        "load_average_1m_at_end": load_at_end,
        "runs": runs,
    }, stored


def bench_shards(
    config: BenchConfig, work: Path, database_url: str = DATABASE_URL, rounds: int = ROUNDS
) -> Json:
    """The variants in ``VARIANTS`` over ``min(config.records, RECORDS)`` synthetic records,
    ``rounds`` times, in ``VARIANTS``' order and then the reverse, so that a machine getting
    busier or quieter during the run does not favour one side; medians are compared.

    Raises ``BenchError`` when the database cannot be reached or a process fails.
    """
    root = work / "shards"
    root.mkdir(parents=True)
    records = make_records(
        min(config.records, RECORDS), seed=config.seed, today=dt.date(2025, 6, 30)
    )
    source = root / "records.jsonl"
    with source.open("w", encoding="utf-8", newline="\n") as handle:
        handle.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    expected = {str(r["id"]) for r in records}
    runs: dict[str, list[Json]] = {name: [] for name in VARIANTS}
    invariants: dict[str, bool] = {}
    reference: dict[str, str] | None = None
    for round_number in range(1, rounds + 1):
        names = list(VARIANTS) if round_number % 2 else list(reversed(VARIANTS))
        for name in names:
            workers, extra = VARIANTS[name]
            print(f"bench shards: round {round_number}, {name} …", file=sys.stderr, flush=True)
            folder = root / f"{round_number}-{name}"
            folder.mkdir()
            with postgresql_schema(database_url) as url:
                result, stored = _variant(source, url, folder, workers, extra)
            runs[name].append({"round": round_number, **result})
            reference = stored if reference is None else reference
            invariants[f"{name}_stores_every_record_once"] = (
                invariants.get(f"{name}_stores_every_record_once", True) and set(stored) == expected
            )
            invariants[f"{name}_stores_what_the_others_store"] = (
                invariants.get(f"{name}_stores_what_the_others_store", True) and stored == reference
            )
            invariants[f"{name}_adds_each_record_once"] = invariants.get(
                f"{name}_adds_each_record_once", True
            ) and sum(r["added"] for r in result["runs"]) == len(records)
    variants: dict[str, Json] = {
        name: {
            "processes": VARIANTS[name][0],
            "environment": VARIANTS[name][1],
            "records_per_s_median": _median([r["records_per_s"] for r in each]),
            "indexing_records_per_s_median": _median([r["indexing_records_per_s"] for r in each]),
            "rounds": each,
        }
        for name, each in runs.items()
    }
    one = variants["one_worker"]
    ratios = {
        f"{name}_over_one_worker": {
            key: round(v[f"{key}_median"] / one[f"{key}_median"], 3)
            for key in ("records_per_s", "indexing_records_per_s")
        }
        for name, v in variants.items()
        if name != "one_worker"
    }
    ratios["two_shards_one_thread_each_over_one_worker_one_thread"] = {
        key: round(
            variants["two_shards_one_thread_each"][f"{key}_median"]
            / variants["one_worker_one_thread"][f"{key}_median"],
            3,
        )
        for key in ("records_per_s", "indexing_records_per_s")
    }
    return {
        "parameters": {
            "records": len(records),
            "rounds": rounds,
            "source": "evaluation.synthetic (seed, whole cases in id order), JSONL",
            "store": "PostgreSQL, a fresh schema per variant and round",
            "settings": "defaults (fp32, no embedding cache), progress off",
            "timing": "records_per_s: first process started to last finished, model load"
            " included; indexing_records_per_s: the longest Indexer.run elapsed_s",
        },
        "variants": variants,
        "ratios": ratios,
        "targets": [],
        "invariants": invariants,
    }


def _median(values: Sequence[float]) -> float:
    return round(statistics.median(values), 2)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation.bench.shards", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("reports/bench/shards.json"))
    parser.add_argument("--records", type=int, default=RECORDS)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--database-url", default=DATABASE_URL)
    args = parser.parse_args(argv)
    if args.records < 2 or args.rounds < 1:
        parser.error("--records must be at least 2, --rounds at least 1")
    config = BenchConfig(records=args.records)
    started_at, started = now(), time.perf_counter()
    env = environment()
    with tempfile.TemporaryDirectory(prefix="casesearch-bench-shards-") as scratch:
        try:
            data = bench_shards(config, Path(scratch), args.database_url, args.rounds)
        except BenchError as exc:
            print(f"bench: error: {exc}", file=sys.stderr)
            return 2
    env["machine"]["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
    data.update(env)
    data.update(
        benchmark="shards",
        started_at=started_at,
        finished_at=now(),
        duration_s=round(time.perf_counter() - started, 1),
        config={"records": args.records, "rounds": args.rounds, "seed": config.seed},
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    dump(args.out, data)
    print(json.dumps({"variants": data["variants"], "ratios": data["ratios"]}, indent=2))
    return 0 if all(data["invariants"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
