"""Benchmark ``access`` (fail-safe issue, item 6): 10,000 random searches by random users over
HTTP against ``casesearch serve``, each judged by the answer key (``evaluation.answer_key``),
which computes from the records alone what each user may get back.

The records are written as JSONL, indexed by ``casesearch index`` and served by
``casesearch serve`` with the rate limit off; tokens come from ``casesearch token``. The result
is the number of searches, the problems found (none is the pass), how many searches exercised
the positive half of the key (a marker word some allowed record holds must find something),
and the latency of the searches, for the record.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

from evaluation.answer_key import USERS, AnswerKey, key_records, random_searches
from evaluation.bench.common import BenchConfig, Json, phase
from evaluation.bench.process import bearer_token, cli_env, cli_index, server
from evaluation.metrics import percentile

SEED = 20261207


def bench_access(config: BenchConfig, work: Path) -> Json:
    """Index the key's records, run ``config.access_searches`` searches, judge each answer."""
    import httpx

    work = work / "access"
    work.mkdir(parents=True)
    records = key_records(config.access_records)
    source = work / "key.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    env = cli_env(
        work / "data",
        CASESEARCH_JWT_SECRET=secrets.token_urlsafe(32),
        CASESEARCH_LIMITS__RATE_LIMIT_PER_MINUTE="0",
    )
    phases: dict[str, Json] = {}
    with phase(phases, "index"):
        cli_index(env, source)
    tokens = {user: bearer_token(env, user, held) for user, held in USERS.items()}
    key = AnswerKey(records)
    searches = random_searches(config.access_searches, SEED)
    latencies: list[float] = []
    with (
        phase(phases, "serve_and_search"),
        server(env, work / "server.log") as (url, _pid),
        httpx.Client(base_url=url, timeout=60) as client,
    ):
        started = time.perf_counter()
        for search in searches:
            sent = time.perf_counter()
            response = client.post(
                "/v1/search",
                json=search.body(),
                headers={"Authorization": f"Bearer {tokens[search.user]}"},
            )
            latencies.append((time.perf_counter() - sent) * 1000)
            key.check(
                search, response.status_code, response.json() if response.is_success else None
            )
        wall = time.perf_counter() - started
    passed = not key.problems and key.checked == len(searches)
    return {
        "invariants": {
            "every_answer_within_the_key": passed,
            # at least one search in twenty must have had a marker record to find
            "positive_half_exercised": key.checked_nonempty * 20 >= len(searches),
        },
        "targets": [],
        "phases": phases,
        "parameters": {
            "records": config.access_records,
            "searches": config.access_searches,
            "seed": SEED,
        },
        "records": len(records),
        "users": sorted(USERS),
        "searches": key.checked,
        "searches_with_an_allowed_marker_record": key.checked_nonempty,
        "problems": len(key.problems),
        "first_problems": key.problems[:20],
        "wall_s": round(wall, 1),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
    }
