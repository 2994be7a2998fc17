"""The pages at 1280 and 400 px wide in Debian's Chromium: nothing overlaps, nothing runs off
the screen, axe finds nothing serious on any page; the README's screenshots at both widths.

Overlap and widths are measured from the elements' bounding boxes (issue 16, item 7: the
development notice over "Signed in as" at 1280 px; at 400 px a 14 px search box and a button
off the screen).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    FloatRect,
    Page,
    expect,
    sync_playwright,
)
from test_web_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    SCREENSHOTS,
    _serving,
    serious_violations,
    sign_in,
)
from web_case_file import case_file, web_settings

from app.auth import mint_token
from app.web.session import SESSION_COOKIE
from retrieval.embedding import Embedder

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WIDTHS = (1280, 400)
# Every menu item at once and a long user id: the most the header ever has to hold.
STAFF = "casework-quality-auditor-north"
STAFF_PRINCIPALS = ["team:north", "role:auditor", "role:qa"]

Box = FloatRect


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[str]:
    with _serving(tmp_path_factory.mktemp("layout"), embedder, case_file()) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _context(browser: Browser, server: str, width: int) -> BrowserContext:
    made = browser.new_context(base_url=server, viewport={"width": width, "height": 900})
    made.set_default_timeout(15_000)
    return made


def _as_staff(context: BrowserContext, server: str) -> None:
    token = mint_token(web_settings(Path("/unused")), STAFF, STAFF_PRINCIPALS)
    context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": server}])


def _box(page: Page, selector: str) -> Box:
    found = page.locator(selector).first.bounding_box()
    assert found is not None, f"{selector} is not shown"
    return found


def _overlap(a: Box, b: Box) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


def _header_problems(page: Page) -> list[str]:
    """Pairs of header parts (and the development notice) whose boxes overlap, and any part
    sticking out of the header."""
    parts: dict[str, Box] = {
        "service name": _box(page, ".govuk-service-navigation__service-name"),
        "signed in": _box(page, ".app-signed-in"),
        "development notice": _box(page, "#development-mode"),
    }
    items = page.locator(".govuk-service-navigation__item")
    for i in range(items.count()):
        item = items.nth(i).bounding_box()
        assert item is not None
        parts[f"menu: {items.nth(i).inner_text().strip()}"] = item
    names = list(parts)
    problems = [
        f"{a} overlaps {b}"
        for i, a in enumerate(names)
        for b in names[i + 1 :]
        if _overlap(parts[a], parts[b])
    ]
    header = _box(page, "header")
    bottom = header["y"] + header["height"]
    for name, box in parts.items():
        if name != "development notice" and box["y"] + box["height"] > bottom + 0.5:
            problems.append(f"{name} sticks out of the header")
    return problems


def _page_width_problems(page: Page, width: int) -> list[str]:
    scroll = page.evaluate("() => document.documentElement.scrollWidth")
    return [f"the page is {scroll} px wide in a {width} px window"] if scroll > width else []


@pytest.mark.parametrize("width", WIDTHS)
def test_the_header_and_the_search_box_fit_at_each_width(
    browser: Browser, server: str, width: int
) -> None:
    context = _context(browser, server, width)
    try:
        page = context.new_page()
        sign_in(page, "Alice")
        page.get_by_label("Search case records").fill("saftey paln since March 2024")
        page.get_by_role("button", name="Search", exact=True).click()
        expect(page.locator(".app-result").first).to_be_visible()
        expect(page.locator("#showing-for")).to_contain_text("safety plan")
        assert _header_problems(page) == []
        assert _page_width_problems(page, width) == []

        box, button = _box(page, "#q"), _box(page, ".app-search__button")
        main = _box(page, "#search-form")
        assert box["width"] >= 0.6 * main["width"]  # was 14 px at 400 px
        assert button["x"] >= box["x"] + box["width"]  # beside the box, not over it
        assert button["x"] + button["width"] <= main["x"] + main["width"] + 0.5
        assert abs((button["y"] + button["height"]) - (box["y"] + box["height"])) <= 2
        page.evaluate("() => document.activeElement.blur()")
        page.screenshot(path=str(SCREENSHOTS / f"results-{width}.png"), full_page=width == 1280)

        # the header with every menu item and a long user id
        _as_staff(context, server)
        page.goto("/search")
        assert _header_problems(page) == []
        assert _page_width_problems(page, width) == []
    finally:
        context.close()


def _pages(page: Page, server: str) -> Iterator[str]:
    """Visits every page (a name for each as it is shown), signed out first, then as staff."""
    page.goto("/sign-in")
    yield "sign-in"
    _as_staff(page.context, server)
    page.goto("/search")
    yield "search"
    page.goto("/cases?case_id=")
    yield "open case, nothing chosen"
    page.goto("/?q=saftey+paln+since+March+2024")
    for details in page.locator("details").all():
        details.evaluate("(d) => { d.open = true }")
    yield "results"
    page.goto("/?q=")
    yield "search errors"
    page.goto("/?q=safety+plan")
    page.locator(".app-result h3 a").first.click()
    expect(page.locator("#back-to-results")).to_be_visible()
    yield "record"
    page.goto("/cases/CASE-7")
    yield "case"
    page.goto("/cases/CASE-7/chronology")
    yield "chronology"
    page.goto("/patterns")
    yield "patterns"
    page.goto("/audit?person=Amy")
    yield "audit log"
    page.goto("/time-to-find")
    expect(page.locator("#ttf-chart")).to_be_visible()
    yield "time to find"


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_fits_and_has_no_serious_accessibility_violations(
    browser: Browser, server: str, width: int
) -> None:
    context = _context(browser, server, width)
    found: dict[str, Any] = {}
    try:
        page = context.new_page()
        for name in _pages(page, server):
            problems: list[Any] = _page_width_problems(page, width)
            if name != "sign-in":
                problems += _header_problems(page)
            problems += serious_violations(page)
            if problems:
                found[name] = problems
            if name in ("record", "time to find", "open case, nothing chosen"):
                slug = re.sub(r"[^a-z]+", "-", name).strip("-")
                page.evaluate("() => { document.activeElement.blur(); window.scrollTo(0, 0) }")
                page.screenshot(path=str(SCREENSHOTS / f"{slug}-{width}.png"))
    finally:
        context.close()
    assert found == {}


@pytest.mark.parametrize("width", WIDTHS)
def test_open_case_with_nothing_chosen_is_explained_in_the_browser(
    browser: Browser, server: str, width: int
) -> None:
    context = _context(browser, server, width)
    try:
        page = context.new_page()
        sign_in(page, "Alice")
        page.goto("/")
        page.get_by_role("button", name="Open case").click()
        summary = page.locator(".govuk-error-summary")
        expect(summary).to_be_visible()
        expect(summary).to_contain_text("Select a case to open")
        summary.get_by_role("link", name="Select a case to open").click()
        assert page.url.endswith("#open-case")
        expect(page.locator("#open-case")).to_be_in_viewport()
        page.locator("#open-case").select_option("CASE-7")
        page.get_by_role("button", name="Open case").click()
        expect(page.locator("#case-heading")).to_be_visible()
    finally:
        context.close()
