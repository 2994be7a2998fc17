"""Several API processes on one store (``CASESEARCH_WORKERS``), embedded or PostgreSQL: a
record pushed through one is found through the others on the next request, a revocation
through one holds in all, one rate limit per user across them (through Redis), and the audit
chain stays whole while they append to it at once."""

from __future__ import annotations

import json
import os
import secrets
import signal
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
from pg_schema import postgresql_schema

from evaluation.bench.process import cli, cli_env, server

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.conformance]

WORKERS = 2
REQUESTS = 40  # on fresh connections: the kernel spreads them over the workers


def _token(env: dict[str, str], sub: str, *principals: str) -> str:
    args = [a for p in principals for a in ("--principal", p)]
    return cli(["token", "--sub", sub, *args], env).strip()


@pytest.fixture(scope="module")
def served(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, str], int]]:
    with ExitStack() as stack:
        store = (
            {"CASESEARCH_DATABASE_URL": stack.enter_context(postgresql_schema())}
            if backend == "postgresql"
            else {}
        )
        yield stack.enter_context(_serve(tmp_path_factory.mktemp("workers"), store))


@contextmanager
def _serve(work: Path, store: dict[str, str]) -> Iterator[tuple[str, dict[str, str], int]]:
    env = cli_env(
        work / "data",
        CASESEARCH_JWT_SECRET=secrets.token_urlsafe(32),
        CASESEARCH_WORKERS=str(WORKERS),
        CASESEARCH_LIMITS__RATE_LIMIT_STORAGE="redis://127.0.0.1:6379",
        CASESEARCH_LIMITS__RATE_LIMIT_PER_MINUTE="1000",
        **store,
    )
    source = work / "records.jsonl"
    source.write_text(
        json.dumps(
            {"id": "W-0", "case_id": "CASE-1", "text": "A first visit note.", "acl": ["team:a"]}
        )
        + "\n",
        encoding="utf-8",
    )
    cli(["index", "--source", f"jsonl:{source}"], env)
    with server(env, work / "server.log") as (url, pid):
        yield url, env, pid


def _fresh(url: str, method: str, path: str, token: str, **kw: object) -> httpx.Response:
    """One request on a new connection (so successive ones may reach different workers)."""
    with httpx.Client(base_url=url, timeout=60) as client:
        return client.request(method, path, headers={"Authorization": f"Bearer {token}"}, **kw)  # type: ignore[arg-type]


def test_a_push_through_one_process_is_found_through_every_other(
    served: tuple[str, dict[str, str], int],
) -> None:
    url, env, _ = served
    ingest, reader = _token(env, "cms", "role:ingest"), _token(env, "amy", "team:a")
    word = f"kingfisher{uuid.uuid4().hex[:8]}"
    record = {"id": "W-1", "case_id": "CASE-1", "text": f"The {word} visit.", "acl": ["team:a"]}
    assert _fresh(url, "POST", "/v1/records", ingest, json={"records": [record]}).is_success
    found = [
        _fresh(url, "POST", "/v1/search", reader, json={"query": word}).json()["results"]
        for _ in range(REQUESTS // 4)
    ]
    assert all([r["document_id"] for r in results][:1] == ["W-1"] for results in found)

    revoked = {**record, "acl": ["team:b"]}
    assert _fresh(url, "POST", "/v1/records", ingest, json={"records": [revoked]}).is_success
    for _ in range(REQUESTS // 4):
        assert _fresh(url, "GET", "/v1/documents/W-1", reader).status_code == 404
        assert (
            _fresh(url, "POST", "/v1/search", reader, json={"query": word}).json()["results"] == []
        )


def test_the_audit_chain_holds_while_processes_append_at_once(
    served: tuple[str, dict[str, str], int],
) -> None:
    url, env, _ = served
    reader = _token(env, "amy", "team:a")

    def search(i: int) -> int:
        body = {"query": f"visit note {i}"}
        return _fresh(url, "POST", "/v1/search", reader, json=body).status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(search, range(REQUESTS))) == {200}
    assert "intact" in cli(["audit", "verify"], env)


def test_one_rate_limit_per_user_across_processes(tmp_path: Path) -> None:
    """Six requests a minute for one user, however the requests fall on the processes."""
    env = cli_env(
        tmp_path / "data",
        CASESEARCH_JWT_SECRET=secrets.token_urlsafe(32),
        CASESEARCH_WORKERS=str(WORKERS),
        CASESEARCH_LIMITS__RATE_LIMIT_STORAGE="redis://127.0.0.1:6379",
        CASESEARCH_LIMITS__RATE_LIMIT_PER_MINUTE="6",
    )
    user = f"user-{uuid.uuid4().hex}"  # a fresh key in the shared Redis
    token = _token(env, user, "team:a")
    with server(env, tmp_path / "server.log") as (url, _pid):
        codes = [_fresh(url, "GET", "/v1/documents/NONE", token).status_code for _ in range(10)]
    assert codes[:6] == [404] * 6
    assert codes[6:] == [429] * 4


def _workers(pid: int) -> list[int]:
    """The API processes the ``casesearch serve`` supervisor ``pid`` runs."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text(encoding="ascii").split()
    return [int(c) for c in children]


def test_killing_an_api_process_mid_push_loses_no_acknowledged_record(
    served: tuple[str, dict[str, str], int],
) -> None:
    """SIGKILL one API process while records are pushed through all of them: every push
    (retried on a lost connection, as the client library does) is stored exactly once, the
    service keeps answering, and the audit chain stays whole (the killed process's open
    transaction is rolled back by the database)."""
    url, env, pid = served
    ingest, reader = _token(env, "cms", "role:ingest"), _token(env, "amy", "team:a")
    word = f"heron{uuid.uuid4().hex[:8]}"
    ids = [f"K-{word}-{i}" for i in range(40)]

    def push(record_id: str) -> int:
        record = {
            "id": record_id,
            "case_id": "CASE-2",
            "text": f"The {word} note.",
            "acl": ["team:a"],
        }
        for _ in range(20):
            try:
                response = _fresh(url, "POST", "/v1/records", ingest, json={"records": [record]})
            except httpx.TransportError:
                continue  # the connection died with the process: send it again
            if response.status_code < 500:
                return response.status_code
        return 0

    victim = _workers(pid)[0]
    with ThreadPoolExecutor(6) as pool:
        pushed = [pool.submit(push, record_id) for record_id in ids]
        while sum(f.done() for f in pushed) < len(ids) // 4:
            time.sleep(0.05)
        os.kill(victim, signal.SIGKILL)
        codes = [f.result() for f in pushed]
    assert all(200 <= code < 300 for code in codes), codes
    for record_id in ids:
        assert _fresh(url, "GET", f"/v1/documents/{record_id}", reader).status_code == 200
    found = _fresh(url, "POST", "/v1/search", reader, json={"query": word, "top_k": 50}).json()
    assert sorted(r["document_id"] for r in found["results"]) == sorted(ids)
    assert "intact" in cli(["audit", "verify"], env)
