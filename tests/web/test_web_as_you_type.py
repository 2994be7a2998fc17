"""Results as you type, server side: the search page's results region alone (``partial=1``).

The page's script asks for it while the user types; it must be the same search as a submitted
form in every way a user or an auditor would notice: same results, same rights, same audit
event and time-to-find, same answer for a forbidden case as for an unknown one.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from web_case_file import ACCESS_CASES, sign_in_as, web_settings
from web_helpers import HTML, hidden_value, query_of, result_ids, result_links, tags

from app.audit import AuditQuery
from app.auth import mint_token
from app.main import create_app
from app.services import Services, build_services
from app.web import routes
from app.web.session import SESSION_COOKIE
from retrieval.embedding import Embedder

REGION_START = '<div id="search-results"'


@pytest.fixture
def alice(client: TestClient) -> TestClient:
    sign_in_as(client, web_settings(Path("/unused")), "alice")
    return client


def _partial(client: TestClient, **params: str) -> str:
    response = client.get("/", params={**params, "partial": "1"})
    assert response.status_code == 200, response.text
    return response.text


def _region_of_page(html: str) -> str:
    """The results region as the full page includes it."""
    start = html.index(REGION_START)
    end = html.index('<div id="search-status"', start)
    return html[start:end].strip()


def _without_search_ids(html: str) -> str:
    return re.sub(r"search_id=[0-9a-f]+", "search_id=X", html)


def _searches(services: Services, subject: str) -> list[tuple[str | None, list[str], str]]:
    """(query, record ids, search id) of ``subject``'s audited searches, newest first."""
    page = services.audit.query(AuditQuery(action="search", subject=subject, limit=1000))
    return [(e.query, list(e.record_ids), str(e.detail["search_id"])) for e in page.events]


def test_the_partial_is_the_results_region_of_the_full_page_and_nothing_else(
    alice: TestClient,
) -> None:
    query = {"q": "current safety", "case_id": "CASE-7"}
    page = alice.get("/", params=query)
    response = alice.get("/", params={**query, "partial": "1"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    fragment = response.text.strip()
    assert fragment.startswith(REGION_START)
    assert _without_search_ids(fragment) == _without_search_ids(_region_of_page(page.text))
    assert result_ids(fragment) == result_ids(page.text)
    assert result_ids(fragment)[0] == "SP-NEW"
    # Only the region: no layout, no form, no script, no second copy of the user's name.
    for absent in ("<html", "<head", "<script", 'id="search-form"', "Signed in as", "<title"):
        assert absent not in fragment
    region = tags(fragment, "div")[0]
    assert region["data-title"] == "current safety – Search results – Case-record search"


def test_the_partial_is_sent_with_the_same_protective_headers_as_a_page(
    alice: TestClient,
) -> None:
    response = alice.get("/", params={"q": "Amy", "partial": "1"})
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-frame-options"] == "DENY"
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    # The page's own script fetches the partial; nothing else may be fetched.
    assert "connect-src 'self'" in policy
    assert "default-src 'none'" in policy


def test_a_partial_search_is_audited_and_counts_for_time_to_find(
    alice: TestClient, web_services: Services
) -> None:
    before = len(_searches(web_services, "alice"))
    fragment = _partial(alice, q="grandmother collect")
    searches = _searches(web_services, "alice")
    assert len(searches) == before + 1
    query, audited_ids, search_id = searches[0]
    assert query == "grandmother collect"
    assert audited_ids == result_ids(fragment)
    link = next(u for u in result_links(fragment) if u.startswith("/records/SP-NEW"))
    assert query_of(link)["search_id"] == [search_id]
    assert alice.get(link.split("#")[0]).status_code == 200
    with web_services.store.snapshot() as conn:
        opens = conn.exec_driver_sql(
            "SELECT document_id FROM telemetry_opens WHERE search_id = ?", (search_id,)
        ).all()
    assert [r[0] for r in opens] == ["SP-NEW"]


def test_the_partial_never_shows_what_the_user_may_not_see(client: TestClient) -> None:
    settings = web_settings(Path("/unused"))
    for sub, (query, record_id, visible) in ACCESS_CASES.items():
        sign_in_as(client, settings, sub)
        fragment = _partial(client, q=query)
        assert (record_id in result_ids(fragment)) is visible, sub
        if not visible:
            assert record_id not in fragment
    sign_in_as(client, settings, "alice")
    fragment = _partial(client, q="Ocelot visit cold home")
    for secret in ("CASE-9", "HIDDEN-1", "little food in the cupboards"):
        assert secret not in fragment


def test_a_forbidden_case_in_a_partial_looks_like_an_unknown_one(alice: TestClient) -> None:
    hidden = alice.get("/", params={"q": "visit", "case_id": "CASE-9", "partial": "1"})
    unknown = alice.get("/", params={"q": "visit", "case_id": "CASE-404", "partial": "1"})
    assert hidden.status_code == unknown.status_code == 200
    assert result_ids(hidden.text) == []
    assert "No records you can see match your search." in hidden.text

    def normalised(html: str, case_id: str) -> str:
        return _without_search_ids(html).replace(case_id, "CASE-X")

    assert normalised(hidden.text, "CASE-9") == normalised(unknown.text, "CASE-404")
    full = alice.get("/", params={"q": "visit", "case_id": "CASE-9"})
    assert normalised(hidden.text, "CASE-9").strip() == normalised(
        _region_of_page(full.text), "CASE-9"
    )


def test_a_partial_with_form_errors_answers_400_and_searches_nothing(
    alice: TestClient, web_services: Services
) -> None:
    before = len(_searches(web_services, "alice"))
    blank = alice.get("/", params={"q": "  ", "partial": "1"})
    bad_date = alice.get(
        "/",
        params={
            "q": "plan",
            "from_day": "31",
            "from_month": "2",
            "from_year": "2024",
            "partial": "1",
        },
    )
    assert blank.status_code == 400
    assert bad_date.status_code == 400
    assert result_ids(blank.text) == []
    assert len(_searches(web_services, "alice")) == before


def test_partial_is_never_carried_into_the_links_it_renders(
    alice: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routes, "PAGE_SIZE", 2)
    monkeypatch.setattr("app.web.forms.PAGE_SIZE", 2)
    fragment = _partial(alice, q="Amy safety plan", case_id="CASE-7")
    links = [a["href"] for a in tags(fragment, "a")]
    assert any(a.get("rel") == "next" for a in tags(fragment, "a"))
    assert links
    assert not [href for href in links if "partial" in href]


def test_a_signed_out_partial_gets_401_and_the_full_page_still_redirects(
    client: TestClient,
) -> None:
    signed_out = client.get("/", params={"q": "safety plan", "partial": "1"}, headers=HTML)
    assert signed_out.status_code == 401
    assert "location" not in signed_out.headers
    assert "Safety plan" not in signed_out.text
    settings = web_settings(Path("/unused"))
    client.cookies.set(SESSION_COOKIE, mint_token(settings, "alice", ["team:north"]) + "x")
    ended = client.get("/", params={"q": "safety plan", "partial": "1"})
    assert ended.status_code == 401
    assert "set-cookie" not in ended.headers  # the full page's redirect says it has ended
    page = client.get("/", params={"q": "safety plan"})
    assert page.status_code == 303
    assert page.headers["location"].endswith("&ended=1")


def test_partial_searches_share_the_users_rate_limit(tmp_path: Path, embedder: Embedder) -> None:
    settings = web_settings(tmp_path, limits={"rate_limit_per_minute": 2})
    services = build_services(settings, embedder=embedder)
    try:
        with TestClient(create_app(services=services), follow_redirects=False) as client:
            client.cookies.set(SESSION_COOKIE, mint_token(settings, "alice", ["team:north"]))
            statuses = [
                client.get("/", params={"q": "plan", "partial": "1"}).status_code,
                client.get("/", params={"q": "plan"}).status_code,
                client.get("/", params={"q": "plan", "partial": "1"}).status_code,
            ]
            assert statuses == [200, 200, 429]
    finally:
        services.close()


def test_the_search_page_has_a_polite_status_region_outside_the_results(
    alice: TestClient,
) -> None:
    page = alice.get("/", params={"q": "Amy"})
    status = [d for d in tags(page.text, "div") if d.get("id") == "search-status"]
    assert status == [
        {
            "id": "search-status",
            "class": "govuk-visually-hidden",
            "role": "status",
            "aria-live": "polite",
            "aria-atomic": "true",
        }
    ]
    region = _region_of_page(page.text)
    assert region.count("<div") == region.count("</div>")  # the status is not inside it


def _date_boxes(fragment: str) -> dict[str, dict[str, str]]:
    """What the region says the date boxes hold (``data-date-boxes``, read by the script)."""
    boxes: dict[str, dict[str, str]] = json.loads(tags(fragment, "div")[0]["data-date-boxes"])
    return boxes


def _box(
    day: str = "", month: str = "", year: str = "", read: str = "", label: str = ""
) -> dict[str, str]:
    return {"day": day, "month": month, "year": year, "read": read, "label": label}


def _typed(html: str, key: str) -> dict[str, str]:
    """The date boxes ``key`` of a full page, as ``_date_boxes`` gives them."""
    values = {a["name"]: a.get("value", "") for a in tags(html, "input") if "name" in a}
    return {part: values[f"{key}_{part}"] for part in ("day", "month", "year")}


def test_the_partial_fills_the_date_boxes_as_the_full_page_does(alice: TestClient) -> None:
    query = "safety plan since March 2024"
    boxes = _date_boxes(_partial(alice, q=query))
    assert boxes == {
        "from": _box("1", "3", "2024", read="2024-03-01", label="1 March 2024"),
        "to": _box(),
    }
    page = alice.get("/", params={"q": query})
    for key in ("from", "to"):
        assert _typed(page.text, key).items() <= boxes[key].items()
    assert hidden_value(page.text, "read_from") == "2024-03-01"

    # the phrase typed out, the boxes sent as the script filled them: they empty again
    filled = {"from_day": "1", "from_month": "3", "from_year": "2024", "read_from": "2024-03-01"}
    assert _date_boxes(_partial(alice, q="safety plan", **filled)) == {
        "from": _box(),
        "to": _box(),
    }
    # a date the user typed is theirs and stays; the phrase fills only the empty box
    own = {"from_day": "1", "from_month": "4", "from_year": "2024"}
    assert _date_boxes(_partial(alice, q="safety plan in 2024", **own)) == {
        "from": _box("1", "4", "2024", label="1 April 2024"),
        "to": _box("31", "12", "2024", read="2024-12-31", label="31 December 2024"),
    }
