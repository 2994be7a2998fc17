"""The pages through the ASGI app, as a browser without JavaScript uses them."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import pytest
from fastapi.testclient import TestClient
from web_case_file import (
    ACCESS_CASES,
    AWKWARD_ID,
    SECRET,
    USERS,
    WEIGHT_QUERY,
    case_file,
    sign_in_as,
    web_settings,
)
from web_helpers import HTML, hidden_value, query_of, result_ids, result_links, tags

from app.auth import mint_token
from app.errors import AuditUnavailable
from app.main import create_app
from app.services import Services, build_services
from app.web import routes
from app.web.forms import PAGE_SIZE
from app.web.session import SESSION_COOKIE, SIGN_IN_COOKIE
from retrieval.embedding import Embedder
from retrieval.errors import AccessCheckError

PAGES = ["/", "/?q=safety+plan", "/records/SP-NEW", "/cases/CASE-7"]


def _set_cookie_headers(response: object) -> list[str]:
    headers = response.headers  # type: ignore[attr-defined]
    return [v for k, v in headers.multi_items() if k.lower() == "set-cookie"]


# -- signing in and out -----------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_every_page_sends_a_signed_out_user_to_sign_in(client: TestClient, path: str) -> None:
    response = client.get(path, headers=HTML)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=" + quote(path, safe="")
    assert "Safety plan" not in response.text


def test_an_invalid_or_expired_token_ends_the_session(client: TestClient) -> None:
    settings = web_settings(Path("/unused"))
    expired = mint_token(settings, "alice", ["team:north"], ttl_s=60)
    client.cookies.set(SESSION_COOKIE, expired + "tampered")
    response = client.get("/cases/CASE-7", headers=HTML)
    assert response.status_code == 303
    assert response.headers["location"].endswith("&ended=1")
    assert any(c.startswith(f'{SESSION_COOKIE}=""') for c in _set_cookie_headers(response))
    page = client.get(response.headers["location"])
    assert "Your sign-in has ended" in page.text


def test_sign_in_page_is_marked_for_development_and_offers_demo_users(
    client: TestClient,
) -> None:
    page = client.get("/sign-in")
    assert page.status_code == 200
    assert "For development only" in page.text
    assert "Development mode: anyone can sign in here as anyone" in page.text
    offered = [a["value"] for a in tags(page.text, "input") if a.get("name") == "user"]
    assert offered == [sub for sub, principals in USERS.items() if principals] + ["other"]
    cookie = next(c for c in _set_cookie_headers(page) if c.startswith(SIGN_IN_COOKIE))
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie


def test_sign_in_without_javascript_sets_a_strict_httponly_session_and_returns(
    client: TestClient, web_services: Services
) -> None:
    page = client.get("/sign-in", params={"next": "/cases/CASE-7"})
    response = client.post(
        "/sign-in",
        data={
            "csrf_token": hidden_value(page.text, "csrf_token"),
            "next": hidden_value(page.text, "next"),
            "user": "alice",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/cases/CASE-7"
    session = next(c for c in _set_cookie_headers(response) if c.startswith(SESSION_COOKIE))
    assert "HttpOnly" in session
    assert re.search(r"SameSite=strict", session, re.IGNORECASE)
    assert "Secure" not in session  # plain http in this test; see the https test
    case = client.get("/cases/CASE-7")
    assert case.status_code == 200
    assert "Signed in as <strong>alice</strong>" in case.text


def test_the_session_cookie_is_secure_over_https(web_services: Services) -> None:
    with TestClient(
        create_app(services=web_services), base_url="https://testserver", follow_redirects=False
    ) as secure:
        page = secure.get("/sign-in")
        response = secure.post(
            "/sign-in",
            data={"csrf_token": hidden_value(page.text, "csrf_token"), "user": "alice"},
        )
        assert response.status_code == 303
        session = next(c for c in _set_cookie_headers(response) if c.startswith(SESSION_COOKIE))
        assert "Secure" in session


def test_sign_in_post_without_its_csrf_token_is_refused(client: TestClient) -> None:
    client.get("/sign-in")
    for token in ("", "0" * 64):
        response = client.post("/sign-in", data={"csrf_token": token, "user": "alice"})
        assert response.status_code == 400
        assert "The sign-in form had expired" in response.text
        assert not any(c.startswith(SESSION_COOKIE) for c in _set_cookie_headers(response))


def test_a_csrf_token_is_bound_to_its_own_sign_in_cookie(client: TestClient) -> None:
    first = client.get("/sign-in")
    stolen = hidden_value(first.text, "csrf_token")
    client.cookies.clear()
    client.get("/sign-in")  # a different nonce in the cookie now
    response = client.post("/sign-in", data={"csrf_token": stolen, "user": "alice"})
    assert response.status_code == 400


def test_another_user_signs_in_with_typed_principals(client: TestClient) -> None:
    page = client.get("/sign-in")
    response = client.post(
        "/sign-in",
        data={
            "csrf_token": hidden_value(page.text, "csrf_token"),
            "user": "other",
            "user_id": "sw-9",
            "principals": "team:south, role:reader",
        },
    )
    assert response.status_code == 303
    search = client.get("/", params={"q": "cold home little food"})
    assert "HIDDEN-1" in result_ids(search.text)


def test_sign_in_form_errors_are_shown_and_nothing_is_signed_in(client: TestClient) -> None:
    page = client.get("/sign-in")
    response = client.post(
        "/sign-in",
        data={
            "csrf_token": hidden_value(page.text, "csrf_token"),
            "user": "other",
            "user_id": "<bad id>",
            "principals": "team:north <script>",
        },
    )
    assert response.status_code == 400
    assert "There is a problem" in response.text
    assert 'href="#user_id"' in response.text
    assert 'href="#principals"' in response.text
    assert "<script>" not in response.text
    assert not any(c.startswith(SESSION_COOKIE) for c in _set_cookie_headers(response))
    unknown = client.post(
        "/sign-in",
        data={"csrf_token": hidden_value(response.text, "csrf_token"), "user": "mallory"},
    )
    assert unknown.status_code == 400
    assert "Select who you are signing in as" in unknown.text


@pytest.mark.parametrize(
    "target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:x"]
)
def test_sign_in_never_redirects_to_another_site(client: TestClient, target: str) -> None:
    page = client.get("/sign-in", params={"next": target})
    assert hidden_value(page.text, "next") == "/"
    response = client.post(
        "/sign-in",
        data={"csrf_token": hidden_value(page.text, "csrf_token"), "next": target, "user": "bob"},
    )
    assert response.headers["location"] == "/"


def test_sign_out_needs_the_sessions_csrf_token(client: TestClient) -> None:
    settings = web_settings(Path("/unused"))
    token = sign_in_as(client, settings, "alice")
    refused = client.post("/sign-out", data={"csrf_token": "forged"})
    assert refused.status_code == 403
    assert "You have not been signed out" in refused.text
    assert not _set_cookie_headers(refused)
    page = client.get("/")
    csrf = hidden_value(page.text, "csrf_token")
    response = client.post("/sign-out", data={"csrf_token": csrf})
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?signed_out=1"
    assert any(c.startswith(f'{SESSION_COOKIE}=""') for c in _set_cookie_headers(response))
    # The token is the session: another session's page gives another token.
    other = mint_token(settings, "bob", ["team:north"])
    assert token != other
    client.cookies.set(SESSION_COOKIE, other)
    assert hidden_value(client.get("/").text, "csrf_token") != csrf


def test_a_proxy_may_sign_users_in_with_the_authorization_header(client: TestClient) -> None:
    token = mint_token(web_settings(Path("/unused")), "alice", ["team:north"])
    page = client.get("/cases/CASE-7", headers={"Authorization": f"Bearer {token}"})
    assert page.status_code == 200
    assert "Signed in as <strong>alice</strong>" in page.text


def test_rs256_mode_offers_no_development_sign_in(tmp_path: Path, embedder: Embedder) -> None:
    settings = web_settings(
        tmp_path,
        auth={"algorithm": "RS256", "jwks_url": "http://127.0.0.1:9/jwks.json"},
    )
    services = build_services(settings, embedder=embedder)
    try:
        with TestClient(create_app(services=services), follow_redirects=False) as client:
            page = client.get("/sign-in")
            assert page.status_code == 200
            assert "through your organisation" in page.text
            assert "Development mode" not in page.text
            assert not [a for a in tags(page.text, "input") if a.get("name") == "user"]
            posted = client.post("/sign-in", data={"user": "alice", "csrf_token": "x"})
            assert posted.status_code == 404
            assert not any(c.startswith(SESSION_COOKIE) for c in _set_cookie_headers(posted))
            # A token the identity provider's keys cannot check is never accepted: here the
            # keys cannot even be fetched, and the page fails closed without showing anything.
            hs256 = mint_token(web_settings(tmp_path / "hs"), "alice", ["team:north"])
            client.cookies.set(SESSION_COOKIE, hs256)
            closed = client.get("/cases/CASE-7", headers=HTML)
            assert closed.status_code == 503
            assert "CASE-7" not in closed.text
    finally:
        services.close()


# -- search -----------------------------------------------------------------------------------


@pytest.fixture
def alice(client: TestClient) -> TestClient:
    sign_in_as(client, web_settings(Path("/unused")), "alice")
    return client


def test_results_are_in_the_first_response_with_cited_highlighted_snippets(
    alice: TestClient, web_services: Services
) -> None:
    page = alice.get("/", params={"q": "supervise contact with dad"})
    assert page.status_code == 200
    ids = result_ids(page.text)
    assert "SP-OLD" in ids[:2]
    position = ids.index("SP-OLD")
    link = result_links(page.text)[position]
    params = query_of(link)
    assert link.endswith("#cited")
    assert re.fullmatch(r"[0-9a-f]{32}", params["search_id"][0])
    assert params["chunk"] == ["SP-OLD#0"]
    start, end = int(params["start"][0]), int(params["end"][0])
    record = web_services.store.document("SP-OLD")
    assert record is not None
    quotes = re.findall(r'<blockquote class="app-quote">(.*?)</blockquote>', page.text, re.S)
    assert len(quotes) == len(ids)
    assert re.sub(r"</?mark>", "", quotes[position]) == record.text[start:end]
    assert "<mark>supervise</mark>" in quotes[position]
    assert "Why this matched" in page.text
    assert "<details" in page.text
    assert "Safety plan" in page.text
    assert "10 January 2024" in page.text


def test_search_never_shows_what_the_user_may_not_see(client: TestClient) -> None:
    settings = web_settings(Path("/unused"))
    for sub, (query, record_id, visible) in ACCESS_CASES.items():
        sign_in_as(client, settings, sub)
        page = client.get("/", params={"q": query})
        assert page.status_code == 200
        assert (record_id in result_ids(page.text)) is visible, sub
        if not visible:
            assert record_id not in page.text
    sign_in_as(client, settings, "alice")
    page = client.get("/", params={"q": "Ocelot visit cold home"})
    assert "CASE-9" not in page.text
    assert "HIDDEN-1" not in page.text
    assert "little food in the cupboards" not in page.text


def test_the_case_selector_lists_only_cases_the_user_can_see(client: TestClient) -> None:
    settings = web_settings(Path("/unused"))
    for sub, expected in {"alice": ["CASE-7"], "sam": ["CASE-9"], "nobody": []}.items():
        sign_in_as(client, settings, sub)
        page = client.get("/")
        options = [a["value"] for a in tags(page.text, "option") if a.get("value")]
        assert sorted(set(options)) == expected, sub
    assert "There are no cases you can see" in client.get("/").text


def _normalised(html: str, *secrets: str) -> str:
    html = re.sub(r"search_id=[0-9a-f]+", "search_id=X", html)
    for value in secrets:
        html = html.replace(value, "CASE-X")
    return html


def test_searching_a_forbidden_case_looks_like_searching_an_unknown_one(alice: TestClient) -> None:
    hidden = alice.get("/", params={"q": "visit", "case_id": "CASE-9"})
    unknown = alice.get("/", params={"q": "visit", "case_id": "CASE-404"})
    assert hidden.status_code == unknown.status_code == 200
    assert result_ids(hidden.text) == []
    assert _normalised(hidden.text, "CASE-9") == _normalised(unknown.text, "CASE-404")


def test_filters_narrow_the_results(alice: TestClient) -> None:
    by_type = alice.get("/", params={"q": "Amy", "doc_type": "health_contact"})
    assert result_ids(by_type.text) == ["GP-1"]
    box = [a for a in tags(by_type.text, "input") if a.get("value") == "health_contact"]
    assert "checked" in box[0]
    dated = alice.get(
        "/",
        params={
            "q": "safety plan",
            "from_day": "1",
            "from_month": "4",
            "from_year": "2024",
            "to_day": "31",
            "to_month": "5",
            "to_year": "2024",
        },
    )
    ids = result_ids(dated.text)
    assert "SP-NEW" in ids
    assert "SP-OLD" not in ids


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q": ""}, "Enter what you are looking for"),
        ({"q": "x" * 1001}, "Search must be 1000 characters or fewer"),
        ({"q": "plan", "from_day": "31", "from_month": "2", "from_year": "2024"}, "real date"),
        ({"q": "plan", "from_day": "3", "from_year": "2024"}, "must include a month"),
        (
            {
                "q": "plan",
                "from_day": "2",
                "from_month": "2",
                "from_year": "2024",
                "to_day": "1",
                "to_month": "1",
                "to_year": "2024",
            },
            "Date to must be the same as or after date from",
        ),
    ],
)
def test_form_errors_are_summarised_and_nothing_is_searched(
    alice: TestClient, params: dict[str, str], message: str
) -> None:
    page = alice.get("/", params=params)
    assert page.status_code == 400
    assert "There is a problem" in page.text
    assert message in page.text
    assert "<title>Error:" in page.text
    assert result_ids(page.text) == []


def test_everything_shown_is_escaped(client: TestClient) -> None:
    sign_in_as(client, web_settings(Path("/unused")), "sam")
    page = client.get("/", params={"q": "<script>alert(1)</script> GP letter asthma"})
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt; GP letter" in page.text
    scripts = [a.get("src", "") for a in tags(page.text, "script")]
    assert all(src.startswith("/static/") for src in scripts)


def test_paging_moves_through_the_results(
    alice: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routes, "PAGE_SIZE", 2)
    monkeypatch.setattr("app.web.forms.PAGE_SIZE", 2)
    first = alice.get("/", params={"q": "Amy safety plan"})
    nexts = [a["href"] for a in tags(first.text, "a") if a.get("rel") == "next"]
    assert len(result_ids(first.text)) == 2
    assert nexts
    second = alice.get(nexts[0].replace("&amp;", "&"))
    assert "Showing 3 to" in second.text
    assert set(result_ids(second.text)).isdisjoint(result_ids(first.text))
    assert [a for a in tags(second.text, "a") if a.get("rel") == "prev"]


def test_the_results_page_weighs_at_most_150_kb(client: TestClient) -> None:
    sign_in_as(client, web_settings(Path("/unused")), "wendy")
    page = client.get("/", params={"q": WEIGHT_QUERY})
    assert len(result_ids(page.text)) == PAGE_SIZE  # a full page of long results
    assert page.text.count("<mark>") >= 5 * PAGE_SIZE
    assets = [a["href"] for a in tags(page.text, "link") if a.get("rel") == "stylesheet"]
    assets += [a["src"] for a in tags(page.text, "script") if a.get("src")]
    assert len(assets) == 2, "the page references its CSS and JS"
    fetched = {url: client.get(url) for url in assets}
    assert all(r.status_code == 200 for r in fetched.values())
    weights = {url: len(r.content) for url, r in fetched.items()}
    total = len(page.content) + sum(weights.values())
    assert total <= 150_000, (len(page.content), weights)
    # Nothing else to fetch: no fonts, images or imports referenced by the stylesheet.
    assert not re.search(r"url\(|@import", fetched[assets[0]].text)
    assert not [a for a in tags(page.text, "img")]


def test_pages_are_not_cached_framed_or_scripted_from_elsewhere(alice: TestClient) -> None:
    page = alice.get("/", params={"q": "Amy"})
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"


# -- record -----------------------------------------------------------------------------------


def test_opening_a_result_marks_the_cited_passage_and_records_time_to_find(
    alice: TestClient, web_services: Services
) -> None:
    results = alice.get("/", params={"q": "grandmother collect from school"})
    link = next(u for u in result_links(results.text) if u.startswith("/records/SP-NEW"))
    params = query_of(link)
    start, end = int(params["start"][0]), int(params["end"][0])
    page = alice.get(link.split("#")[0])
    assert page.status_code == 200
    record = web_services.store.document("SP-NEW")
    assert record is not None
    marked = re.search(r'<mark id="cited" tabindex="-1">(.*?)</mark>', page.text, re.S)
    assert marked is not None
    assert marked.group(1) == record.text[start:end]
    assert "Go to the passage quoted" in page.text
    assert "2 May 2024" in page.text
    assert 'href="/cases/CASE-7"' in page.text
    with web_services.store.snapshot() as conn:
        opens = conn.exec_driver_sql(
            "SELECT document_id FROM telemetry_opens WHERE search_id = ?",
            (params["search_id"][0],),
        ).all()
    assert [r[0] for r in opens] == ["SP-NEW"]


@pytest.mark.parametrize(
    ("start", "end"), [("20", "10"), ("0", "100000"), ("-1", "5"), ("a", "b"), ("5", None)]
)
def test_cited_offsets_are_checked_against_the_text(
    alice: TestClient, start: str, end: str | None
) -> None:
    params = {"start": start} | ({"end": end} if end is not None else {})
    page = alice.get("/records/SP-NEW", params=params)
    assert page.status_code == 200
    assert "<mark" not in page.text
    assert "could not be found in this version of the record" in page.text


def test_record_text_is_escaped_and_awkward_ids_round_trip(client: TestClient) -> None:
    sign_in_as(client, web_settings(Path("/unused")), "sam")
    case = client.get("/cases/CASE-9")
    href = next(a["href"] for a in tags(case.text, "a") if "letters" in a.get("href", ""))
    assert unquote(urlsplit(href).path) == f"/records/{AWKWARD_ID}"
    page = client.get(href)
    assert page.status_code == 200
    assert "practice &lt;b&gt;about&lt;/b&gt; Ben&#39;s asthma &amp; inhaler" in page.text
    assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt; GP letter" in case.text


@pytest.mark.parametrize(
    ("sub", "hidden"), [("alice", "SECRET-1"), ("bob", "DENIED-1"), ("alice", "HIDDEN-1")]
)
def test_a_forbidden_record_page_is_the_same_as_a_missing_one(
    client: TestClient, sub: str, hidden: str
) -> None:
    sign_in_as(client, web_settings(Path("/unused")), sub)
    forbidden = client.get(f"/records/{hidden}", params={"start": "0", "end": "5"})
    missing = client.get("/records/NO-SUCH-RECORD", params={"start": "0", "end": "5"})
    assert forbidden.status_code == missing.status_code == 404
    assert forbidden.text == missing.text
    assert dict(forbidden.headers) == dict(missing.headers)
    assert hidden not in forbidden.text


# -- case -------------------------------------------------------------------------------------


def test_case_page_lists_visible_records_newest_first_with_one_click_lookups(
    alice: TestClient,
) -> None:
    page = alice.get("/cases/CASE-7")
    assert page.status_code == 200
    dates = re.findall(r'<time datetime="([0-9-]+)">', page.text)
    assert dates == sorted(dates, reverse=True)
    visible = [r for r in case_file() if r.case_id == "CASE-7" and "team:north" in r.acl]
    assert len(dates) == len(visible) == 5
    assert f"{len(visible)} records" in page.text
    assert "SECRET-1" not in page.text
    assert "Restricted manager note" not in page.text
    links = re.findall(r'<ul class="app-quick-links" id="quick-links">(.*?)</ul>', page.text, re.S)
    hrefs = [a["href"] for a in tags(links[0], "a")]
    texts = re.findall(r">([^<]+)</a>", links[0])
    assert texts[:4] == [
        "Current safety plan",
        "Current plan (child protection or child in need)",
        "Latest GP contact",
        "Latest strategy discussion",
    ]
    for href in hrefs:
        assert query_of(href)["case_id"] == ["CASE-7"]
        results = alice.get(href)
        assert results.status_code == 200
        assert result_ids(results.text), href
    safety = alice.get(hrefs[0])
    assert set(result_ids(safety.text)[:2]) == {"SP-NEW", "SP-OLD"}
    gp = alice.get(hrefs[2])
    assert result_ids(gp.text)[0] == "GP-1"


def test_a_manager_sees_the_restricted_note_in_the_timeline(client: TestClient) -> None:
    sign_in_as(client, web_settings(Path("/unused")), "mo")
    page = client.get("/cases/CASE-7")
    assert "Restricted manager note" in page.text
    assert "6 records" in page.text


def test_case_timeline_filters_by_type(alice: TestClient) -> None:
    page = alice.get("/cases/CASE-7", params=[("type", "safety_plan"), ("type", "bogus")])
    assert page.status_code == 200
    assert "2 records of the chosen types" in page.text
    rows = re.findall(r'<td class="govuk-table__cell">([^<]+)</td>', page.text)
    assert set(rows) == {"Safety plan"}
    box = [a for a in tags(page.text, "input") if a.get("value") == "safety_plan"]
    assert "checked" in box[0]
    assert "Show all records" in page.text


@pytest.mark.parametrize(("sub", "case_id"), [("alice", "CASE-9"), ("nobody", "CASE-7")])
def test_a_case_without_visible_records_looks_like_an_unknown_case(
    client: TestClient, sub: str, case_id: str
) -> None:
    sign_in_as(client, web_settings(Path("/unused")), sub)
    hidden = client.get(f"/cases/{case_id}")
    unknown = client.get("/cases/CASE-404")
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.text == unknown.text
    assert case_id not in hidden.text


def test_the_open_case_form_goes_to_the_case_page(alice: TestClient) -> None:
    response = alice.get("/cases", params={"case_id": " CASE-7 "})
    assert response.status_code == 303
    assert response.headers["location"] == "/cases/CASE-7"
    nothing = alice.get("/cases", params={"case_id": ""})
    assert nothing.status_code == 400
    assert '<a href="#open-case">Select a case to open</a>' in nothing.text
    assert 'id="open-case-error"' in nothing.text


# -- errors -----------------------------------------------------------------------------------


def test_unknown_paths_get_a_page_in_a_browser_and_json_from_the_api(alice: TestClient) -> None:
    page = alice.get("/no/such/page", headers=HTML)
    assert page.status_code == 404
    assert "Page not found" in page.text
    assert page.headers["content-type"].startswith("text/html")
    api = alice.get("/v1/no-such-endpoint", headers=HTML)
    assert api.status_code == 404
    assert api.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    "failure",
    [AuditUnavailable("audit store is down at /var/secret/path"), AccessCheckError("acl boom")],
)
def test_a_failing_search_shows_a_fixed_message_and_nothing_else(
    web_services: Services, monkeypatch: pytest.MonkeyPatch, failure: Exception
) -> None:
    def broken(*_args: object, **_kwargs: object) -> object:
        raise failure

    monkeypatch.setattr(routes, "run_search", broken)
    # The server logs unexpected errors after answering; the test client would re-raise them.
    with TestClient(create_app(services=web_services), raise_server_exceptions=False) as client:
        sign_in_as(client, web_settings(Path("/unused")), "alice")
        page = client.get("/", params={"q": "safety plan"})
    assert page.status_code == 503
    assert "Sorry, there is a problem with the service" in page.text
    assert str(failure) not in page.text
    assert "Traceback" not in page.text
    assert page.headers["content-type"].startswith("text/html")


def test_too_many_requests_get_a_page_with_retry_after(tmp_path: Path, embedder: Embedder) -> None:
    settings = web_settings(tmp_path, limits={"rate_limit_per_minute": 2})
    services = build_services(settings, embedder=embedder)
    try:
        with TestClient(create_app(services=services), follow_redirects=False) as client:
            client.cookies.set(SESSION_COOKIE, mint_token(settings, "alice", ["team:north"]))
            statuses = [client.get("/").status_code for _ in range(3)]
            assert statuses == [200, 200, 429]
            page = client.get("/")
            assert "You have made too many requests" in page.text
            assert int(page.headers["retry-after"]) >= 1
    finally:
        services.close()


def test_the_secret_never_appears_in_a_page(alice: TestClient) -> None:
    for path in ["/", "/?q=Amy", "/records/SP-NEW", "/cases/CASE-7", "/sign-in", "/nope"]:
        assert SECRET not in alice.get(path, headers=HTML).text
