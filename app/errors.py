"""The one table from domain errors to HTTP status codes, and the one JSON error shape."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.settings import ConfigurationError
from connectors.errors import ConnectorError, RecordError
from retrieval.errors import (
    AccessCheckError,
    IndexMismatchError,
    InvalidQueryError,
    RetrievalError,
)


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


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


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
        parts = []
        for err in exc.errors()[:5]:
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else err.get("msg", ""))
        return JSONResponse(error_body("invalid_request", "; ".join(parts)), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return JSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def _domain(_request: Request, exc: Exception) -> JSONResponse:
        for kind, status, code, expose in _TABLE:
            if isinstance(exc, kind):
                message = str(exc) if expose else "the request could not be completed"
                return JSONResponse(error_body(code, message), status_code=status)
        return JSONResponse(
            error_body("internal_error", "the request could not be completed"), status_code=500
        )
