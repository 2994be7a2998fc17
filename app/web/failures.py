"""Errors met while serving a page, answered as pages (the API keeps its JSON errors).

A page request is one routed to ``app.web.routes`` (it sets ``request.state.web_page``), or an
unmatched path outside the API that a browser asked for as HTML. Messages are fixed texts:
nothing from the exception reaches the page, so no error can say more about a record than
"not found".
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import AppError, NotFound, RateLimited, error_body
from app.web.render import PAGE_HEADERS, render
from app.web.routes import base_context, wants_partial
from app.web.session import SignInRequired, clear_session_cookie, current_session, request_token
from retrieval.errors import AccessCheckError, IndexMismatchError, InvalidQueryError

logger = logging.getLogger(__name__)

Handler = Callable[[Request, Exception], Response | Awaitable[Response]]

_API_PATHS = ("/v1/", "/healthz", "/readyz", "/openapi.json", "/docs", "/redoc", "/static/")

_SERVICE_PROBLEM = (
    "Sorry, there is a problem with the service",
    [
        "Nothing was shown, because the request could not be completed and recorded safely.",
        "Try again in a few minutes.",
    ],
)
_PROBLEMS: dict[int, tuple[str, list[str]]] = {
    400: ("There is a problem with your request", ["Go back and check what you entered."]),
    403: ("You cannot do that", ["Go back to the page you were on and try again."]),
    405: ("This page cannot be used like that", ["Go back to the page you were on."]),
    413: ("That request was too large", ["Go back and try a shorter search."]),
    422: ("There is a problem with your request", ["Go back and check what you entered."]),
    429: (
        "You have made too many requests",
        ["To keep the service working for everyone, wait a minute, then try again."],
    ),
}


def is_page_request(request: Request) -> bool:
    if getattr(request.state, "web_page", False):
        return True
    path = request.url.path
    if path.startswith(_API_PATHS):
        return False
    return "text/html" in request.headers.get("accept", "")


def sign_in_redirect(request: Request, exc: Exception) -> Response:
    """Answer ``SignInRequired``: to the sign-in page, remembering where the user was going.

    A partial request (the page's script, see ``routes.wants_partial``) gets a bare 401
    instead: the script then loads the full page, which redirects as above. The cookie is left
    alone here so that redirect can still say the sign-in has ended.
    """
    if not isinstance(exc, SignInRequired):
        raise exc
    if wants_partial(request):
        return Response(status_code=401, headers=PAGE_HEADERS)
    url = "/sign-in?next=" + quote(exc.next_path, safe="")
    if exc.ended:
        url += "&ended=1"
    response = RedirectResponse(url, status_code=303)
    response.headers.update(PAGE_HEADERS)
    _, from_cookie = request_token(request)
    if exc.ended and from_cookie:
        clear_session_cookie(response, request)
    return response


def _status(exc: Exception) -> int:
    if isinstance(exc, StarletteHTTPException | AppError):
        return exc.status_code
    if isinstance(exc, InvalidQueryError):
        return 400
    # The permission check or the index could not answer: the service is unavailable, and
    # (failing closed) nothing was shown.
    return 503 if isinstance(exc, AccessCheckError | IndexMismatchError) else 500


def error_page(request: Request, exc: Exception) -> Response:
    """The page for ``exc``: the shared 404 page, or a fixed message for its status."""
    services = request.app.state.services
    try:
        session = current_session(request, services.settings)
    except Exception:  # the identity provider may be what failed
        session = None
    context = base_context(services, session)
    status = _status(exc)
    if status == 404 or isinstance(exc, NotFound):
        return render(request, "not_found.html", context, status_code=404)
    heading, lines = _PROBLEMS.get(status, _SERVICE_PROBLEM)
    if status >= 500:
        logger.error("page failed: %s %s", request.method, request.url.path, exc_info=exc)
    response = render(
        request, "problem.html", {**context, "heading": heading, "lines": lines}, status_code=status
    )
    if isinstance(exc, RateLimited):
        response.headers["Retry-After"] = str(exc.retry_after_s)
    return response


def pages_or(previous: Handler | None) -> Callable[[Request, Exception], Awaitable[Response]]:
    """An exception handler answering page requests with a page, and others as ``previous``."""

    async def handle(request: Request, exc: Exception) -> Response:
        if is_page_request(request):
            return error_page(request, exc)
        if previous is None:
            status = _status(exc)
            return JSONResponse(error_body("error", "the request failed"), status_code=status)
        answer = previous(request, exc)
        return await answer if isinstance(answer, Awaitable) else answer

    return handle
