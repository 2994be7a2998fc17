"""The app factory: ``create_app(settings)``; its lifespan owns the store and the model."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.api.routes import router
from app.errors import install_error_handlers
from app.limits import install_limits
from app.services import Services, build_services
from app.settings import Settings, get_settings
from app.web import install_web


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> FastAPI:
    """Build the application. ``services`` may be given (tests share one model instance)."""
    config = settings or (services.settings if services else get_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Refuse to serve with no secret or the one printed in the source (outside development
        # mode): anyone could mint tokens for any principals.
        config.check_can_serve()
        owned = services is None
        app.state.services = services or build_services(config, serving=True)
        app.state.services.searcher.warm()
        try:
            yield
        finally:
            if owned:
                app.state.services.close()

    app = FastAPI(
        title="Case-record search",
        version="0.1.0",
        description=(
            "Search a child's case records with verbatim, cited snippets, scoped to the "
            "caller's access rights. Every answer quotes the record; nothing is generated."
        ),
        lifespan=lifespan,
    )
    install_error_handlers(app)
    install_limits(app, config)
    app.include_router(router)
    install_web(app)
    return app
