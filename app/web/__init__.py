"""Server-rendered pages for practitioners (GOV.UK Design System styles, no JavaScript needed).

``install_web(app)`` adds the pages, the static assets under ``/static`` and the handlers that
answer page requests' errors with pages. Call it after the API's error handlers are installed:
it wraps them, so API requests keep their JSON errors.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import AppError
from app.web.audit_log import router as audit_router
from app.web.chronology import router as chronology_router
from app.web.dashboard import router as dashboard_router
from app.web.failures import pages_or, sign_in_redirect
from app.web.patterns import router as patterns_router
from app.web.recording import router as recording_router
from app.web.render import STATIC_DIR
from app.web.routes import router
from app.web.session import SignInRequired

__all__ = ["install_web"]


def install_web(app: FastAPI) -> None:
    # before the case page, whose /cases/{case_id:path} would take /cases/X/chronology
    app.include_router(chronology_router)
    app.include_router(router)
    app.include_router(recording_router)
    app.include_router(patterns_router)
    app.include_router(audit_router)
    app.include_router(dashboard_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_exception_handler(SignInRequired, sign_in_redirect)
    for kind in (StarletteHTTPException, AppError, Exception):
        app.add_exception_handler(kind, pages_or(app.exception_handlers.get(kind)))
