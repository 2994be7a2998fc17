"""Errors: one base, ``CaseSearchError``; an answer's error carries the server's ``code``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from casesearch_client.models import PushResult


class CaseSearchError(Exception):
    """Base of every error this client raises."""


class TransportError(CaseSearchError):
    """The server could not be reached, or the connection failed before an answer came."""


class ApiError(CaseSearchError):
    """The server answered with an error: ``{"error": {"code", "message"}}``.

    ``code`` is the server's stable code (``unauthorized``, ``invalid_request``, …),
    ``message`` its words for people, ``status`` the HTTP status.
    """

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class Unauthorized(ApiError):
    """401: the token is missing, expired or not valid."""


class Forbidden(ApiError):
    """403: the token lacks the principal this operation needs."""


class NotFound(ApiError):
    """404: missing, or not available to the caller (the server does not say which)."""


class InvalidRequest(ApiError):
    """400 or 422: the request broke a rule; ``message`` names it."""


class PayloadTooLarge(ApiError):
    """413: send less (smaller batches of records)."""


class RateLimited(ApiError):
    """429: too many requests; ``retry_after`` seconds until the next may succeed."""

    def __init__(self, status: int, code: str, message: str, retry_after: float | None) -> None:
        super().__init__(status, code, message)
        self.retry_after = retry_after


class Unavailable(ApiError):
    """503: the server cannot answer safely now (audit log, permission check); try later."""

    def __init__(self, status: int, code: str, message: str, retry_after: float | None) -> None:
        super().__init__(status, code, message)
        self.retry_after = retry_after


class ServerError(ApiError):
    """Another 5xx."""


class PushRejected(InvalidRequest):
    """422 on a push: no record was applied; ``result.results`` says why for each."""

    def __init__(self, status: int, code: str, message: str, result: PushResult) -> None:
        super().__init__(status, code, message)
        self.result = result
