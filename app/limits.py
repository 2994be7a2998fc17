"""Request limits: body size (413), a per-user rate limit (429) and search parameter caps.

The body limit is ASGI middleware: it refuses a declared ``Content-Length`` above the limit
before reading anything, and counts the bytes of bodies without one (chunked uploads) as they
arrive, answering 413 as soon as the count passes the limit. The rate limit is a moving window
per token subject (the ``limits`` library; shared by every API process through Redis when
``limits.rate_limit_storage`` names one), checked right after authentication (so it keys on a
verified subject, and an unauthenticated flood costs one signature check per request and
never touches the store). Both answer in the one JSON error shape of ``app.errors``.
"""

from __future__ import annotations

import math
import time

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from limits import RateLimitItemPerSecond
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import AppError, InvalidRequest, PayloadTooLarge, RateLimited, error_body
from app.settings import LimitSettings, Settings

_NAMESPACE = "casesearch-requests"


class RateLimitUnavailable(AppError):
    """The shared rate-limit store did not answer: refuse rather than serve uncounted."""

    status_code = 503
    code = "rate_limit_unavailable"


def install_limits(app: FastAPI, settings: Settings) -> None:
    """Add the body-size middleware and the rate limiter (``app.state.rate_limiter``)."""
    limits = settings.limits
    app.state.rate_limiter = RateLimiter(
        limits.rate_limit_per_minute, storage=limits.rate_limit_storage
    )
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


class RateLimiter:
    """``per_minute`` requests per user in any moving window of ``window_s`` seconds (60 by
    default), through the ``limits`` library; ``per_minute <= 0`` turns the limit off.

    ``storage`` is a ``limits`` storage URI: ``memory://`` (the default) counts inside this
    process; ``redis://host:port`` shares the counts between every API process on one Redis,
    so several ``casesearch serve`` workers or replicas enforce one limit per user. If the
    shared storage cannot be reached, the request is refused with 503 rather than let through
    uncounted.
    """

    def __init__(self, per_minute: int, *, storage: str = "memory://", window_s: int = 60):
        self.per_minute = per_minute
        self._item = RateLimitItemPerSecond(max(per_minute, 1), window_s)
        self._limiter: MovingWindowRateLimiter | None = None
        if per_minute > 0:
            self._limiter = MovingWindowRateLimiter(
                storage_from_string(storage, wrap_exceptions=True)
            )

    def check(self, key: str) -> None:
        """Count one request for ``key``; raises ``RateLimited`` (with Retry-After) over the
        limit, ``AuthUnavailable`` when the shared storage does not answer."""
        if self._limiter is None:
            return
        try:
            if self._limiter.hit(self._item, _NAMESPACE, key):
                return
            stats = self._limiter.get_window_stats(self._item, _NAMESPACE, key)
        except (StorageError, ConnectionError, OSError) as exc:
            reason = f"the rate limit store did not answer ({type(exc).__name__})"
            raise RateLimitUnavailable(reason) from None
        wait = max(1, math.ceil(stats.reset_time - time.time()))
        raise RateLimited(
            f"too many requests: at most {self.per_minute} per minute", retry_after_s=wait
        )


def check_search_limits(limits: LimitSettings, *, query: str, top_k: int, offset: int) -> None:
    """The configured caps (the HTTP schema enforces the contract's maxima; a deployment may
    set lower ones). Raises ``InvalidRequest`` naming the exceeded cap."""
    if len(query) > limits.max_query_chars:
        raise InvalidRequest(f"query: at most {limits.max_query_chars} characters")
    if top_k > limits.max_top_k:
        raise InvalidRequest(f"top_k: at most {limits.max_top_k}")
    if offset > limits.max_offset:
        raise InvalidRequest(f"offset: at most {limits.max_offset}")
