"""OpenID Connect sign-in, in process: what the sign-in page offers, and the callback's refusals
that need no provider (the flow itself runs against a real provider in
``test_web_oidc_browser.py``). The provider configured here does not answer: its port is
closed, as when it is down."""

from __future__ import annotations

import dataclasses
import logging
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient
from web_case_file import sign_in_as, web_settings

from app.main import create_app
from app.services import Services
from app.web.oidc import PENDING_COOKIE
from app.web.session import SESSION_COOKIE

HTML = {"Accept": "text/html"}
CLIENT_SECRET = "a-client-secret-that-must-never-be-logged"


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def oidc_client(web_services: Services, tmp_path: Path) -> Iterator[TestClient]:
    """The page tests' server with OIDC configured (and development sign-in asked for too)."""
    settings = web_settings(
        tmp_path,
        dev_sign_in=True,
        oidc={
            "issuer": f"http://127.0.0.1:{_closed_port()}",
            "client_id": "casesearch",
            "client_secret": CLIENT_SECRET,
            "provider_name": "Council ID",
            "group_principals": {"grp-north": ["team:north"]},
            "timeout_s": 2,
        },
    )
    serving = dataclasses.replace(web_services, settings=settings)
    with TestClient(create_app(services=serving), follow_redirects=False) as client:
        yield client


def test_the_sign_in_page_offers_the_provider_and_no_development_form(
    oidc_client: TestClient,
) -> None:
    page = oidc_client.get("/sign-in?next=/cases/CASE-7")
    assert page.status_code == 200
    button = re.search(
        r'<a href="([^"]+)"[^>]*id="oidc-sign-in"[^>]*>\s*Sign in with Council ID', page.text
    )
    assert button is not None
    assert button.group(1) == "/sign-in/oidc?next=%2Fcases%2FCASE-7"
    assert 'name="principals"' not in page.text
    assert "Development mode" not in page.text
    # and the development form's post is refused although CASESEARCH_DEV_SIGN_IN is set
    posted = oidc_client.post(
        "/sign-in", data={"user_id": "eve", "principals": "role:qa"}, headers=HTML
    )
    assert posted.status_code == 404
    assert SESSION_COOKIE not in posted.cookies


def test_a_provider_that_cannot_be_reached_is_a_clear_page(
    oidc_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        page = oidc_client.get("/sign-in/oidc?next=/", headers=HTML)
    assert page.status_code == 503
    assert "Sign-in is not available at the moment" in page.text
    assert "Council ID could not be reached" in page.text
    assert "Traceback" not in page.text
    assert "Traceback" not in caplog.text
    assert CLIENT_SECRET not in caplog.text
    assert SESSION_COOKIE not in page.cookies


@pytest.mark.parametrize(
    "query",
    [
        "code=abc&state=xyz",  # no sign-in was started in this browser
        "state=xyz",
        "code=abc",
        "",
    ],
)
def test_a_callback_this_browser_did_not_start_is_refused(
    oidc_client: TestClient, query: str
) -> None:
    page = oidc_client.get(f"/sign-in/oidc/callback?{query}", headers=HTML)
    assert page.status_code == 400
    assert "Your sign-in could not be completed" in page.text
    assert "Sign in again" in page.text
    assert SESSION_COOKIE not in page.cookies


def test_a_forged_pending_sign_in_cookie_is_refused(oidc_client: TestClient) -> None:
    # signed with a key that is not the server's: as good as no cookie
    claims = {
        "aud": "casesearch:oidc-sign-in",
        "exp": 9_999_999_999,
        "state": "s",
        "nonce": "n",
        "verifier": "v",
        "redirect_uri": "http://x/cb",
        "next": "/",
    }
    forged = jwt.encode(claims, "another-secret-of-at-least-thirty-two-bytes", algorithm="HS256")
    oidc_client.cookies.set(PENDING_COOKIE, forged, path="/sign-in/oidc")
    page = oidc_client.get("/sign-in/oidc/callback?code=abc&state=s", headers=HTML)
    assert page.status_code == 400
    assert SESSION_COOKIE not in page.cookies


def test_a_declined_sign_in_says_so(oidc_client: TestClient) -> None:
    page = oidc_client.get(
        "/sign-in/oidc/callback?error=access_denied&error_description=no&state=s", headers=HTML
    )
    assert page.status_code == 403
    assert "You have not been signed in" in page.text
    assert "Council ID was cancelled" in page.text
    other = oidc_client.get("/sign-in/oidc/callback?error=server_error", headers=HTML)
    assert other.status_code == 400
    assert "server_error" not in other.text


def test_sign_out_with_the_provider_down_still_signs_out_here(
    oidc_client: TestClient, web_services: Services, tmp_path: Path
) -> None:
    settings = web_settings(tmp_path)
    sign_in_as(oidc_client, settings, "alice")
    page = oidc_client.get("/", headers=HTML)
    assert page.status_code == 200
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None
    out = oidc_client.post("/sign-out", data={"csrf_token": csrf.group(1)}, headers=HTML)
    assert out.status_code == 303
    assert out.headers["location"] == "/sign-in?signed_out=1"
    assert 'casesearch_session=""' in out.headers["set-cookie"]


def test_without_oidc_configured_its_pages_are_not_found(client: TestClient) -> None:
    assert client.get("/sign-in/oidc", headers=HTML).status_code == 404
    assert client.get("/sign-in/oidc/callback?code=a&state=b", headers=HTML).status_code == 404
