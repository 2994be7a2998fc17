"""The API's documentation pages, ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), served whole by
this server.

FastAPI's own pages load their scripts from a CDN, which council networks block (the page
stays blank). Here the scripts are copies under ``/static/docs/`` (``scripts/
vendor-docs-assets.sh``), each page starts its viewer from a static file rather than an inline
script, and the page's Content-Security-Policy lets it load from this site alone.
"""

from __future__ import annotations

from html import escape

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from app.web.render import asset_url

# Scripts, fetches and images from this site only. Both viewers set inline styles (ReDoc
# writes its stylesheet into <style> elements), and ReDoc's search runs in a worker made from
# a blob: URL.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src blob:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
DOCS_HEADERS = {
    "Content-Security-Policy": DOCS_CSP,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
{styles}
</head>
<body>
<div id="{root}" data-openapi-url="{openapi_url}"></div>
{scripts}
</body>
</html>
"""


def docs_page(
    *, title: str, root: str, openapi_url: str, styles: list[str], scripts: list[str]
) -> str:
    """An HTML page that loads ``styles`` and ``scripts`` (static asset names) in order."""
    return _PAGE.format(
        title=escape(title),
        root=root,
        openapi_url=escape(openapi_url),
        styles="\n".join(f'<link rel="stylesheet" href="{asset_url(s)}">' for s in styles),
        scripts="\n".join(f'<script src="{asset_url(s)}"></script>' for s in scripts),
    )


def install_docs(app: FastAPI) -> None:
    """Serve ``/docs`` and ``/redoc`` (build the app with ``docs_url=None, redoc_url=None``)."""
    openapi_url = app.openapi_url or "/openapi.json"
    swagger = docs_page(
        title=f"{app.title} – API",
        root="swagger-ui",
        openapi_url=openapi_url,
        styles=["docs/swagger-ui.css"],
        scripts=["docs/swagger-ui-bundle.js", "docs/swagger-init.js"],
    )
    redoc = docs_page(
        title=f"{app.title} – API reference",
        root="redoc",
        openapi_url=openapi_url,
        styles=[],
        scripts=["docs/redoc.standalone.js", "docs/redoc-init.js"],
    )

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return HTMLResponse(swagger, headers=DOCS_HEADERS)

    @app.get("/redoc", include_in_schema=False)
    def redoc_page() -> HTMLResponse:
        return HTMLResponse(redoc, headers=DOCS_HEADERS)
