"""Indexing throughput with 1 and 2 workers (scale-out issue, item 4): one source of synthetic
records indexed into PostgreSQL by one ``casesearch index`` process, then by two
``casesearch index --shard K/2`` processes side by side, in one run on one machine.

Variants, each into a fresh schema of the database, in this order:
- ``one_worker``: one process, torch's default threads (one per core);
- ``two_shards``: shards 1/2 and 2/2 at once, each with torch's default threads;
- ``two_shards_one_thread_each``: the same with ``CASESEARCH_EMBEDDING__THREADS=1``, so that
  two processes on two cores do not each ask for both.

Each process loads the model and embeds its share; their write transactions take turns on the
store's lock. ``records_per_s`` is records over the wall time from the first process started to
the last one finished (start-up and model load included, as an operator sees it);
``indexing_records_per_s`` is records over the longest ``elapsed_s`` the indexers report.
Invariants: every variant stores each record once, and the sharded stores equal the
one-worker store (ids and content hashes).

``python -m evaluation.bench.shards --out reports/bench/shards.json [--records 1000]
[--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]``, or
``python -m evaluation.bench --only shards`` (an optional part: not in the default run, which
needs no database).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import create_engine

from evaluation.bench.common import BenchConfig, BenchError, Json, environment, now
from evaluation.bench.common import synthetic_records as make_records
from evaluation.bench.process import casesearch_command, cli, cli_env
from evaluation.bench.report import dump
from retrieval.store import SqliteStore

DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
RECORDS = 1_000
VARIANTS: dict[str, tuple[int, dict[str, str]]] = {
    "one_worker": (1, {}),
    "two_shards": (2, {}),
    "two_shards_one_thread_each": (2, {"CASESEARCH_EMBEDDING__THREADS": "1"}),
}


@contextmanager
def _schema(database_url: str) -> Iterator[str]:
    """A store URL on a new, empty schema of ``database_url``; the schema is dropped after."""
    schema = f"cs_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    except Exception as exc:
        admin.dispose()
        raise BenchError(f"cannot create a schema in {database_url}: {exc}") from exc
    separator = "&" if "?" in database_url else "?"
    try:
        yield f"{database_url}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


def _stored(url: str) -> dict[str, str]:
    """Record id → content hash, over every row the store holds (a doubled id would show as
    fewer keys than rows: checked by the caller through ``rows``)."""
    store = SqliteStore(url)
    try:
        with store.snapshot() as conn:
            rows = conn.exec_driver_sql("SELECT id, content_hash FROM records").all()
    finally:
        store.close()
    stored = {str(rid): str(digest) for rid, digest in rows}
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


def bench_shards(config: BenchConfig, work: Path, database_url: str = DATABASE_URL) -> Json:
    """The variants in ``VARIANTS`` over ``min(config.records, RECORDS)`` synthetic records.

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
    variants: Json = {}
    contents: dict[str, dict[str, str]] = {}
    for name, (workers, extra) in VARIANTS.items():
        print(f"bench shards: {name} …", file=sys.stderr, flush=True)
        (root / name).mkdir()
        with _schema(database_url) as url:
            variants[name], contents[name] = _variant(source, url, root / name, workers, extra)
    one = variants["one_worker"]
    ratios = {
        f"{name}_over_one_worker": {
            "records_per_s": round(v["records_per_s"] / one["records_per_s"], 3),
            "indexing_records_per_s": round(
                v["indexing_records_per_s"] / one["indexing_records_per_s"], 3
            ),
        }
        for name, v in variants.items()
        if name != "one_worker"
    }
    invariants = {
        f"{name}_stores_every_record_once": set(stored) == expected
        for name, stored in contents.items()
    }
    invariants.update(
        {
            f"{name}_equals_one_worker": stored == contents["one_worker"]
            for name, stored in contents.items()
            if name != "one_worker"
        }
    )
    invariants["each_record_added_by_one_shard"] = all(
        sum(r["added"] for r in v["runs"]) == len(records) for v in variants.values()
    )
    return {
        "parameters": {
            "records": len(records),
            "source": "evaluation.synthetic (seed, whole cases in id order), JSONL",
            "store": "PostgreSQL, a fresh schema per variant",
            "settings": "defaults (fp32, no embedding cache), progress off",
            "timing": "records_per_s: first process started to last finished, model load"
            " included; indexing_records_per_s: the longest Indexer.run elapsed_s",
        },
        "variants": variants,
        "ratios": ratios,
        "targets": [],
        "invariants": invariants,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation.bench.shards", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("reports/bench/shards.json"))
    parser.add_argument("--records", type=int, default=RECORDS)
    parser.add_argument("--database-url", default=DATABASE_URL)
    args = parser.parse_args(argv)
    if args.records < 2:
        parser.error("--records must be at least 2")
    config = BenchConfig(records=args.records)
    started_at, started = now(), time.perf_counter()
    env = environment()
    with tempfile.TemporaryDirectory(prefix="casesearch-bench-shards-") as scratch:
        try:
            data = bench_shards(config, Path(scratch), args.database_url)
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
        config={"records": args.records, "seed": config.seed},
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    dump(args.out, data)
    print(json.dumps({"variants": data["variants"], "ratios": data["ratios"]}, indent=2))
    return 0 if all(data["invariants"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
