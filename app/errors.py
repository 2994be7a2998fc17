"""The one table from domain errors to HTTP status codes, and the one JSON error shape.

Every exception a route raises is answered here, inside the application: none reaches
Starlette's ``ServerErrorMiddleware``, which would answer and then re-raise it to the server,
which logs a traceback and closes the keep-alive connection without ``Connection: close``
(the client's next request on it is reset; behind a pooling proxy it lands on another user).
Caller mistakes (4xx) log nothing; server faults (5xx) log one line, with the traceback only
for errors the table does not know (bugs).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.settings import ConfigurationError
from connectors.errors import ConnectorError, RecordError
from retrieval.errors import (
    AccessCheckError,
    IndexMismatchError,
    InvalidQueryError,
    RetrievalError,
)

logger = logging.getLogger(__name__)


class AppError(Exception):
    """Base of errors raised by the app layer itself."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}


class Unauthorized(AppError):
    status_code = 401
    code = "unauthorized"


class InvalidRequest(AppError):
    status_code = 422
    code = "invalid_request"


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"


class NotFound(AppError):
    status_code = 404
    code = "not_found"


class PayloadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"


class RateLimited(AppError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message, headers={"Retry-After": str(max(1, retry_after_s))})
        self.retry_after_s = max(1, retry_after_s)


class AuditUnavailable(AppError):
    """The audit event could not be written, so the request must not be answered."""

    status_code = 503
    code = "audit_unavailable"


class AuthUnavailable(AppError):
    """The identity provider's keys could not be fetched (not the caller's mistake)."""

    status_code = 503
    code = "auth_unavailable"


# (exception type, status, code, expose message?) — first match wins.
_TABLE: list[tuple[type[Exception], int, str, bool]] = [
    (ConfigurationError, 503, "not_configured", False),
    (InvalidQueryError, 400, "invalid_query", True),
    (RecordError, 422, "invalid_record", True),
    (AccessCheckError, 503, "access_check_failed", False),
    (IndexMismatchError, 503, "index_rebuild_required", True),
    (RetrievalError, 500, "retrieval_error", False),
    (ConnectorError, 400, "connector_error", True),
]


_HTTP_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    413: PayloadTooLarge.code,
    429: RateLimited.code,
}


class ErrorDetail(BaseModel):
    code: str = Field(description="stable, for programs: ``unauthorized``, ``invalid_request``, …")
    message: str = Field(description="for people: what was wrong (never the input itself)")


class ErrorOut(BaseModel):
    """Every error answer: ``{"error": {"code", "message"}}`` (documented in OpenAPI)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"error": {"code": "unauthorized", "message": "a bearer token is required"}},
                {"error": {"code": "invalid_request", "message": "query: Field required"}},
            ]
        }
    )

    error: ErrorDetail


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


def status_of(exc: Exception) -> tuple[int, str, bool]:
    """``(status, code, expose message?)`` for an exception the table knows, else 500."""
    for kind, status, code, expose in _TABLE:
        if isinstance(exc, kind):
            return status, code, expose
    return 500, "internal_error", False


def install_error_handlers(app: FastAPI) -> None:
    """Map every error to ``{"error": {"code", "message"}}``; never leak a stack trace."""

    @app.exception_handler(AppError)
    async def _app_error(_request: Request, exc: AppError) -> JSONResponse:
        headers = dict(exc.headers)
        if exc.status_code == 401:
            headers["WWW-Authenticate"] = "Bearer"
        return JSONResponse(
            error_body(exc.code, exc.message), status_code=exc.status_code, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            error_body("invalid_request", validation_message(exc.errors())), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return JSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def _domain(_request: Request, exc: Exception) -> JSONResponse:
        status, code, expose = status_of(exc)
        message = str(exc) if expose else "the request could not be completed"
        return JSONResponse(error_body(code, message), status_code=status)

    # Innermost of the middleware: it catches what the exception middleware did not handle.
    app.add_middleware(AnswerErrors)


def validation_message(errors: Sequence[Any]) -> str:
    """The first few pydantic errors as ``field: message; …`` (never the input itself)."""
    parts = []
    for err in list(errors)[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        msg = str(err.get("msg", "invalid"))
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts) or "the request is not valid"


class AnswerErrors:
    """Answers an exception that escaped the routes with the app's ``Exception`` handler.

    Starlette hands such exceptions to ``ServerErrorMiddleware``, which answers and then
    re-raises, and the server then logs a traceback and drops the connection. Here the answer
    is sent and the exception stops: the connection stays usable. 5xx answers are logged once
    (with the traceback only for errors the table does not know); 4xx are not logged.
    If the response had already started, nothing can be answered: the exception goes on.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:
                raise
            status, code, _ = status_of(exc)
            if status >= 500:
                known = code != "internal_error"
                logger.error(
                    "%s %s failed: %s (%s: %s)",
                    scope.get("method"),
                    scope.get("path"),
                    code,
                    type(exc).__name__,
                    exc if known else "see the traceback",
                    exc_info=None if known else exc,
                )
            request = Request(scope, receive)
            handler = request.app.exception_handlers.get(Exception)
            response: Response
            if handler is None:
                response = JSONResponse(
                    error_body(code, "the request could not be completed"), status_code=status
                )
            else:
                answer = handler(request, exc)
                response = await answer if isinstance(answer, Awaitable) else answer
            await response(scope, receive, send)
