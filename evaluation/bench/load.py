"""Benchmark 5, search under load (fail-safe issue, item 5): closed-loop clients against one
``casesearch serve`` on the demo corpus, at several concurrencies, for a bounded time each.

Each client sends ``POST /v1/search`` (mixed queries from many users, each query sent by a
user who sees its case) on its own keep-alive connection and sends the next as soon as the
answer arrives. Throughput is the answers in the measured window over its length; latencies
are those of requests that started inside it. Three servers are measured in one run: the
default (one process; ``limits.max_concurrent_searches``: one search per core, the rest queue),
``unbounded`` (0: every worker thread may search at once), ``torch_queries`` (queries encoded
by sentence-transformers instead of ONNX Runtime) and ``two_workers`` (two API
processes, ``CASESEARCH_WORKERS=2``, the rate limit shared in Redis), so that the tables come
from the same machine and minutes: all servers run throughout, and at each concurrency they take
turns. A server's CPU and peak memory include its worker processes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import os
import secrets
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

from evaluation.bench.common import BenchConfig, BenchError, Json, phase, rss_mib, target
from evaluation.bench.latency import _plan
from evaluation.bench.process import bearer_token, cli_env, cli_index, postgresql_schema, server
from evaluation.metrics import percentile
from evaluation.synthetic import generate_case_file

LOAD_P95_MAX_MS = 300.0  # at 16 clients
# The server configurations compared: name -> the settings it changes. "default": one
# process, one search per core at once; "unbounded": every worker thread may search at once;
# "two_workers": two API processes (CASESEARCH_WORKERS), their rate limit shared in Redis.
VARIANTS: dict[str, dict[str, str]] = {
    "default": {},
    "unbounded": {"CASESEARCH_LIMITS__MAX_CONCURRENT_SEARCHES": "0"},
    # queries through sentence-transformers (the default before ONNX Runtime served them)
    "torch_queries": {"CASESEARCH_EMBEDDING__QUERY_BACKEND": "torch"},
    "two_workers": {
        "CASESEARCH_WORKERS": "2",
        "CASESEARCH_LIMITS__RATE_LIMIT_STORAGE": "redis://127.0.0.1:6379",
    },
}

# The same records on the scale-out store (a fresh schema of BenchConfig.load_database_url):
# one API process, and three sharing it, as compose.scale-out.yaml runs them.
POSTGRESQL_VARIANTS: dict[str, dict[str, str]] = {
    "postgresql": {},
    "postgresql_three_workers": {
        "CASESEARCH_WORKERS": "3",
        "CASESEARCH_LIMITS__RATE_LIMIT_STORAGE": "redis://127.0.0.1:6379",
    },
}

Plan = list[tuple[str, str | None, str]]  # (query, case id, token)


def _children(pid: int | str) -> list[str]:
    """The pids of ``pid``'s child processes (uvicorn's workers), [] where /proc lacks them."""
    found: list[str] = []
    for tasks in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += tasks.read_text(encoding="ascii").split()
        except OSError:
            continue
    return found


def _cpu_s(pid: int | str = "self", *, tree: bool = False) -> float | None:
    """User plus system CPU seconds of process ``pid`` so far (with ``tree``, its children's
    too: the workers of a multi-process server), None where there is no /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    except OSError:
        return None
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    if not tree:
        return own
    return own + sum(_cpu_s(child) or 0.0 for child in _children(pid))


def _tree_rss_mib(pid: int) -> float | None:
    """Peak RSS of ``pid`` and its children, summed (MiB)."""
    peaks = [rss_mib("VmHWM", p) for p in [str(pid), *_children(pid)]]
    known = [p for p in peaks if p is not None]
    return round(sum(known), 1) if known else None


def _stats(ms: Sequence[float]) -> Json:
    if not ms:
        return {"n": 0}
    return {
        "n": len(ms),
        "p50_ms": round(percentile(list(ms), 50), 1),
        "p95_ms": round(percentile(list(ms), 95), 1),
        "p99_ms": round(percentile(list(ms), 99), 1),
        "max_ms": round(max(ms), 1),
    }


async def _closed_loop(url: str, plan: Plan, clients: int, warmup_s: float, seconds: float) -> Json:
    """``clients`` closed-loop clients for ``warmup_s + seconds``; figures of the last part."""
    import httpx

    loop = asyncio.get_running_loop()
    start = loop.time()
    measure_from, stop_at = start + warmup_s, start + warmup_s + seconds
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    completed = 0

    async def client(index: int) -> None:
        nonlocal completed
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:
            i = index * 7919
            while loop.time() < stop_at:
                text, case_id, token = plan[i % len(plan)]
                i += 1
                body: Json = {"query": text, "top_k": 10}
                if case_id is not None:
                    body["case_id"] = case_id
                sent = loop.time()
                try:
                    response = await http.post(
                        "/v1/search", json=body, headers={"Authorization": f"Bearer {token}"}
                    )
                    key = str(response.status_code)
                except httpx.HTTPError as exc:
                    key = type(exc).__name__
                done = loop.time()
                if sent >= measure_from and done <= stop_at:
                    latencies.append((done - sent) * 1000)
                    statuses[key] = statuses.get(key, 0) + 1
                if measure_from <= done <= stop_at:
                    completed += 1

    load_before = os.getloadavg()
    await asyncio.gather(*(client(i) for i in range(clients)))
    errors = sum(n for key, n in statuses.items() if key != "200")
    return {
        "clients": clients,
        "requests_per_s": round(completed / seconds, 2),
        **_stats(latencies),
        "errors": errors,
        "statuses": dict(sorted(statuses.items())),
        "load_average_1m": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
    }


def bench_load(config: BenchConfig, work: Path) -> Json:
    """Closed-loop load at ``config.load_clients`` against the server, once per variant."""
    root = work / "load"
    phases: dict[str, Json] = {}
    secret = secrets.token_urlsafe(32)
    env = cli_env(
        root / "data",
        CASESEARCH_JWT_SECRET=secret,
        CASESEARCH_LIMITS__RATE_LIMIT_PER_MINUTE="1000000",
    )
    # the index runs share an embedding cache (the servers do not: queries are embedded anew)
    index_env = {**env, "CASESEARCH_EMBEDDING__CACHE": "true"}
    with phase(phases, "generate_and_index"):
        generated = generate_case_file(
            root / "demo", seed=config.seed, n_cases=config.demo_cases, today=dt.date.today()
        )
        cli_index(index_env, generated.records_path)
    tokens: dict[str, str] = {}
    plan: Plan = []
    for text, case_id, user in _plan(generated.root, config.load_plan):
        if user["sub"] not in tokens:
            tokens[user["sub"]] = bearer_token(env, user["sub"], user["principals"])
        plan.append((text, case_id, tokens[user["sub"]]))
    serve_env = {**env, "OMP_NUM_THREADS": str(config.search_threads or 1)}
    envs = {name: {**serve_env, **changes} for name, changes in VARIANTS.items()}
    peaks: dict[str, float | None] = {}
    skipped: dict[str, str] = {}
    with ExitStack() as stack:
        if config.load_database_url is not None:
            try:
                url = stack.enter_context(postgresql_schema(config.load_database_url))
            except BenchError as exc:
                skipped = {name: str(exc) for name in POSTGRESQL_VARIANTS}
            else:
                with phase(phases, "index_postgresql"):
                    cli_index({**index_env, "CASESEARCH_DATABASE_URL": url}, generated.records_path)
                for name, changes in POSTGRESQL_VARIANTS.items():
                    envs[name] = {**serve_env, "CASESEARCH_DATABASE_URL": url, **changes}
        rows = _serve_and_measure(config, plan, envs, root, phases, peaks)
    variants: Json = {
        name: {"rows": rows[name], "server_peak_rss_mib": peaks[name]} for name in envs
    }
    return _result(config, phases, variants, skipped, serve_env, len(tokens), len(plan), envs)


def _serve_and_measure(
    config: BenchConfig,
    plan: Plan,
    envs: dict[str, dict[str, str]],
    root: Path,
    phases: dict[str, Json],
    peaks: dict[str, float | None],
) -> dict[str, list[Json]]:
    """Every variant's server at once; per level of clients each is measured in turn."""
    rows: dict[str, list[Json]] = {name: [] for name in envs}
    with phase(phases, "serve_and_measure"), ExitStack() as stack:
        servers: dict[str, tuple[str, int]] = {}
        for name, variant_env in envs.items():
            servers[name] = stack.enter_context(server(variant_env, root / f"server-{name}.log"))
        # Every server runs throughout; per level the variants take turns, rotating which
        # goes first, so a change in the machine's load falls on all alike.
        for level, clients in enumerate(config.load_clients):
            names = list(envs)
            order = names[level % len(names) :] + names[: level % len(names)]
            for name in order:
                url, pid = servers[name]
                server_cpu, client_cpu = _cpu_s(pid, tree=True), _cpu_s()
                row = asyncio.run(
                    _closed_loop(url, plan, clients, config.load_warmup_s, config.load_seconds)
                )
                # Where the two cores went: the cores the server and the clients kept busy,
                # on average over the level (warm-up included); the rest went to other work.
                span = config.load_warmup_s + config.load_seconds
                server_now, client_now = _cpu_s(pid, tree=True), _cpu_s()
                if server_cpu is not None and server_now is not None:
                    row["server_cpu_cores"] = round((server_now - server_cpu) / span, 2)
                if client_cpu is not None and client_now is not None:
                    row["client_cpu_cores"] = round((client_now - client_cpu) / span, 2)
                rows[name].append(row)
                print(f"bench: load {name} {row}", file=sys.stderr, flush=True)
        peaks.update({name: _tree_rss_mib(pid) for name, (_, pid) in servers.items()})
    return rows


def _ratios(variants: Json, over: str, under: str) -> list[Json]:
    """Per level of clients: ``over``'s requests/s and p95 divided by ``under``'s."""
    if over not in variants or under not in variants:
        return []
    base = {row["clients"]: row for row in variants[under]["rows"]}
    out: list[Json] = []
    for row in variants[over]["rows"]:
        ref = base.get(row["clients"], {})
        if ref.get("requests_per_s") and ref.get("p95_ms") and row.get("p95_ms") is not None:
            out.append(
                {
                    "clients": row["clients"],
                    "requests_per_s": round(row["requests_per_s"] / ref["requests_per_s"], 3),
                    "p95_ms": round(row["p95_ms"] / ref["p95_ms"], 3),
                }
            )
    return out


def _result(
    config: BenchConfig,
    phases: dict[str, Json],
    variants: Json,
    skipped: dict[str, str],
    serve_env: dict[str, str],
    users: int,
    requests: int,
    envs: dict[str, dict[str, str]],
) -> Json:
    default = {row["clients"]: row for row in variants["default"]["rows"]}
    lowest, highest = min(default), max(default)
    p95_at = 16 if 16 in default else highest
    invariants = {
        f"{name}_no_errors": all(row["errors"] == 0 for row in v["rows"])
        for name, v in variants.items()
    }
    return {
        "phases": phases,
        "variants": variants,
        "skipped_variants": skipped,
        "ratios": {
            "postgresql_three_workers_over_postgresql": _ratios(
                variants, "postgresql_three_workers", "postgresql"
            ),
            "postgresql_over_default": _ratios(variants, "postgresql", "default"),
        },
        "parameters": {
            "corpus": f"evaluation.synthetic demo: seed {config.seed}, {config.demo_cases} cases",
            "clients": list(config.load_clients),
            "warmup_s": config.load_warmup_s,
            "seconds": config.load_seconds,
            "users": users,
            "distinct_requests": requests,
            "client": "closed loop, asyncio + httpx in one process, one keep-alive connection "
            "per client, top_k 10; the clients share the server's cores",
            "server": "casesearch serve, rate limit 1000000/min, "
            f"OMP_NUM_THREADS={serve_env['OMP_NUM_THREADS']}",
            "variants": {
                k: " ".join(f"{a}={b}" for a, b in {**VARIANTS, **POSTGRESQL_VARIANTS}[k].items())
                or "default settings"
                for k in envs
            },
        },
        "targets": [
            target(
                f"p95_ms_at_{p95_at}_clients",
                default[p95_at].get("p95_ms", math.inf),
                LOAD_P95_MAX_MS,
            ),
            # Throughput at the highest concurrency at least that at the lowest: a ratio ≤ 1.
            target(
                f"req_s_at_{lowest}_over_req_s_at_{highest}",
                default[lowest]["requests_per_s"] / max(default[highest]["requests_per_s"], 1e-9),
                1.0,
            ),
        ],
        "invariants": invariants,
    }


def markdown_table(rows: Sequence[Json]) -> list[str]:
    """The rows as a markdown table: clients, req/s, p50, p95, p99, errors, load average."""
    lines = ["| clients | req/s | p50 ms | p95 ms | p99 ms | errors | server / client cores "
             "| load avg 1m (start, end) |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        load = ", ".join(str(x) for x in r["load_average_1m"])
        cores = f"{r.get('server_cpu_cores')} / {r.get('client_cpu_cores')}"
        lines.append(
            f"| {r['clients']} | {r['requests_per_s']} | {r.get('p50_ms')} | {r.get('p95_ms')} "
            f"| {r.get('p99_ms')} | {r['errors']} | {cores} | {load} |"
        )
    return lines
