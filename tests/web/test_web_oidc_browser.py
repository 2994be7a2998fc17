"""Sign-in with OpenID Connect, end to end in Chromium against a real provider.

The provider is panva's ``oidc-provider`` (npm, ``tests/oidc_provider/``, installed by ``make
frontend-deps``), run here in Node.js at ``http://localhost:<port>``; the service runs in uvicorn
at ``http://127.0.0.1:<port>``, another site, so the provider's redirects back are cross-site
navigations as they are in a council. Its accounts carry a ``groups`` claim; the service maps
``grp-north`` to ``team:north`` and ``grp-south`` to ``team:south``, and knows no other group.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from web_case_file import case_file, web_settings

from app.main import create_app
from app.services import build_services
from app.settings import Settings
from retrieval.embedding import Embedder

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
PROVIDER_DIR = REPO / "tests" / "oidc_provider"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
CLIENT_ID = "casesearch"
CLIENT_SECRET = "a-client-secret-for-the-test-provider-only"
PROVIDER_NAME = "Test Council ID"
ACCOUNTS = {
    "alice": {"name": "Alice North", "groups": ["grp-north"]},
    "sam": {"name": "Sam South", "groups": ["grp-south", "grp-everyone"]},
    "vic": {"name": "Vic Volunteer", "groups": ["grp-everyone"]},
}
GROUP_PRINCIPALS = {"grp-north": ["team:north"], "grp-south": ["team:south"]}
# a session short enough to watch it end
SHORT_SESSION_S = 4

if not CHROMIUM.exists():
    pytest.skip("Debian's Chromium is not installed (make system-deps)", allow_module_level=True)
if not (PROVIDER_DIR / "node_modules" / "oidc-provider").exists() or not shutil.which("node"):
    pytest.skip(
        "the test OpenID provider is not installed (make frontend-deps)", allow_module_level=True
    )

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def _provider(port: int, app_urls: list[str], log: Path) -> Iterator[str]:
    """Run the provider for clients at ``app_urls`` (its warnings to ``log``); its issuer URL."""
    issuer = f"http://localhost:{port}"
    config = {
        "issuer": issuer,
        "port": port,
        "client": {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uris": [f"{url}/sign-in/oidc/callback" for url in app_urls],
            "post_logout_redirect_uris": [f"{url}/sign-in/oidc/signed-out" for url in app_urls],
        },
        "accounts": ACCOUNTS,
    }
    with log.open("w") as errors:
        process = subprocess.Popen(
            ["node", str(PROVIDER_DIR / "provider.js"), json.dumps(config)],
            cwd=PROVIDER_DIR,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if line.strip() != "ready":
            process.wait(timeout=10)
            raise RuntimeError(f"the test OpenID provider did not start: {log.read_text()}")
        yield issuer
    finally:
        process.terminate()
        process.communicate(timeout=10)


def _oidc_settings(data_dir: Path, issuer: str, **oidc: Any) -> Settings:
    settings: Settings = web_settings(
        data_dir,
        dev_sign_in=False,
        oidc={
            "issuer": issuer,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "provider_name": PROVIDER_NAME,
            "scopes": "openid profile groups",
            "group_principals": GROUP_PRINCIPALS,
            **oidc,
        },
    )
    return settings


@contextlib.contextmanager
def _serving(settings: Settings, embedder: Embedder, port: int) -> Iterator[None]:
    services = build_services(settings, embedder=embedder)
    services.indexer.apply(case_file(), source="test")
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
    try:
        yield
    finally:
        running.should_exit = True
        thread.join(timeout=15)
        services.close()


@pytest.fixture(scope="module")
def servers(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[dict[str, str]]:
    """The provider, the service (8 h sessions) and a second service with 4 s sessions."""
    ports = {name: _free_port() for name in ("provider", "app", "short")}
    apps = {name: f"http://127.0.0.1:{ports[name]}" for name in ("app", "short")}
    with (
        _provider(
            ports["provider"], list(apps.values()), tmp_path_factory.mktemp("provider") / "log"
        ) as issuer,
        _serving(_oidc_settings(tmp_path_factory.mktemp("oidc"), issuer), embedder, ports["app"]),
        _serving(
            _oidc_settings(
                tmp_path_factory.mktemp("oidc-short"), issuer, session_lifetime_s=SHORT_SESSION_S
            ),
            embedder,
            ports["short"],
        ),
    ):
        yield {"issuer": issuer, **apps}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser (no cookies at the service or the provider)."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.set_default_timeout(20_000)
    yield context.new_page()
    context.close()


def sign_in(page: Page, app: str, login: str, *, path: str = "/") -> None:
    """Open ``path`` signed out and sign in at the provider as ``login``."""
    page.goto(app + path)
    expect(page).to_have_url(re.compile(r"/sign-in\?next="))
    page.get_by_role("button", name=f"Sign in with {PROVIDER_NAME}").click()
    expect(page.get_by_role("heading", name="Sign in to the test provider")).to_be_visible()
    page.get_by_label("Login").fill(login)
    page.get_by_role("button", name="Sign in", exact=True).click()


def search(page: Page, words: str) -> None:
    page.get_by_label("Search case records").fill(words)
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_role("heading", name="Results")).to_be_visible()


def test_sign_in_search_and_sign_out_through_the_provider(
    page: Page, servers: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    app = servers["app"]
    caplog.set_level(logging.DEBUG)
    addresses: list[str] = []
    page.on("request", lambda request: addresses.append(request.url))
    page.goto(app + "/")
    # the provider's button, and no development form
    expect(page.get_by_role("button", name=f"Sign in with {PROVIDER_NAME}")).to_be_visible()
    expect(page.get_by_text("Who are you signing in as?")).to_have_count(0)
    expect(page.locator("#development-mode")).to_have_count(0)

    sign_in(page, app, "alice", path="/cases/CASE-7")
    expect(page).to_have_url(f"{app}/cases/CASE-7")  # back where she was going
    expect(page.get_by_text("Signed in as")).to_contain_text("alice")
    page.goto(app + "/")
    search(page, "grandmother collect Amy from school")
    results = page.locator(".app-result")
    expect(results.first).to_contain_text("Safety plan (version 2)")
    # nothing about her groups or principals in any address she went through, or in the log
    assert "signed in" in caplog.text
    for text in [*addresses, caplog.text]:
        assert "team:" not in text
        assert "grp-" not in text

    page.get_by_role("button", name="Sign out").click()
    # RP-initiated logout: the provider asks, then sends her back
    expect(page.get_by_role("heading", name="Sign out of the test provider?")).to_be_visible()
    page.get_by_role("button", name="Yes, sign me out").click()
    expect(page).to_have_url(re.compile(re.escape(app) + r"/sign-in\?signed_out=1"))
    expect(page.locator("#notice")).to_have_text("You have signed out.")
    page.goto(app + "/?q=safety+plan")
    expect(page).to_have_url(re.compile(r"/sign-in\?next="))
    # signed out at the provider too: signing in asks for the login again
    page.get_by_role("button", name=f"Sign in with {PROVIDER_NAME}").click()
    expect(page.get_by_role("heading", name="Sign in to the test provider")).to_be_visible()


def test_a_user_of_another_group_sees_nothing_of_a_restricted_case(
    browser: Browser, servers: dict[str, str]
) -> None:
    app = servers["app"]
    words = "Ocelot visit cold home"
    for login, sees in (("sam", True), ("alice", False)):
        context = browser.new_context()
        context.set_default_timeout(20_000)
        page = context.new_page()
        sign_in(page, app, login)
        expect(page.get_by_text("Signed in as")).to_contain_text(login)
        search(page, words)
        if sees:
            expect(page.locator(".app-result").first).to_contain_text("Home visit")
            page.goto(app + "/cases/CASE-9")
            expect(page.get_by_role("heading", name=re.compile("CASE-9"))).to_be_visible()
        else:
            expect(page.locator(".app-result")).to_have_count(0)
            expect(page.locator("#result-count")).to_have_count(0)
            expect(page.get_by_text("Ocelot")).to_have_count(0)
            hidden = page.goto(app + "/cases/CASE-9")
            missing = context.request.get(app + "/cases/CASE-NO-SUCH-CASE")
            assert hidden is not None
            assert hidden.status == missing.status == 404
            expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
            assert hidden.text() == missing.text()
        context.close()


def test_a_user_in_no_mapped_group_is_told_they_will_find_nothing(
    page: Page, servers: dict[str, str]
) -> None:
    app = servers["app"]
    sign_in(page, app, "vic")
    expect(page.locator("#no-access")).to_contain_text("not in any group")
    page.get_by_role("link", name="Continue").click()
    search(page, "grandmother collect Amy from school")
    expect(page.locator(".app-result")).to_have_count(0)


def test_the_session_ends_after_its_configured_lifetime(
    page: Page, servers: dict[str, str]
) -> None:
    app = servers["short"]
    sign_in(page, app, "alice")
    expect(page.get_by_text("Signed in as")).to_contain_text("alice")
    time.sleep(SHORT_SESSION_S + 1)
    page.goto(app + "/?q=safety+plan")
    expect(page).to_have_url(re.compile(r"/sign-in\?next=.*&ended=1"))
    expect(page.locator("#notice")).to_contain_text("Your sign-in has ended")
    expect(page.get_by_role("button", name=f"Sign in with {PROVIDER_NAME}")).to_be_visible()


def test_declining_at_the_provider_is_a_clear_page(page: Page, servers: dict[str, str]) -> None:
    app = servers["app"]
    page.goto(app + "/")
    page.get_by_role("button", name=f"Sign in with {PROVIDER_NAME}").click()
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("heading", name="You have not been signed in")).to_be_visible()
    expect(page.get_by_text("Signed in as")).to_have_count(0)
    page.get_by_role("link", name="Sign in again").click()
    expect(page.get_by_role("button", name=f"Sign in with {PROVIDER_NAME}")).to_be_visible()


def test_a_replayed_callback_is_refused(page: Page, servers: dict[str, str]) -> None:
    """The provider's answer, opened a second time (the state is used up, the code too)."""
    app = servers["app"]
    callbacks: list[str] = []
    page.on(
        "request",
        lambda request: (
            callbacks.append(request.url) if "/sign-in/oidc/callback" in request.url else None
        ),
    )
    sign_in(page, app, "alice")
    expect(page.get_by_text("Signed in as")).to_contain_text("alice")
    assert callbacks
    answer = page.goto(callbacks[0])
    assert answer is not None
    assert answer.status == 400
    expect(page.get_by_role("heading", name="Your sign-in could not be completed")).to_be_visible()
    expect(page.get_by_text("Signed in as")).to_have_count(0)


def test_a_callback_with_another_state_is_refused(page: Page, servers: dict[str, str]) -> None:
    """An answer for another sign-in (a forged or swapped state) while this one is pending."""
    app = servers["app"]
    page.goto(app + "/")
    page.get_by_role("button", name=f"Sign in with {PROVIDER_NAME}").click()
    expect(page.get_by_role("heading", name="Sign in to the test provider")).to_be_visible()
    answer = page.goto(app + "/sign-in/oidc/callback?code=forged&state=not-the-state-sent")
    assert answer is not None
    assert answer.status == 400
    expect(page.get_by_role("heading", name="Your sign-in could not be completed")).to_be_visible()
    page.goto(app + "/")
    expect(page).to_have_url(re.compile(r"/sign-in\?next="))
