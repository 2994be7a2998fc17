"""Benchmark 2, search latency (issue 4): ``POST /v1/search`` on a ``casesearch serve``
subprocess against the in-process searcher, query by query."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import secrets
import time
from collections.abc import Sequence
from pathlib import Path

from evaluation.bench.common import BenchConfig, Json, phase, rss_mib, target
from evaluation.bench.process import bearer_token, cli_env, cli_index, cli_store_path, server
from evaluation.metrics import percentile
from evaluation.synthetic import generate_case_file
from retrieval.embedding import SentenceTransformerEmbedder
from retrieval.models import AccessScope, SearchFilters, SearchRequest
from retrieval.search import HybridSearcher
from retrieval.store import RecordStore

HTTP_P95_MAX_MS = 100.0
PATTERNS_P95_MAX_MS = 500.0  # the pattern view's target (concepts and patterns issue)


def _time_patterns(
    client: object,
    plan: Sequence[tuple[str, str | None, Json]],
    tokens: dict[str, str],
    rounds: int,
) -> Json:
    """``POST /v1/patterns`` for every indicator category, then as free text, ``rounds`` times,
    as a QA officer of the plan (a question across every case)."""
    import httpx

    from retrieval.indicators import load_library

    assert isinstance(client, httpx.Client)
    # a QA officer (sees every case) when the plan has one, else the user who sees the most
    user = max(
        (u for _, _, u in plan),
        key=lambda u: ("role:qa" in u["principals"], len(u["principals"])),
    )
    headers = {"Authorization": f"Bearer {tokens[user['sub']]}"}
    bodies: list[Json] = []
    for category in load_library().categories:
        bodies += [{"category": category.id}, {"query": f"which cases show {category.label}?"}]
    client.post("/v1/patterns", json=bodies[0], headers=headers)  # warm
    seconds: list[float] = []
    statuses: dict[str, int] = {}
    for _ in range(rounds):
        for body in bodies:
            started = time.perf_counter()
            response = client.post("/v1/patterns", json=body, headers=headers)
            seconds.append(time.perf_counter() - started)
            key = str(response.status_code)
            statuses[key] = statuses.get(key, 0) + 1
    return {**_latency_ms(seconds), "statuses": dict(sorted(statuses.items())), "user": user["sub"]}


def _time_feedback(searcher: HybridSearcher, plan: Sequence[tuple[str, str | None, Json]]) -> Json:
    """The plan's concept queries in process with pseudo-relevance feedback on (the
    default) and off, back to back per query, alternating which goes first, after one
    unmeasured pass of each: what feedback costs (``SearchConfig.concept_feedback_*``)."""
    off = HybridSearcher(
        searcher.store,
        searcher.embedder,
        dataclasses.replace(searcher.config, concept_feedback_weight=0.0),
    )
    off.warm()
    seconds: dict[str, list[float]] = {"on": [], "off": []}
    as_expected = True
    concept = 0
    for i, (text, case_id, user) in enumerate(plan):
        scope = AccessScope.of(*user["principals"], f"user:{user['sub']}")
        request = SearchRequest(text, scope, SearchFilters(case_id=case_id), top_k=10)
        first = searcher.search(request)
        if first.understanding.get("kind") != "concept":
            as_expected = as_expected and first.understanding.get("feedback", 0) == 0
            continue
        concept += 1
        as_expected = as_expected and first.understanding.get("feedback", 0) > 0
        as_expected = as_expected and off.search(request).understanding.get("feedback") == 0
        for which in ("on", "off") if i % 2 == 0 else ("off", "on"):
            started = time.perf_counter()
            (searcher if which == "on" else off).search(request)
            seconds[which].append(time.perf_counter() - started)
    on_ms, off_ms = _latency_ms(seconds["on"]), _latency_ms(seconds["off"])
    return {
        "concept_queries": concept,
        "on": on_ms,
        "off": off_ms,
        "ratio_on_over_off": {
            k: round(on_ms[k] / off_ms[k], 3) for k in ("p50_ms", "p95_ms") if off_ms.get(k)
        },
        "feedback_as_expected": as_expected,
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
    env = cli_env(
        root / "data",
        CASESEARCH_JWT_SECRET=secret,
        CASESEARCH_LIMITS__RATE_LIMIT_PER_MINUTE="100000",
    )
    with phase(phases, "generate_and_index"):
        generated = generate_case_file(
            root / "demo", seed=config.seed, n_cases=config.demo_cases, today=dt.date.today()
        )
        index_wall, index_run = cli_index(env, generated.records_path)
    plan = _plan(generated.root, config.warmup + config.requests)
    tokens: dict[str, str] = {}
    for _, _, user in plan:
        if user["sub"] not in tokens:
            tokens[user["sub"]] = bearer_token(env, user["sub"], user["principals"])
    import torch

    threads = config.search_threads or torch.get_num_threads()
    default_threads = torch.get_num_threads()
    serve_env = {**env, "OMP_NUM_THREADS": str(threads)}
    store = RecordStore(cli_store_path(env))
    searcher = HybridSearcher(store, SentenceTransformerEmbedder())  # the server's defaults
    # One row per measured query: scope ("case" or "cross_case") and seconds per side.
    rows: list[tuple[str, dict[str, float]]] = []
    statuses: dict[str, int] = {}
    stopped_by_budget = False
    try:
        torch.set_num_threads(threads)
        searcher.warm()
        with (
            phase(phases, "serve_and_measure"),
            server(serve_env, root / "server.log") as (url, pid),
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
            patterns = _time_patterns(client, plan, tokens, config.patterns_rounds)
            server_peak = rss_mib("VmHWM", pid)
        with phase(phases, "feedback_side_by_side"):
            feedback = _time_feedback(searcher, plan[config.warmup :])
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
    invariants = {
        "every_request_answered_200": statuses.keys() == {"200"},
        "feedback_moves_every_concept_query_and_no_other": feedback["feedback_as_expected"],
    }
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
        "patterns_http": patterns,
        "feedback_side_by_side": feedback,
        "targets": [
            target("http_p95_ms", http.get("p95_ms", math.inf), HTTP_P95_MAX_MS),
            target("patterns_http_p95_ms", patterns.get("p95_ms", math.inf), PATTERNS_P95_MAX_MS),
        ],
        "invariants": invariants,
    }
