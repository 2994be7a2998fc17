"""The app factory: ``create_app(settings)``; its lifespan owns the store and the model."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app.api.changes import router as changes_router
from app.api.chronology import router as chronology_router
from app.api.deps import add_body_schemas
from app.api.docs import install_docs
from app.api.headers import FrameAncestors, NoStore
from app.api.routes import router
from app.api.vocabulary import document_vocabulary
from app.errors import install_error_handlers
from app.limits import install_limits
from app.services import Services, build_services
from app.settings import Settings, get_settings
from app.web import install_web
from app.web.oidc import router as oidc_router
from retrieval.changes import ChangeLog

logger = logging.getLogger(__name__)

# Files the server creates (the store, its -wal and -shm, caches) are for its own user only.
PRIVATE_UMASK = 0o077


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> FastAPI:
    """Build the application. ``services`` may be given (tests share one model instance)."""
    config = settings or (services.settings if services else get_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Refuse to serve with no secret or the one printed in the source (outside development
        # mode): anyone could mint tokens for any principals.
        config.check_can_serve()
        previous_umask = os.umask(PRIVATE_UMASK)
        owned = services is None
        app.state.services = services or build_services(config, serving=True)
        ChangeLog(app.state.services.store.engine).install()
        make_private(config.data_dir)
        app.state.services.searcher.warm()
        try:
            yield
        finally:
            if owned:
                app.state.services.close()
            os.umask(previous_umask)

    app = FastAPI(
        title="Case-record search",
        version="0.1.0",
        description=(
            "Search a child's case records with verbatim, cited snippets, scoped to the "
            "caller's access rights. Every answer quotes the record; nothing is generated."
        ),
        lifespan=lifespan,
        # served by ``install_docs`` from this server's own copies, not from a CDN
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    install_limits(app, config)
    app.add_middleware(NoStore)
    app.include_router(router)
    app.include_router(chronology_router)
    app.include_router(changes_router)
    app.include_router(oidc_router)  # OpenID Connect sign-in (app/web/oidc.py)
    install_web(app)
    install_docs(app)
    if config.frame_ancestors:
        app.add_middleware(FrameAncestors, origins=config.frame_ancestors)
    if config.cors_origins:
        # Outermost: a preflight is answered before authentication, which it cannot pass.
        # Bearer tokens, not cookies: no credentials mode.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=config.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
            expose_headers=["Retry-After"],
            max_age=600,
        )

    generate = app.openapi

    def openapi() -> dict[str, Any]:
        # Bodies read after authentication (``app.api.deps.json_body``) are not FastAPI body
        # parameters: their schemas are added to the generated document once.
        if app.openapi_schema is None:
            app.openapi_schema = document_vocabulary(add_body_schemas(generate()), config)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options for serving ``create_app(settings)`` (``casesearch serve``)."""
    return {
        # One worker on purpose: one process owns the embedded store (DESIGN.md).
        "workers": 1,
        "timeout_keep_alive": settings.keep_alive_s,
        # h11, not httptools: h11 enforces a limit on the request line and headers together
        # (with httptools a client made the server buffer a 300 MB header); over it, 400 and
        # the connection is closed.
        "http": "h11",
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        # Requests still running at shutdown (a push being indexed) get this long, then the
        # server stops without them.
        "timeout_graceful_shutdown": settings.shutdown_timeout_s,
        "log_level": "info",
    }


def make_private(data_dir: Path) -> None:
    """``chmod 600`` the files in ``data_dir`` (and 700 the folder) that a looser umask left
    readable by others: the store holds the case records. Files owned by another user, or
    that vanish meanwhile, are logged and left alone."""
    try:
        entries = [data_dir, *data_dir.iterdir()]
    except OSError:
        return
    for path in entries:
        try:
            if path.is_symlink():
                continue
            mode = path.stat().st_mode & 0o777
            private = 0o700 if path.is_dir() else 0o600
            if mode & 0o077:
                path.chmod(mode & private)
        except OSError as exc:
            logger.warning("could not make %s private: %s", path, exc)
