"""Response headers every answer of the app carries unless its route set its own.

Answers quote case records (search snippets, documents, timelines) and name children: a shared
cache or a reverse proxy must never keep one for another user, and a browser must not keep
one on disk. ``Cache-Control: no-store`` and ``Pragma: no-cache`` (for HTTP/1.0 caches) go on
every response except the static assets, which hold no personal data and are versioned by
content hash (``app.web.render.asset_url``).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATIC_PREFIX = "/static/"


class NoStore:
    """Adds ``Cache-Control: no-store`` and ``Pragma: no-cache`` where none is set."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith(STATIC_PREFIX):
            await self.app(scope, receive, send)
            return

        async def send_no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
                if "pragma" not in headers:
                    headers["Pragma"] = "no-cache"
            await send(message)

        await self.app(scope, receive, send_no_store)


class FrameAncestors:
    """Lets the configured origins frame the pages (``settings.frame_ancestors``).

    The pages send ``frame-ancestors 'none'`` and ``X-Frame-Options: DENY``; with origins
    configured the policy names them instead, and ``X-Frame-Options`` (which cannot name more
    than one origin, and which browsers ignore when the policy has ``frame-ancestors``) is
    dropped. Without origins, install nothing.
    """

    def __init__(self, app: ASGIApp, *, origins: list[str]) -> None:
        self.app = app
        self.ancestors = "frame-ancestors " + " ".join(["'self'", *origins])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_ancestors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                policy = headers.get("content-security-policy")
                if policy is not None and "frame-ancestors 'none'" in policy:
                    headers["Content-Security-Policy"] = policy.replace(
                        "frame-ancestors 'none'", self.ancestors
                    )
                    if "x-frame-options" in headers:
                        del headers["x-frame-options"]
            await send(message)

        await self.app(scope, receive, send_ancestors)
