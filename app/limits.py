"""Request limits: body size (413), a per-user rate limit (429) and search parameter caps.

The body limit is ASGI middleware: it refuses a declared ``Content-Length`` above the limit
before reading anything, and counts the bytes of bodies without one (chunked uploads) as they
arrive, answering 413 as soon as the count passes the limit. The rate limit is a token bucket
per token subject, checked right after authentication (so it keys on a verified subject, and an
unauthenticated flood costs one signature check per request and never touches the store).
Both answer in the one JSON error shape of ``app.errors``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import InvalidRequest, PayloadTooLarge, RateLimited, error_body
from app.settings import LimitSettings, Settings


def install_limits(app: FastAPI, settings: Settings) -> None:
    """Add the body-size middleware and the rate limiter (``app.state.rate_limiter``)."""
    app.state.rate_limiter = RateLimiter(settings.limits.rate_limit_per_minute)
    app.add_middleware(BodySizeLimit, max_bytes=settings.limits.max_body_bytes)


def check_rate_limit(request: Request, subject: str) -> None:
    """Take one request from ``subject``'s allowance (raises ``RateLimited``). Every door that
    authenticates a user (bearer token, web session) calls this with the verified subject."""
    limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
    if limiter is not None:
        limiter.check(subject)


class BodySizeLimit:
    """Refuses HTTP request bodies longer than ``max_bytes`` with 413.

    The body is read in full before the application runs (FastAPI reads it in full anyway)
    and replayed to it as one message, so nothing downstream ever sees more than the limit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before sending its whole body
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse(
            error_body(
                PayloadTooLarge.code,
                f"the request body is larger than {self.max_bytes} bytes",
            ),
            status_code=PayloadTooLarge.status_code,
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """A token bucket per key: ``per_minute`` requests of burst, refilled at ``per_minute``/60
    per second. ``per_minute <= 0`` turns the limit off. Thread-safe; memory is bounded by
    forgetting buckets that have refilled completely (they behave exactly like new ones)."""

    def __init__(
        self,
        per_minute: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> None:
        """Take one token for ``key``; raises ``RateLimited`` (with Retry-After) when empty."""
        if self.capacity <= 0:
            return
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= self.max_keys:
                    self._forget_full(now)
                bucket = self._buckets[key] = _Bucket(self.capacity, now)
            else:
                elapsed = max(0.0, now - bucket.updated)
                bucket.tokens = min(self.capacity, bucket.tokens + elapsed * self.rate)
                bucket.updated = now
            if bucket.tokens < 1.0:
                wait = math.ceil((1.0 - bucket.tokens) / self.rate)
                raise RateLimited(
                    f"too many requests: at most {int(self.capacity)} per minute",
                    retry_after_s=wait,
                )
            bucket.tokens -= 1.0

    def _forget_full(self, now: float) -> None:
        full = [
            key
            for key, b in self._buckets.items()
            if b.tokens + (now - b.updated) * self.rate >= self.capacity
        ]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) >= self.max_keys:
            # Everyone is active: drop the longest-idle half rather than grow without bound.
            by_age = sorted(self._buckets, key=lambda k: self._buckets[k].updated)
            for key in by_age[: len(by_age) // 2]:
                del self._buckets[key]


def check_search_limits(limits: LimitSettings, *, query: str, top_k: int, offset: int) -> None:
    """The configured caps (the HTTP schema enforces the contract's maxima; a deployment may
    set lower ones). Raises ``InvalidRequest`` naming the exceeded cap."""
    if len(query) > limits.max_query_chars:
        raise InvalidRequest(f"query: at most {limits.max_query_chars} characters")
    if top_k > limits.max_top_k:
        raise InvalidRequest(f"top_k: at most {limits.max_top_k}")
    if offset > limits.max_offset:
        raise InvalidRequest(f"offset: at most {limits.max_offset}")
