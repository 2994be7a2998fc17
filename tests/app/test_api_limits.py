"""Limits: body size (413, declared or chunked), per-user rate limit (429 + Retry-After),
configured search caps; all in the one JSON error shape."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from app_helpers import bearer
from fastapi.testclient import TestClient
from pydantic import SecretStr
from starlette.types import Message, Receive, Scope, Send

from app.errors import RateLimited
from app.limits import BodySizeLimit, RateLimiter, RateLimitUnavailable
from app.settings import ConfigurationError, LimitSettings, Settings

MAX_BODY = 2_000
SECRET = "test-secret-of-at-least-thirty-two-bytes"
REDIS = "redis://127.0.0.1:6379"  # the machine's Redis (CI runs on the same machine)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        jwt_secret=SecretStr(SECRET),
        progress=False,
        limits=LimitSettings(
            max_body_bytes=MAX_BODY, rate_limit_per_minute=5, max_query_chars=40, max_top_k=20
        ),
    )


def test_a_declared_body_over_the_limit_is_refused_with_413(
    client: TestClient, settings: Settings
) -> None:
    body = json.dumps({"records": [{"id": "X", "text": "x" * MAX_BODY, "acl": ["team:a"]}]})
    response = client.post(
        "/v1/records",
        content=body,
        headers={**bearer(settings, "cms", "role:ingest"), "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert set(response.json()["error"]) == {"code", "message"}


def _call(app: Any, chunks: list[bytes], headers: list[tuple[bytes, bytes]]) -> tuple[int, bytes]:
    """Drive an ASGI app with a body sent in ``chunks`` (as a chunked upload arrives)."""
    sent: list[Message] = []
    pending = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
        for i, c in enumerate(chunks)
    ]

    async def receive() -> Message:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers}
    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


async def _echo(scope: Scope, receive: Receive, send: Send) -> None:
    """An app that answers with the body it read."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def test_a_chunked_body_is_counted_as_it_arrives() -> None:
    limited = BodySizeLimit(_echo, max_bytes=10)
    status, body = _call(limited, [b"abcd", b"efgh", b"ij"], [])
    assert (status, body) == (200, b"abcdefghij")
    status, body = _call(limited, [b"abcd", b"efgh", b"ijk", b"never read"], [])
    assert status == 413
    assert json.loads(body)["error"]["code"] == "payload_too_large"
    declared = [(b"content-length", b"11")]
    assert _call(limited, [b"short"], declared)[0] == 413


def test_each_user_has_their_own_rate_limit(client: TestClient, settings: Settings) -> None:
    alice = bearer(settings, "alice", "team:north")
    answers = [client.get("/v1/documents/OPEN-1", headers=alice).status_code for _ in range(6)]
    assert answers == [200] * 5 + [429]
    limited = client.get("/v1/documents/OPEN-1", headers=alice)
    assert limited.json()["error"]["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) >= 1
    assert (
        client.get(
            "/v1/documents/OPEN-1", headers=bearer(settings, "bob", "team:north")
        ).status_code
        == 200
    )


def test_the_moving_window_frees_requests_as_it_moves() -> None:
    limiter = RateLimiter(3, window_s=1)  # 3 requests in any second
    for _ in range(3):
        limiter.check("u")
    with pytest.raises(RateLimited) as caught:
        limiter.check("u")
    assert caught.value.retry_after_s == 1
    limiter.check("someone-else")
    time.sleep(1.1)
    limiter.check("u")
    RateLimiter(0).check("u")  # 0 turns the limit off


@pytest.mark.integration
def test_processes_share_one_limit_through_redis() -> None:
    """Two limiters on one Redis (two API processes) count one allowance per user."""
    user = f"u-{uuid.uuid4()}"
    first, second = (RateLimiter(4, storage=REDIS) for _ in range(2))
    for limiter in (first, second, first, second):
        limiter.check(user)
    for limiter in (first, second):
        with pytest.raises(RateLimited):
            limiter.check(user)


def test_an_unreachable_shared_store_refuses_rather_than_lets_through() -> None:
    limiter = RateLimiter(4, storage="redis://127.0.0.1:9")  # nothing listens on port 9
    with pytest.raises(RateLimitUnavailable) as caught:
        limiter.check("u")
    assert caught.value.status_code == 503


def test_several_workers_need_a_shared_rate_limit_store(tmp_path: Path) -> None:
    def made(limits: LimitSettings) -> Settings:
        return Settings(data_dir=tmp_path, jwt_secret=SecretStr(SECRET), workers=2, limits=limits)

    with pytest.raises(ConfigurationError, match="RATE_LIMIT_STORAGE"):
        made(LimitSettings()).check_can_serve()
    made(LimitSettings(rate_limit_storage=REDIS)).check_can_serve()
    made(LimitSettings(rate_limit_per_minute=0)).check_can_serve()


def test_configured_search_caps_answer_422(client: TestClient, settings: Settings) -> None:
    headers = bearer(settings, "alice", "team:north")
    for body in ({"query": "x" * 41}, {"query": "plan", "top_k": 21}):
        response = client.post("/v1/search", json=body, headers=headers)
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "invalid_request"
