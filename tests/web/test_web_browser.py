"""End to end in Debian's Chromium (headless, through Playwright) against a real server.

The server is uvicorn in a thread serving the tiny case file, indexed here with the real model.
Also checks accessibility with axe-core (from npm, installed by scripts/build-assets.sh) and
saves the screenshots the README shows (docs/screenshots/).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from web_case_file import case_file, web_settings
from web_helpers import query_of
from web_pattern_file import QA_PRINCIPALS, pattern_file

from app.auth import mint_token
from app.main import create_app
from app.services import build_services
from app.web.session import SESSION_COOKIE
from connectors.record import Record
from retrieval.embedding import Embedder

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE = REPO / "app" / "web" / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = REPO / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

if not CHROMIUM.exists():
    pytest.skip(
        "Debian's Chromium is not installed at /usr/bin/chromium (make system-deps)",
        allow_module_level=True,
    )

from playwright.sync_api import (  # noqa: E402
    Browser,
    BrowserContext,
    Error,
    Page,
    Route,
    expect,
    sync_playwright,
)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def _serving(data_dir: Path, embedder: Embedder, records: list[Record]) -> Iterator[str]:
    """Serve ``records`` (one uvicorn worker, as ``casesearch serve`` runs); the base URL."""
    settings = web_settings(data_dir)
    services = build_services(settings, embedder=embedder)
    services.indexer.apply(records, source="test")
    port = _free_port()
    config = uvicorn.Config(
        create_app(services=services),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ws="none",
        lifespan="on",
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not running.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(timeout=15)
    services.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[str]:
    """The base URL of a running server over the tiny case file."""
    with _serving(tmp_path_factory.mktemp("browser"), embedder, case_file()) as url:
        yield url


@pytest.fixture(scope="module")
def pattern_server(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[str]:
    """The base URL of a running server over the pattern view's case file."""
    with _serving(tmp_path_factory.mktemp("patterns"), embedder, pattern_file()) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def context(browser: Browser, server: str) -> Iterator[BrowserContext]:
    made = browser.new_context(base_url=server, viewport={"width": 1200, "height": 900})
    made.set_default_timeout(15_000)
    yield made
    made.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def sign_in(page: Page, label: str) -> None:
    """Sign in through the development form, choosing the demo user whose label starts so."""
    page.goto("/sign-in")
    page.get_by_label(re.compile(f"^{re.escape(label)}")).check()
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Signed in as")).to_be_visible()


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the current page."""
    if not AXE.exists():
        pytest.skip("axe-core is not installed: run scripts/build-assets.sh (npm ci)")
    # Evaluated through the DevTools protocol, so the page's CSP (script-src 'self') still holds.
    page.evaluate(AXE.read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ['violations']});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(' '))
            }));
        }"""
    )
    return [v for v in found if v["impact"] in ("serious", "critical")]


# -- the main journey -------------------------------------------------------------------------


def test_sign_in_search_open_a_result_and_see_the_cited_passage(page: Page) -> None:
    sign_in(page, "Alice")
    page.get_by_label("Search case records").fill("grandmother collect Amy from school")
    page.get_by_role("button", name="Search", exact=True).click()
    results = page.locator(".app-result")
    expect(results.first).to_be_visible()
    expect(results.first.locator("mark").first).to_be_visible()
    page.get_by_text("Why this matched").first.click()
    expect(results.first.locator(".app-why")).to_be_visible()
    page.evaluate("() => document.activeElement.blur()")
    screenshot(page, "search-results")

    title = results.first.locator("h3 a")
    expected = results.first.locator("blockquote").inner_text()
    title.click()
    cited = page.locator("mark#cited")
    expect(cited).to_be_visible()
    expect(cited).to_be_in_viewport()
    expect(cited).to_be_focused()
    assert cited.inner_text() == expected
    screenshot(page, "record")

    page.get_by_role("link", name="CASE-7").first.click()
    expect(page.get_by_role("heading", name="CASE-7")).to_be_visible()
    screenshot(page, "case")


def test_a_case_lookup_needs_no_typing(page: Page) -> None:
    sign_in(page, "Alice")
    page.goto("/")
    page.get_by_label("Case", exact=True).first.select_option("CASE-7")
    page.get_by_role("button", name="Open case").click()
    page.get_by_role("link", name="Latest GP contact").click()
    first = page.locator(".app-result").first
    expect(first.locator("h3")).to_have_text("GP contact")
    assert "case_id=CASE-7" in page.url


def test_the_first_result_arrives_with_the_page_itself(page: Page) -> None:
    sign_in(page, "Alice")
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.resource_type))
    page.goto("/?q=safety+plan", wait_until="domcontentloaded")
    # Visible at DOMContentLoaded, and no script fetched anything: one round trip.
    expect(page.locator(".app-result").first).to_be_visible()
    page.wait_for_load_state("load")
    assert requests.count("document") == 1
    assert "fetch" not in requests
    assert "xhr" not in requests


def test_a_user_without_rights_sees_nothing_of_a_restricted_case(page: Page) -> None:
    sign_in(page, "Alice")
    for path in ("/cases/CASE-9", "/records/HIDDEN-1"):
        response = page.goto(path)
        assert response is not None
        assert response.status == 404
        expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
        assert "CASE-9" not in page.content()
        assert "HIDDEN-1" not in page.content()
    page.goto("/?q=Ocelot+visit+cold+home")
    expect(page.locator("#main-content")).not_to_contain_text("little food")
    assert page.locator(".app-result", has_text="CASE-9").count() == 0
    options = page.locator("select#case_id option").all_inner_texts()
    assert "CASE-9" not in options

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, "Sam")
    page.goto("/cases/CASE-9")
    expect(page.get_by_role("heading", name="CASE-9")).to_be_visible()


def test_keyboard_only_search_and_open(page: Page) -> None:
    sign_in(page, "Alice")
    page.goto("/")

    def tab_until(selector: str, limit: int = 25) -> int:
        for presses in range(1, limit + 1):
            page.keyboard.press("Tab")
            if page.evaluate("(s) => document.activeElement.matches(s)", selector):
                return presses
        raise AssertionError(f"Tab never reached {selector}")

    assert tab_until("#q") <= 6
    page.keyboard.type("safety plan")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator(".app-result").first).to_be_visible()
    assert tab_until(".app-result:first-child h3 a") <= 10
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("mark#cited")).to_be_focused()


def test_the_pages_work_without_javascript(browser: Browser, server: str) -> None:
    context = browser.new_context(base_url=server, java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, "Bob")
        page.get_by_label("Search case records").fill("GP chest infection")
        page.get_by_label("Search case records").press("Enter")
        page.locator(".app-result h3 a").first.click()
        expect(page.locator("mark#cited")).to_be_in_viewport()
        assert page.url.endswith("#cited")
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_text("You have signed out.")).to_be_visible()
        page.goto("/cases/CASE-7")
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    finally:
        context.close()


# -- results as you type ---------------------------------------------------------------------

PARTIAL = re.compile(r"[?&]partial=1(&|$)")


def searched_as_you_type(page: Page) -> list[str]:
    """The texts the page's script searches for from now on, in the order it asks."""
    texts: list[str] = []

    def note(url: str) -> None:
        if PARTIAL.search(url):
            texts.extend(query_of(url).get("q", []))

    page.on("request", lambda request: note(request.url))
    return texts


def result_titles(page: Page) -> list[str]:
    return page.locator(".app-result h3").all_inner_texts()


def test_results_appear_as_you_type_without_pressing_enter(page: Page) -> None:
    sign_in(page, "Alice")
    page.goto("/")
    searched = searched_as_you_type(page)
    page.evaluate("() => { window.sameDocument = true }")
    box = page.get_by_label("Search case records")
    box.click()
    page.keyboard.type("current safety", delay=60)

    status = page.locator("#search-status")
    expect(status).to_have_text("Results updated for \u2018current safety\u2019")
    expect(page.locator(".app-result h3").first).to_have_text("Safety plan (version 2)")
    page.wait_for_timeout(600)  # longer than the pause: nothing more is asked
    # A search when "current" was completed by the space, then one after the pause (the exact
    # rule, on a clock the test controls, is the next test's).
    assert searched[0] == "current"
    assert searched[-1] == "current safety"
    assert all(a != b for a, b in itertools.pairwise(searched))
    # The page was never reloaded: the box kept focus, its text and the caret.
    assert page.evaluate("() => window.sameDocument") is True
    expect(box).to_be_focused()
    expect(box).to_have_value("current safety")
    assert box.evaluate("(b) => [b.selectionStart, b.selectionEnd]") == [14, 14]
    # The address and the title are the full page's for that search.
    assert query_of(page.url)["q"] == ["current safety"]
    assert "partial" not in page.url
    expect(page).to_have_title("current safety – Search results – Case-record search")
    assert serious_violations(page) == []

    first = result_titles(page)
    page.reload()
    assert result_titles(page) == first
    expect(page.get_by_label("Search case records")).to_have_value("current safety")
    page.locator(".app-result h3 a").first.click()
    expect(page.locator("mark#cited")).to_be_focused()
    page.go_back()
    assert result_titles(page) == first
    expect(page.get_by_label("Search case records")).to_have_value("current safety")


def test_the_search_runs_as_each_word_is_completed_and_after_a_400_ms_pause(page: Page) -> None:
    start = dt.datetime(2025, 1, 6, 9, 0, tzinfo=dt.UTC)
    page.clock.install(time=start)
    sign_in(page, "Alice")
    page.goto("/")
    page.clock.pause_at(start + dt.timedelta(minutes=5))  # time moves only when told to
    searched = searched_as_you_type(page)
    page.get_by_label("Search case records").click()
    page.keyboard.type("latest GP", delay=60)
    page.wait_for_timeout(300)
    assert searched == ["latest"]  # the space after "latest", at once
    page.clock.run_for(399)
    page.wait_for_timeout(300)
    assert searched == ["latest"]
    page.clock.run_for(1)  # 400 ms without typing: the last word counts too
    expect(page.locator("#search-status")).to_have_text("Results updated for \u2018latest GP\u2019")
    assert searched == ["latest", "latest GP"]
    page.keyboard.type(" ", delay=60)  # the same text completed again: not asked twice
    page.clock.run_for(1000)
    page.wait_for_timeout(300)
    assert searched == ["latest", "latest GP"]
    expect(page.locator(".app-result h3").first).to_have_text("GP contact")


def test_results_as_you_type_carry_the_filters_and_never_search_blank_text(page: Page) -> None:
    sign_in(page, "Alice")
    page.goto("/")
    page.get_by_label("Health contact").check()
    searched = searched_as_you_type(page)
    box = page.get_by_label("Search case records")
    box.click()
    page.keyboard.type("   ", delay=60)
    page.wait_for_timeout(600)
    assert searched == []
    page.keyboard.type("Amy", delay=60)
    expect(page.locator("#search-status")).to_have_text("Results updated for \u2018Amy\u2019")
    assert result_titles(page) == ["GP contact"]
    assert query_of(page.url)["doc_type"] == ["health_contact"]
    page.keyboard.type("  ", delay=60)  # the same text again: not searched twice
    page.wait_for_timeout(600)
    assert searched == ["Amy"]


@pytest.mark.parametrize("abort", ["aborted", "abort ignored"])
def test_a_slow_answer_for_older_text_never_replaces_newer_results(
    context: BrowserContext, abort: str
) -> None:
    if abort == "abort ignored":
        # Even if the old request is not cancelled, its late answer must be dropped.
        context.add_init_script("AbortController.prototype.abort = function () {}")
    page = context.new_page()
    sign_in(page, "Alice")
    page.goto("/")
    held: list[Route] = []

    def hold_the_first_word(route: Route) -> None:
        if query_of(route.request.url)["q"] == ["strategy"]:
            held.append(route)  # answered below, after the newer search has been shown
        else:
            route.continue_()

    page.route(PARTIAL, hold_the_first_word)
    page.get_by_label("Search case records").click()
    page.keyboard.type("strategy discussion", delay=60)
    status = page.locator("#search-status")
    expect(status).to_have_text("Results updated for \u2018strategy discussion\u2019")
    assert len(held) == 1
    newer = result_titles(page)
    assert newer

    stale = '<div id="search-results"><p id="stale">Results for the old text</p></div>'
    with contextlib.suppress(Error):  # the page may already have cancelled it
        held[0].fulfill(status=200, content_type="text/html", body=stale)
    page.wait_for_timeout(500)
    expect(page.locator("#stale")).to_have_count(0)
    assert result_titles(page) == newer
    assert query_of(page.url)["q"] == ["strategy discussion"]
    expect(status).to_have_text("Results updated for \u2018strategy discussion\u2019")


@pytest.mark.parametrize("failure", ["429", "500", "network"])
def test_a_failed_update_keeps_the_results_shown_and_enter_still_searches(
    page: Page, failure: str
) -> None:
    sign_in(page, "Alice")
    page.goto("/?q=safety+plan")
    before, url, title = result_titles(page), page.url, page.title()
    assert before

    def fail(route: Route) -> None:
        if failure == "network":
            route.abort()
        else:
            body = '<div id="search-results"><p id="failed">Too many requests</p></div>'
            route.fulfill(status=int(failure), content_type="text/html", body=body)

    page.route(PARTIAL, fail)
    box = page.get_by_label("Search case records")
    box.click()
    page.keyboard.press("End")
    with page.expect_request(PARTIAL):
        page.keyboard.type(" GP ", delay=60)
    page.wait_for_timeout(300)
    expect(page.locator("#failed")).to_have_count(0)
    assert result_titles(page) == before
    assert (page.url, page.title()) == (url, title)
    expect(page.locator("#search-status")).to_have_text("")
    expect(box).to_be_focused()

    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert query_of(page.url)["q"] == ["safety plan GP "]  # as typed: the form is unchanged
    expect(page.locator(".app-result").first).to_be_visible()


def test_a_signed_out_update_loads_the_full_page_which_asks_to_sign_in(
    page: Page, context: BrowserContext
) -> None:
    sign_in(page, "Alice")
    page.goto("/")
    context.clear_cookies()
    page.get_by_label("Search case records").click()
    with page.expect_navigation():
        page.keyboard.type("safety ", delay=60)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert query_of(page.url)["next"][0].startswith("/?q=safety&")


def date_boxes(page: Page, legend: str) -> list[str]:
    group = page.get_by_role("group", name=legend)
    return [group.get_by_label(part).input_value() for part in ("Day", "Month", "Year")]


def test_a_date_phrase_typed_fills_the_date_boxes_and_taking_it_out_empties_them(
    page: Page,
) -> None:
    sign_in(page, "Alice")
    page.goto("/")
    box = page.get_by_label("Search case records")
    box.click()
    page.keyboard.type("safety plan since March 2024", delay=40)
    status = page.locator("#search-status")
    expect(status).to_have_text(
        "Results updated for \u2018safety plan since March 2024\u2019. "
        "Date from filled in from your search: 1 March 2024"
    )
    assert date_boxes(page, "Date from") == ["1", "3", "2024"]
    assert date_boxes(page, "Date to") == ["", "", ""]
    expect(page.locator("#date-filters")).to_contain_text("since March 2024")
    assert "Safety plan (version 1)" not in result_titles(page)  # 10 January 2024
    expect(box).to_be_focused()
    assert box.evaluate("(b) => [b.selectionStart, b.selectionEnd]") == [28, 28]
    assert serious_violations(page) == []

    # Enter gives the full page of the same search: the same boxes and results.
    shown = result_titles(page)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert result_titles(page) == shown
    assert date_boxes(page, "Date from") == ["1", "3", "2024"]

    # Taking the phrase out of the words takes its date out of the boxes.
    box = page.get_by_label("Search case records")
    box.evaluate("(b) => { b.focus(); b.setSelectionRange(11, b.value.length) }")
    page.keyboard.press("Backspace")
    expect(status).to_have_text("Results updated for \u2018safety plan\u2019. Date from cleared")
    assert date_boxes(page, "Date from") == ["", "", ""]
    expect(page.locator('input[name="read_from"]')).to_have_count(0)
    assert "Safety plan (version 1)" in result_titles(page)
    expect(box).to_be_focused()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert query_of(page.url)["q"] == ["safety plan"]
    assert date_boxes(page, "Date from") == ["", "", ""]
    assert "Safety plan (version 1)" in result_titles(page)


def test_dates_the_user_typed_in_the_boxes_stay_as_typed(page: Page) -> None:
    sign_in(page, "Alice")
    page.goto("/")
    group = page.get_by_role("group", name="Date from")
    for part, value in (("Day", "1"), ("Month", "4"), ("Year", "2024")):
        group.get_by_label(part).fill(value)
    page.get_by_label("Search case records").click()
    page.keyboard.type("safety plan in 2024", delay=40)
    expect(page.locator("#search-status")).to_have_text(
        "Results updated for \u2018safety plan in 2024\u2019. "
        "Date to filled in from your search: 31 December 2024"
    )
    assert date_boxes(page, "Date from") == ["1", "4", "2024"]
    assert date_boxes(page, "Date to") == ["31", "12", "2024"]
    assert result_titles(page)[0] == "Safety plan (version 2)"
    assert "Safety plan (version 1)" not in result_titles(page)


# -- accessibility ----------------------------------------------------------------------------


def test_no_serious_accessibility_violations(page: Page) -> None:
    pages: dict[str, list[dict[str, Any]]] = {}
    page.goto("/sign-in")
    pages["sign-in"] = serious_violations(page)
    screenshot(page, "sign-in")
    sign_in(page, "Alice")
    page.goto("/")
    pages["search"] = serious_violations(page)
    page.goto("/?q=safety+plan")
    page.locator("details").first.evaluate("(d) => { d.open = true }")
    pages["results"] = serious_violations(page)
    page.goto("/?q=")
    pages["form errors"] = serious_violations(page)
    page.goto("/?q=safety+plan")
    page.locator(".app-result h3 a").first.click()
    pages["record"] = serious_violations(page)
    page.goto("/cases/CASE-7")
    pages["case"] = serious_violations(page)
    page.goto("/cases/CASE-404")
    pages["not found"] = serious_violations(page)
    page.goto("/patterns")
    pages["patterns"] = serious_violations(page)
    page.goto("/patterns?category=&q=")
    pages["patterns errors"] = serious_violations(page)
    assert {name: found for name, found in pages.items() if found} == {}


# -- the pattern view -------------------------------------------------------------------------


def test_a_qa_officer_finds_the_cases_showing_neglect(
    browser: Browser, pattern_server: str
) -> None:
    context = browser.new_context(base_url=pattern_server, viewport={"width": 1200, "height": 900})
    context.set_default_timeout(15_000)
    token = mint_token(web_settings(Path("/unused")), "qa", list(QA_PRINCIPALS))
    context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": pattern_server}])
    try:
        page = context.new_page()
        page.goto("/")
        page.get_by_role("link", name="Patterns").click()
        page.get_by_label("Concern").select_option(label="Neglect")
        page.get_by_role("button", name="Find cases").click()
        expect(page.locator("#pattern-summary")).to_have_text("3 cases, 12 records")
        chart = page.get_by_role("img", name=re.compile("per month"))
        expect(chart).to_be_visible()
        expect(page.locator("#pattern-cases > li h4")).to_have_text(
            ["CASE-1021", "CASE-1034", "CASE-1047"]
        )
        expect(page.locator("#set-apart > li")).to_have_count(3)
        for details in page.locator("details").all():
            details.evaluate("(d) => { d.open = true }")
        assert serious_violations(page) == []
        page.evaluate("() => document.activeElement.blur()")
        screenshot(page, "patterns")

        first = page.locator("#pattern-cases > li").first
        quote = first.locator("blockquote").first.inner_text()
        first.get_by_role("link", name=re.compile("at this sentence")).first.click()
        cited = page.locator("mark#cited")
        expect(cited).to_be_in_viewport()
        assert cited.inner_text() == quote
    finally:
        context.close()
