"""When to try a call again, without I/O: both clients ask ``Retrying`` after every attempt.

An answer of 429 or 503 means the server did nothing (it refused before acting), so every call
is retried on them, after the answer's ``Retry-After`` or else an exponential backoff, at most
``retries`` times and never waiting longer than ``max_wait`` seconds at once (a longer
``Retry-After`` is raised at once as ``RateLimited`` / ``Unavailable``). A connection that
could not be made is retried the same way. A connection that failed after the request was
sent is retried only for idempotent calls: reads, ``delete`` and ``push`` (the server applies
a record it already holds as "unchanged"); a search is then not sent twice, since each search
the server serves writes an audit event.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import random
from dataclasses import dataclass
from typing import Any, TypedDict

import httpx

from casesearch_client import errors
from casesearch_client.calls import Call
from casesearch_client.models import PushResult

RETRY_STATUSES = frozenset({429, 503})
_BY_STATUS: dict[int, type[errors.ApiError]] = {
    400: errors.InvalidRequest,
    401: errors.Unauthorized,
    403: errors.Forbidden,
    404: errors.NotFound,
    413: errors.PayloadTooLarge,
    422: errors.InvalidRequest,
}

Outcome = httpx.Response | httpx.TransportError


class Options(TypedDict, total=False):
    """A client's keyword options (see ``Policy``)."""

    timeout: float
    retries: int
    backoff: float
    max_wait: float


@dataclass(frozen=True, slots=True)
class Policy:
    """``timeout`` seconds per request; at most ``retries`` retries of a call, each after the
    server's ``Retry-After`` or a random wait up to ``backoff * 2**attempt``, never waiting
    longer than ``max_wait`` seconds at once."""

    timeout: float = 30.0
    retries: int = 3
    backoff: float = 0.5
    max_wait: float = 30.0

    def backoff_for(self, attempt: int) -> float:
        """Exponential with full jitter: a random wait up to ``backoff * 2**attempt``."""
        return min(self.max_wait, random.uniform(0, self.backoff * 2**attempt))  # noqa: S311


class Retrying:
    """The attempts at one call. ``step(outcome)`` after each: the answer when it is the
    result, else the seconds to wait before the next attempt; raises the call's
    ``ApiError`` or ``TransportError`` when there is to be no other attempt."""

    def __init__(self, policy: Policy, call: Call[Any]) -> None:
        self.policy = policy
        self.call = call
        self.attempt = 0  # attempts retried so far

    def step(self, outcome: Outcome) -> httpx.Response | float:
        policy, call = self.policy, self.call
        if isinstance(outcome, httpx.TransportError):
            never_sent = isinstance(outcome, httpx.ConnectError | httpx.ConnectTimeout)
            if self.attempt >= policy.retries or not (never_sent or call.idempotent):
                raise errors.TransportError(f"{call.method} {call.path}: {outcome}") from outcome
            return self._again(policy.backoff_for(self.attempt))
        if outcome.status_code < 400:
            return outcome
        error = error_of(outcome)
        wait = getattr(error, "retry_after", None)
        if outcome.status_code in RETRY_STATUSES and self.attempt < policy.retries:
            delay = policy.backoff_for(self.attempt) if wait is None else wait
            if delay <= policy.max_wait:
                return self._again(delay)
        raise error

    def _again(self, delay: float) -> float:
        self.attempt += 1
        return float(delay)


def retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (given as seconds or as an HTTP date), or None."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def error_of(response: httpx.Response) -> errors.ApiError:
    """The exception for an error answer, with the server's code and message."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    detail = body.get("error") if isinstance(body, dict) else None
    if isinstance(detail, dict):
        code, message = str(detail.get("code", "http_error")), str(detail.get("message", ""))
    else:
        code, message = "http_error", response.text[:200]
    if status == 422 and isinstance(body, dict) and "results" in body:
        return errors.PushRejected(status, code, message, PushResult.model_validate(body))
    if status == 429:
        return errors.RateLimited(status, code, message, retry_after(response))
    if status == 503:
        return errors.Unavailable(status, code, message, retry_after(response))
    if status >= 500:
        return errors.ServerError(status, code, message)
    return _BY_STATUS.get(status, errors.ApiError)(status, code, message)
