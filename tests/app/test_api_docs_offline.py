"""``/docs`` and ``/redoc`` work on a network that reaches nothing but this server: Chromium
(headless, through Playwright) renders the operations with every other host blocked, and the
pages' Content-Security-Policy refuses nothing they need."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from app.main import create_app
from app.services import Services

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        "Debian's Chromium is not installed at /usr/bin/chromium (make system-deps)",
        allow_module_level=True,
    )

from playwright.sync_api import Page, Route, expect, sync_playwright  # noqa: E402


@pytest.fixture
def offline_page(services: Services, serve_live: Any) -> Iterator[tuple[Page, str, list[str]]]:
    """A page that may reach the live server and nothing else; the hosts it tried, and the
    console's errors, are collected in the list."""
    app = create_app(services=services)
    with serve_live(app, services.settings) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        context = browser.new_context()
        problems: list[str] = []

        def only_the_server(route: Route) -> None:
            target = urlsplit(route.request.url)
            if target.scheme in ("data", "blob") or target.netloc == f"{server.host}:{server.port}":
                route.continue_()
            else:
                problems.append(f"request to {route.request.url}")
                route.abort("blockedbyclient")

        context.route("**/*", only_the_server)
        page = context.new_page()
        page.on(
            "console",
            lambda message: problems.append(message.text) if message.type == "error" else None,
        )
        yield page, server.url, problems
        browser.close()


def test_swagger_ui_shows_every_operation_with_no_other_host(
    offline_page: tuple[Page, str, list[str]],
) -> None:
    page, url, problems = offline_page
    page.goto(f"{url}/docs")
    expect(page.locator(".opblock").first).to_be_visible(timeout=30_000)
    shown = page.locator(".opblock-summary-path").all_inner_texts()
    spec = page.request.get(f"{url}/openapi.json").json()
    documented = {path for path, methods in spec["paths"].items() for _ in methods}
    assert {text.replace("\u200b", "") for text in shown} == documented
    expect(page.get_by_role("button", name="Authorize")).to_be_visible()
    assert problems == []


def test_redoc_shows_the_operations_with_no_other_host(
    offline_page: tuple[Page, str, list[str]],
) -> None:
    page, url, problems = offline_page
    page.goto(f"{url}/redoc")
    expect(page.get_by_role("heading", name="Case-record search", exact=False).first).to_be_visible(
        timeout=30_000
    )
    expect(page.get_by_text("/v1/search", exact=True).first).to_be_attached()
    # ReDoc's footer asks for its maker's logo from their CDN: the policy refuses it before any
    # request is made, and ReDoc then leaves the logo out. Nothing else may be refused.
    logo = "https://cdn.redoc.ly/redoc/logo-mini.svg"
    assert [p for p in problems if not (logo in p and "Content Security Policy" in p)] == []
