"""Speed and memory benchmarks: incremental indexing (issue 3), HTTP search latency (issue 4)
and embedding precision.

``python -m evaluation.bench --out reports/bench [--records N] [--only indexing,latency,embedding]
[--quick]`` writes one JSON file per benchmark (sorted keys), ``summary.json`` and
``summary.md`` (built from every benchmark file present, so ``--only`` refreshes one part).

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
import datetime as dt
import importlib.metadata
import json
import math
import os
import platform
import random
import resource
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from connectors.jsonl import JsonlConnector
from evaluation import EvaluationError
from evaluation.metrics import percentile
from evaluation.synthetic import build_collection, generate_case_file
from indexer import Indexer, IndexSummary
from retrieval.chunking import ChunkingConfig, chunk_text
from retrieval.embedding import Precision, SentenceTransformerEmbedder, Vectors
from retrieval.models import AccessScope, SearchFilters, SearchRequest
from retrieval.search import HybridSearcher
from retrieval.store import SqliteStore

BENCHMARKS = ("indexing", "latency", "embedding")
RERUN_RATIO_MAX = 0.05
HTTP_P95_MAX_MS = 100.0
RESTRICTED_TO = "team:bench-restricted"
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
    seed: int = 7

    @classmethod
    def quick(cls) -> BenchConfig:
        return cls(
            records=400, reruns=2, verify_sample=10, demo_cases=4, requests=60, warmup=5,
            latency_budget_s=45.0, embed_texts=64, embed_block=32,
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


def _rss_mib(field: str = "VmRSS", pid: int | str = "self") -> float | None:
    """A memory figure of ``/proc/<pid>/status`` in MiB (None where there is no /proc)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
            if line.startswith(f"{field}:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


@contextmanager
def _phase(phases: dict[str, Json], name: str) -> Iterator[None]:
    """Record the wall time, the RSS at the start and the peak RSS of the block.

    The peak is the phase's own where the kernel lets us reset the mark, so it is at least the
    RSS the phase started with (memory a process once held is rarely given back).
    """
    per_phase = _reset_peak_rss()
    rss_at_start = _rss_mib()
    started = time.perf_counter()
    yield
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    phases[name] = {
        "wall_s": round(time.perf_counter() - started, 3),
        "rss_at_start_mib": rss_at_start,
        "peak_rss_mib": round(peak_kib / 1024, 1),
        "peak_rss_scope": "phase" if per_phase else "process so far",
    }


def _latency_ms(seconds: Sequence[float]) -> Json:
    ms = [s * 1000 for s in seconds]
    if not ms:
        return {"n": 0}
    return {
        "n": len(ms),
        "mean_ms": round(sum(ms) / len(ms), 2),
        "p50_ms": round(percentile(ms, 50), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "max_ms": round(max(ms), 2),
    }


def _median(values: Sequence[float]) -> float:
    return percentile(list(values), 50)


def _target(name: str, value: float, limit: float) -> Json:
    return {"name": name, "value": round(value, 4), "limit": limit, "met": value <= limit}


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _git_state() -> Json:
    """The commit the benchmark ran on and the tracked files changed since (None without git)."""

    def git(*args: str) -> str:
        return subprocess.run(  # noqa: S603 - fixed arguments
            ["git", *args],  # noqa: S607 - git from PATH, as a developer runs it
            cwd=Path(__file__).resolve().parents[1],
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
    """Passes texts to the model and counts them: the indexer's own count is checked with it."""

    def __init__(self, inner: SentenceTransformerEmbedder) -> None:
        self.inner = inner
        self.texts = 0

    @property
    def fingerprint(self) -> str:
        return self.inner.fingerprint

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        self.texts += len(texts)
        return self.inner.embed(texts, progress=progress)


# -- the record source --------------------------------------------------------------------------


def synthetic_records(n: int, *, seed: int, today: dt.date) -> list[Json]:
    """``n`` distinct synthetic records (whole cases, the last one cut), in id order."""
    cases = max(1, math.ceil(n / 45))
    while True:
        documents = build_collection(seed=seed, n_cases=cases, today=today).documents
        if len(documents) >= n or cases >= 9000:
            break
        cases = min(9000, math.ceil(cases * n / max(1, len(documents))) + 1)
    return [dict(d.record()) for d in sorted(documents, key=lambda d: d.id)[:n]]


def _write_jsonl(path: Path, records: Sequence[Json]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        handle.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def _index_state(store: SqliteStore) -> dict[str, tuple[int, tuple[int, ...]]]:
    """Record id -> (generation, chunk pks): any rewrite of a record changes it."""
    chunks: dict[str, list[int]] = {}
    generations: dict[str, int] = {}
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT r.id, r.generation, c.pk FROM records r"
            " LEFT JOIN chunks c ON c.record_pk = r.pk ORDER BY r.id, c.pk"
        )
        for record_id, generation, chunk_pk in rows:
            generations[record_id] = int(generation)
            chunks.setdefault(record_id, [])
            if chunk_pk is not None:
                chunks[record_id].append(int(chunk_pk))
    return {rid: (generations[rid], tuple(chunks[rid])) for rid in generations}


def _changed(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    return {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}


def _summary_json(summary: IndexSummary, counted: int) -> Json:
    data = summary.as_dict()
    data.pop("source")
    data["failures"] = len(data["failures"])
    data["texts_sent_to_model"] = counted
    return data


def _probe_query(record: Json) -> str:
    return " ".join([record.get("title", ""), *str(record["text"]).split()[:30]]).strip()


def _found(searcher: HybridSearcher, record: Json, scope: AccessScope, top_k: int) -> bool:
    request = SearchRequest(
        text=_probe_query(record),
        scope=scope,
        filters=SearchFilters(case_id=record.get("case_id")),
        top_k=top_k,
        understand=False,
    )
    return record["id"] in {rid for rid, _ in searcher.rank_ids(request)}


# -- 1. indexing --------------------------------------------------------------------------------


def bench_indexing(config: BenchConfig, work: Path) -> Json:
    """First build, unchanged reruns, a 1% edit, then 1% restricted plus 1% deleted."""
    root = work / "indexing"
    phases: dict[str, Json] = {}
    with _phase(phases, "generate"):
        records = synthetic_records(config.records, seed=config.seed, today=dt.date(2025, 6, 30))
        source = root / "records.jsonl"
        _write_jsonl(source, records)
    total = len(records)  # the later phases edit, restrict and delete some of them
    store = SqliteStore(_cli_store_path(_cli_env(root / "data")))
    chunking = ChunkingConfig()  # the settings' default, which the CLI rerun below also uses
    embedder = CountingEmbedder(SentenceTransformerEmbedder(precision=config.index_precision))
    embedder.embed(["load the model before the clock starts"])
    indexer = Indexer(store, embedder, chunking)
    connector = JsonlConnector(source)
    invariants: dict[str, bool] = {}
    result: Json = {"phases": phases}

    def run(name: str) -> tuple[IndexSummary, Json]:
        embedder.texts = 0
        with _phase(phases, name):
            summary = indexer.run(connector)
        return summary, _summary_json(summary, embedder.texts)

    try:
        first, result["first_build"] = run("first_build")
        result["first_build"]["chunks_per_s"] = round(first.chunks_embedded / first.elapsed_s, 1)
        result["first_build"]["records_per_s"] = round(first.added / first.elapsed_s, 1)
        result["store_counts"] = store.counts()
        invariants["first_build_adds_every_record"] = first.added == total
        invariants["first_build_count_matches_model_calls"] = (
            first.chunks_embedded == result["first_build"]["texts_sent_to_model"]
        )

        for variant in ("checkpoint_skip", "full_reread"):
            runs = []
            for i in range(config.reruns):
                if variant == "full_reread":  # forget how far the file was read: hash every line
                    with store.transaction() as conn:
                        store.clear_checkpoint(conn, connector.source_id)
                runs.append(run(f"rerun_{variant}_{i + 1}")[1])
            invariants[f"rerun_{variant}_embeds_nothing"] = all(
                r["chunks_embedded"] == r["texts_sent_to_model"] == 0
                and r["added"] + r["updated"] + r["deleted"] + r["acl_changed"] == 0
                for r in runs
            )
            median_s = _median([r["elapsed_s"] for r in runs])
            result[f"rerun_{variant}"] = {
                "runs": runs,
                "median_s": round(median_s, 3),
                "ratio_to_first": round(median_s / first.elapsed_s, 5),
            }
        invariants["full_reread_compares_every_record"] = all(
            r["unchanged"] == total for r in result["rerun_full_reread"]["runs"]
        )
        result["cli_rerun"] = _cli_rerun(root / "data", source)
        invariants["cli_rerun_embeds_nothing"] = result["cli_rerun"]["chunks_embedded"] == 0

        rng = random.Random(f"bench:{config.seed}")  # noqa: S311 - a reproducible sample
        share = max(1, round(len(records) * config.change_share))
        picked = rng.sample(range(len(records)), 3 * share)
        edit_ix, restrict_ix, delete_ix = (
            set(picked[:share]),
            picked[share : 2 * share],
            picked[2 * share :],
        )
        result["edit"] = _edit_phase(records, edit_ix, source, store, chunking, run, invariants)
        result["acl_and_delete"] = _acl_delete_phase(
            records, restrict_ix, delete_ix, source, store, embedder, run, invariants, config
        )
        result["same_length_acl_edit"] = _same_length_edit(records, source, run)
        invariants["same_length_acl_edit_detected"] = result["same_length_acl_edit"]["detected"]
    finally:
        store.close()

    result["parameters"] = {
        "records": total,
        "source": "evaluation.synthetic (seed, whole cases in id order), JSONL",
        "precision": config.index_precision,
        "precision_note": (
            "first build embeds with this precision; on this CPU bf16 autocast measured slower "
            "than fp32 (see embedding.json), so fp32 is the default"
        ),
        "chunking": chunking.fingerprint(),
        "embedder": embedder.fingerprint,
        "reruns_each": config.reruns,
        "change_share": config.change_share,
        "timing": "Indexer.run wall time with the model already loaded",
    }
    ratios = [result[f"rerun_{v}"]["ratio_to_first"] for v in ("checkpoint_skip", "full_reread")]
    result["targets"] = [
        _target("rerun_checkpoint_skip_over_first", ratios[0], RERUN_RATIO_MAX),
        _target("rerun_full_reread_over_first", ratios[1], RERUN_RATIO_MAX),
    ]
    result["invariants"] = invariants
    return result


def _edit_phase(
    records: list[Json],
    edit_ix: set[int],
    source: Path,
    store: SqliteStore,
    chunking: ChunkingConfig,
    run: Callable[[str], tuple[IndexSummary, Json]],
    invariants: dict[str, bool],
) -> Json:
    for i in sorted(edit_ix):
        records[i] = {
            **records[i],
            "text": f"{records[i]['text']}\n\nManager's addendum (review {i}): discussed in "
            "supervision; the record stands and the plan is unchanged.",
        }
    edited = {records[i]["id"] for i in edit_ix}
    expected = sum(len(chunk_text(records[i]["text"], chunking)) for i in edit_ix)
    before = _index_state(store)
    _write_jsonl(source, records)
    summary, data = run("edit_rerun")
    after = _index_state(store)
    touched = _changed(before, after)
    stored_chunks = sum(len(after[rid][1]) for rid in edited if rid in after)
    invariants["edit_reembeds_exactly_edited_chunks"] = (
        summary.chunks_embedded == expected == data["texts_sent_to_model"] == stored_chunks
    )
    invariants["edit_touches_only_edited_records"] = touched == edited
    invariants["edit_updates_every_edited_record"] = summary.updated == len(edited)
    return {
        **data,
        "edited_records": len(edited),
        "expected_chunks": expected,
        "records_touched": len(touched),
        "records_touched_not_edited": len(touched - edited),
    }


def _acl_delete_phase(
    records: list[Json],
    restrict_ix: list[int],
    delete_ix: list[int],
    source: Path,
    store: SqliteStore,
    embedder: CountingEmbedder,
    run: Callable[[str], tuple[IndexSummary, Json]],
    invariants: dict[str, bool],
    config: BenchConfig,
) -> Json:
    searcher = HybridSearcher(store, embedder)
    searcher.warm()  # one long-lived searcher: the change must show on its very next search
    restricted = [records[i] for i in restrict_ix]
    deleted = [records[i] for i in delete_ix]
    # The user who loses access holds exactly the record's former allow principals.
    probed = restricted[: config.verify_sample]
    sample = [
        (r, AccessScope(frozenset(r["acl"]))) for r in probed + deleted[: config.verify_sample]
    ]
    found_before = sum(_found(searcher, r, scope, 10) for r, scope in sample)
    for i in restrict_ix:
        records[i] = {**records[i], "acl": [RESTRICTED_TO]}
    for i in sorted(delete_ix, reverse=True):
        del records[i]
    before = _index_state(store)
    _write_jsonl(source, records)
    summary, data = run("acl_delete_rerun")
    after = _index_state(store)
    started = time.perf_counter()
    found_after = sum(_found(searcher, r, scope, 200) for r, scope in sample)
    new_owner = AccessScope.of(RESTRICTED_TO)
    still_visible = sum(_found(searcher, r, new_owner, 10) for r in probed)
    search_s = time.perf_counter() - started
    restricted_ids = {r["id"] for r in restricted}
    deleted_ids = {r["id"] for r in deleted}
    touched = _changed(before, after)
    invariants["acl_delete_counts"] = (summary.acl_changed, summary.deleted) == (
        len(restricted),
        len(deleted),
    )
    invariants["acl_delete_embeds_nothing"] = (
        summary.chunks_embedded == data["texts_sent_to_model"] == 0
    )
    invariants["acl_change_keeps_chunks"] = all(
        before[rid][1] == after[rid][1] for rid in restricted_ids
    )
    invariants["deleted_gone_from_store"] = not deleted_ids & after.keys()
    invariants["acl_delete_touches_only_those"] = touched == restricted_ids | deleted_ids
    invariants["restricted_and_deleted_not_found_next_search"] = found_after == 0
    return {
        **data,
        "restricted_records": len(restricted),
        "deleted_records": len(deleted),
        "records_touched": len(touched),
        "search_check": {
            "searched_records": len(sample),
            "found_before_top10_by_former_user": found_before,
            "found_after_top200_by_former_user": found_after,
            "restricted_found_top10_by_new_principal": still_visible,
            "restricted_searched_by_new_principal": len(probed),
            "query": "title + first 30 words, case-scoped, understanding off",
            "searches_s": round(search_s, 3),
        },
    }


def _same_length_edit(
    records: list[Json], source: Path, run: Callable[[str], tuple[IndexSummary, Json]]
) -> Json:
    """Narrow one mid-file record's ACL in place, keeping the file's length, and rerun.

    A checkpoint that trusted the file's length or a sample of its bytes would skip this
    change and leave the old access standing.
    """
    target = records[len(records) // 2]
    old = target["acl"][0]
    target["acl"] = ["x" * len(old), *target["acl"][1:]]
    size = source.stat().st_size
    _write_jsonl(source, records)
    summary, data = run("same_length_acl_edit_rerun")
    return {
        "record": target["id"],
        "file_length_kept": source.stat().st_size == size,
        "acl_changed": summary.acl_changed,
        "chunks_embedded": data["chunks_embedded"],
        "detected": summary.acl_changed == 1 and data["chunks_embedded"] == 0,
    }


# -- the command line as a subprocess -----------------------------------------------------------


def _casesearch() -> list[str]:
    script = Path(sys.executable).parent / "casesearch"
    return [str(script)] if script.exists() else [sys.executable, "-m", "app.cli"]


def _cli_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a ``casesearch`` subprocess: default settings except ``extra``.

    Inherited ``CASESEARCH_*`` variables are dropped, so that the server and the CLI use the
    same settings as the in-process side of each comparison.
    """
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("CASESEARCH_")}
    return {
        **inherited,
        "CASESEARCH_DATA_DIR": str(data_dir),
        "CASESEARCH_PROGRESS": "false",
        "TOKENIZERS_PARALLELISM": "false",
        **extra,
    }


def _cli(args: Sequence[str], env: dict[str, str], timeout: float = 900) -> str:
    done = subprocess.run(  # noqa: S603 - our own console script, arguments built here
        [*_casesearch(), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"casesearch {args[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


def _cli_status(env: dict[str, str]) -> Json:
    status: Json = json.loads(_cli(["status", "--json"], env))
    return status


def _cli_store_path(env: dict[str, str]) -> Path:
    """The store file the settings name for this data dir (created empty if missing)."""
    return Path(_cli_status(env)["store"])


def _cli_index(env: dict[str, str], source: Path) -> tuple[float, Json]:
    started = time.perf_counter()
    _cli(["index", "--source", f"jsonl:{source}"], env)
    wall = time.perf_counter() - started
    sources = {s["source"]: s for s in _cli_status(env)["sources"]}
    last_run: Json = sources[f"jsonl:{source.resolve()}"]["last_run"]
    return wall, last_run


def _cli_rerun(data_dir: Path, source: Path) -> Json:
    wall, last = _cli_index(_cli_env(data_dir), source)
    return {
        "command": "casesearch index --source jsonl:PATH (unchanged file)",
        "process_wall_s": round(wall, 3),
        "indexer_elapsed_s": last["elapsed_s"],
        "chunks_embedded": last["chunks_embedded"],
    }


# -- 2. latency ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def _server(env: dict[str, str], log_path: Path) -> Iterator[tuple[str, int]]:
    """``casesearch serve`` on a free local port until the block ends: (base url, pid)."""
    import httpx

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own console script
            [*_casesearch(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 300
            while True:
                if process.poll() is not None or time.monotonic() > deadline:
                    tail = log_path.read_text(errors="replace")[-2000:]
                    raise BenchError(f"the server did not become ready:\n{tail}")
                try:
                    if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.5)
            yield url, process.pid
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)


def _read_jsonl(path: Path) -> list[Json]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _plan(root: Path, count: int) -> list[tuple[str, str | None, Json]]:
    """``count`` (query, case id, user) triples; each query goes to a user who sees its case."""
    records = _read_jsonl(root / "records.jsonl")
    queries = _read_jsonl(root / "queries.jsonl")
    users = json.loads((root / "users.json").read_text(encoding="utf-8"))["users"]

    def sees(user: Json, case_id: str | None) -> bool:
        held = set(user["principals"])
        return any(
            held & set(r["acl"]) and not held & set(r.get("deny", []))
            for r in records
            if case_id is None or r.get("case_id") == case_id
        )

    cases = {q.get("metadata", {}).get("case_id") for q in queries}
    readers = {case: [u for u in users if sees(u, case)] for case in cases | {None}}
    plan: list[tuple[str, str | None, Json]] = []
    for i in range(count):
        query = queries[i % len(queries)]
        case = query.get("metadata", {}).get("case_id")
        eligible = readers[case] or readers[None]
        plan.append((query["text"], case, eligible[i % len(eligible)]))
    return plan


def bench_latency(config: BenchConfig, work: Path) -> Json:
    """``POST /v1/search`` over HTTP against the in-process searcher, query by query."""
    import httpx

    root = work / "latency"
    phases: dict[str, Json] = {}
    secret = secrets.token_urlsafe(32)
    env = _cli_env(
        root / "data",
        CASESEARCH_JWT_SECRET=secret,
        CASESEARCH_LIMITS__RATE_LIMIT_PER_MINUTE="100000",
    )
    with _phase(phases, "generate_and_index"):
        generated = generate_case_file(
            root / "demo", seed=config.seed, n_cases=config.demo_cases, today=dt.date.today()
        )
        index_wall, index_run = _cli_index(env, generated.records_path)
    plan = _plan(generated.root, config.warmup + config.requests)
    tokens: dict[str, str] = {}
    for _, _, user in plan:
        if user["sub"] not in tokens:
            principals = [a for p in user["principals"] for a in ("--principal", p)]
            tokens[user["sub"]] = _cli(["token", "--sub", user["sub"], *principals], env).strip()
    import torch

    threads = config.search_threads or torch.get_num_threads()
    default_threads = torch.get_num_threads()
    serve_env = {**env, "OMP_NUM_THREADS": str(threads)}
    store = SqliteStore(_cli_store_path(env))
    searcher = HybridSearcher(store, SentenceTransformerEmbedder())  # the server's defaults
    # One row per measured query: scope ("case" or "cross_case") and seconds per side.
    rows: list[tuple[str, dict[str, float]]] = []
    statuses: dict[str, int] = {}
    stopped_by_budget = False
    try:
        torch.set_num_threads(threads)
        searcher.warm()
        with (
            _phase(phases, "serve_and_measure"),
            _server(serve_env, root / "server.log") as (url, pid),
            httpx.Client(base_url=url, timeout=60) as client,
        ):
            deadline = time.monotonic() + config.latency_budget_s
            for i, (text, case_id, user) in enumerate(plan):
                measured = i >= config.warmup
                if measured and time.monotonic() > deadline:
                    stopped_by_budget = True
                    break
                body: Json = {"query": text, "top_k": 10}
                if case_id is not None:
                    body["case_id"] = case_id
                headers = {"Authorization": f"Bearer {tokens[user['sub']]}"}
                scope = AccessScope.of(*user["principals"], f"user:{user['sub']}")
                request = SearchRequest(text, scope, SearchFilters(case_id=case_id), top_k=10)
                row: dict[str, float] = {}
                # Alternate which goes first so that neither always meets a warmer cache.
                for which in ("http", "in_process") if i % 2 == 0 else ("in_process", "http"):
                    started = time.perf_counter()
                    if which == "http":
                        response = client.post("/v1/search", json=body, headers=headers)
                        row["http"] = time.perf_counter() - started
                        if measured:
                            key = str(response.status_code)
                            statuses[key] = statuses.get(key, 0) + 1
                        if response.status_code == 200:
                            row["server_took"] = float(response.json()["took_ms"]) / 1000
                    else:
                        searcher.search(request)
                        row["in_process"] = time.perf_counter() - started
                if measured and "server_took" in row:
                    rows.append(("case" if case_id else "cross_case", row))
            server_peak = _rss_mib("VmHWM", pid)
    finally:
        torch.set_num_threads(default_threads)
        store.close()
    sides = ("http", "server_took", "in_process")
    stats = {side: _latency_ms([r[side] for _, r in rows]) for side in sides}
    http, inproc = stats["http"], stats["in_process"]
    by_scope = {
        scope: {side: _latency_ms([r[side] for s, r in rows if s == scope]) for side in sides}
        for scope in ("case", "cross_case")
    }
    invariants = {"every_request_answered_200": statuses.keys() == {"200"}}
    return {
        "phases": phases,
        "corpus": {
            "records": index_run["added"] + index_run["unchanged"] + index_run["updated"],
            "chunks_embedded": index_run["chunks_embedded"],
            "index_process_wall_s": round(index_wall, 3),
        },
        **stats,
        "by_scope": by_scope,
        "ratio_http_over_in_process": {
            k: round(http[k] / inproc[k], 3)
            for k in ("p50_ms", "p95_ms", "p99_ms")
            if k in http and k in inproc
        },
        "statuses": dict(sorted(statuses.items())),
        "stopped_by_time_budget": stopped_by_budget,
        "server_peak_rss_mib": server_peak,
        "parameters": {
            "corpus": f"evaluation.synthetic demo: seed {config.seed}, {config.demo_cases} cases, "
            "today = the real date (as casesearch demo)",
            "requests": config.requests,
            "warmup": config.warmup,
            "time_budget_s": config.latency_budget_s,
            "users": sorted(tokens),
            "torch_threads": threads,
            "client": "httpx, one keep-alive connection, sequential; top_k 10",
            "server": "casesearch serve (one uvicorn worker), default settings, "
            "rate limit 100000/min",
            "order": "per query, HTTP and in-process back to back, alternating which goes first",
            "http_includes": "JWT check, rate limiting, audit write, JSON encoding, loopback TCP",
            "server_took": "the response's took_ms: the searcher inside the server",
            "scopes": "case: the query names a case_id; cross_case: a QA search over all cases",
        },
        "targets": [_target("http_p95_ms", http.get("p95_ms", math.inf), HTTP_P95_MAX_MS)],
        "invariants": invariants,
    }


# -- 3. embedding -------------------------------------------------------------------------------


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
    with _phase(phases, "prepare_texts"):
        texts = embedding_texts(config.embed_texts, seed=config.seed, n_cases=config.demo_cases)
    precisions: tuple[Precision, Precision] = ("fp32", "bf16")
    models = {p: SentenceTransformerEmbedder(precision=p) for p in precisions}
    for model in models.values():
        model.embed(texts[:16])  # load and warm up outside the clock
    seconds = dict.fromkeys(precisions, 0.0)
    vectors: dict[str, list[Vectors]] = {p: [] for p in precisions}
    with _phase(phases, "measure"):
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


# -- reports ------------------------------------------------------------------------------------

RUNNERS: dict[str, Callable[[BenchConfig, Path], Json]] = {
    "indexing": bench_indexing,
    "latency": bench_latency,
    "embedding": bench_embedding,
}


def _dump(path: Path, data: Json) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _figures(name: str, data: Json) -> Json:
    if name == "indexing":
        return {
            "records": data["parameters"]["records"],
            "first_build_s": data["first_build"]["elapsed_s"],
            "first_build_chunks": data["first_build"]["chunks_embedded"],
            "rerun_checkpoint_skip_s": data["rerun_checkpoint_skip"]["median_s"],
            "rerun_full_reread_s": data["rerun_full_reread"]["median_s"],
            "edit_chunks_reembedded": data["edit"]["chunks_embedded"],
            "edit_chunks_expected": data["edit"]["expected_chunks"],
            "acl_changed": data["acl_and_delete"]["acl_changed"],
            "deleted": data["acl_and_delete"]["deleted"],
            "same_length_acl_edit_detected": data["same_length_acl_edit"]["detected"],
        }
    if name == "latency":
        return {
            "http_p50_ms": data["http"].get("p50_ms"),
            "http_p95_ms": data["http"].get("p95_ms"),
            "http_p99_ms": data["http"].get("p99_ms"),
            "in_process_p50_ms": data["in_process"].get("p50_ms"),
            "in_process_p95_ms": data["in_process"].get("p95_ms"),
            "ratio_http_over_in_process": data["ratio_http_over_in_process"],
            "http_p95_ms_by_scope": {
                scope: part["http"].get("p95_ms") for scope, part in data["by_scope"].items()
            },
            "requests": data["http"]["n"],
        }
    return {
        "texts_per_s": data["texts_per_s"],
        "ratio_bf16_over_fp32": data["ratio_bf16_over_fp32"],
        "cosine_mean": data["cosine_bf16_fp32"]["mean"],
    }


def write_summary(out: Path) -> Json:
    """Summarise every benchmark file in ``out`` into ``summary.json`` and ``summary.md``."""
    parts: Json = {}
    for name in BENCHMARKS:
        path = out / f"{name}.json"
        if path.exists():
            data = json.loads(path.read_text(encoding="utf-8"))
            parts[name] = {
                "file": path.name,
                "finished_at": data["finished_at"],
                "figures": _figures(name, data),
                "targets": data["targets"],
                "invariants_ok": all(data["invariants"].values()),
                "failed_invariants": sorted(k for k, ok in data["invariants"].items() if not ok),
            }
    summary = {
        "generated_at": _now(),
        "benchmarks": parts,
        "invariants_ok": all(p["invariants_ok"] for p in parts.values()),
    }
    _dump(out / "summary.json", summary)
    lines = ["# Benchmarks", "", f"Generated {summary['generated_at']}. Ratios are measured side "
             "by side in one run; absolute times on a shared CPU are noisy.", ""]  # fmt: skip
    for name, part in parts.items():
        lines += [f"## {name} ({part['finished_at']})", ""]
        lines += [f"- {k}: {json.dumps(v, sort_keys=True)}" for k, v in part["figures"].items()]
        for t in part["targets"]:
            verdict = "met" if t["met"] else "**NOT met**"
            lines.append(f"- target {t['name']} ≤ {t['limit']}: {t['value']} — {verdict}")
        failed = ", ".join(part["failed_invariants"]) or "none"
        lines += [f"- invariants: {'all hold' if part['invariants_ok'] else '**FAILED**'}"
                  f" (failed: {failed})", ""]  # fmt: skip
    (out / "summary.md").write_text("\n".join(lines), encoding="utf-8")
    return summary


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
        started_at, started = _now(), time.perf_counter()
        env = environment()
        data = RUNNERS[name](config, work)
        env["machine"]["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
        data.update(env)
        data.update(
            benchmark=name,
            started_at=started_at,
            finished_at=_now(),
            duration_s=round(time.perf_counter() - started, 1),
            config=asdict(config),
        )
        _dump(out / f"{name}.json", data)
        print(f"bench: {name} done in {data['duration_s']} s", file=sys.stderr, flush=True)
    return write_summary(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation.bench", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("reports/bench"))
    parser.add_argument("--only", default=",".join(BENCHMARKS), help="comma-separated subset")
    parser.add_argument("--quick", action="store_true", help="small sizes (< 3 minutes)")
    parser.add_argument("--records", type=int, help="records in the indexing source")
    parser.add_argument("--requests", type=int, help="measured HTTP requests")
    parser.add_argument("--demo-cases", type=int, help="cases in the latency corpus")
    parser.add_argument("--embed-texts", type=int, help="texts in the embedding benchmark")
    parser.add_argument("--index-precision", choices=["fp32", "bf16"])
    parser.add_argument(
        "--search-threads", type=int, help="torch threads of the server and the in-process searcher"
    )
    parser.add_argument("--work", type=Path, help="scratch folder (default: a temporary one)")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown or not names:
        parser.error(f"--only takes {', '.join(BENCHMARKS)}; got {args.only!r}")
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
    }
    config = replace(config, **{k: v for k, v in overrides.items() if v is not None})
    if config.records < 3 or min(config.requests, config.embed_texts) < 1:
        parser.error("--records must be at least 3, --requests and --embed-texts at least 1")
    if config.search_threads is not None and config.search_threads < 1:
        parser.error("--search-threads must be at least 1")
    with tempfile.TemporaryDirectory(prefix="casesearch-bench-") as scratch:
        try:
            summary = run_benchmarks(config, names, args.out, args.work or Path(scratch))
        except BenchError as exc:
            print(f"bench: error: {exc}", file=sys.stderr)
            return 2
    print((args.out / "summary.md").read_text(encoding="utf-8"))
    return 0 if summary["invariants_ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
