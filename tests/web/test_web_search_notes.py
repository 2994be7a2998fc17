"""What the search did, said on the page; the record's way back and out; pages made for roles.

Through the ASGI app, as a browser without JavaScript uses the pages (issue 16, items 6 and 8).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from factories import make_record
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from web_case_file import sign_in_as, web_settings
from web_helpers import HTML, query_of, result_ids, result_links, tags

from app.auth import mint_token
from app.main import create_app
from app.services import Services, build_services
from app.web import present
from app.web.session import SESSION_COOKIE
from retrieval.embedding import Embedder


@pytest.fixture
def alice(client: TestClient) -> TestClient:
    sign_in_as(client, web_settings(Path("/unused")), "alice")
    return client


def _as(client: TestClient, user: str, *principals: str) -> TestClient:
    token = mint_token(web_settings(Path("/unused")), user, [f"user:{user}", *principals])
    client.cookies.set(SESSION_COOKIE, token)
    return client


def _text(html: str, element_id: str) -> str:
    """The text of the element with ``element_id`` (to its first closing tag of that kind)."""
    match = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>(.*?)</\1>', html, re.S)
    assert match is not None, f"no #{element_id}"
    return " ".join(unescape(re.sub(r"<[^>]+>", "", match.group(2))).split())


def _href(html: str, element_id: str) -> str:
    found: list[str] = [a["href"] for a in tags(html, "a") if a.get("id") == element_id]
    assert found, f"no link #{element_id}"
    return found[0]


def _input_values(html: str, prefix: str) -> tuple[str, str, str]:
    values = {a["name"]: a.get("value", "") for a in tags(html, "input") if "name" in a}
    return values[f"{prefix}_day"], values[f"{prefix}_month"], values[f"{prefix}_year"]


# -- item 6: say what the search did ----------------------------------------------------------


def test_a_corrected_spelling_is_said_with_a_link_to_search_the_exact_words(
    alice: TestClient,
) -> None:
    page = alice.get("/", params={"q": "saftey paln"}, headers=HTML)
    assert page.status_code == 200
    assert _text(page.text, "showing-for") == (
        "Showing results for safety plan (you typed saftey paln). Search for exactly what you typed"
    )
    assert {"SP-NEW", "SP-OLD"} <= set(result_ids(page.text))

    exact_url = _href(page.text, "exact-link")
    assert query_of(exact_url) == {"q": ["saftey paln"], "exact": ["1"]}
    exact = alice.get(exact_url, headers=HTML)
    assert exact.status_code == 200
    assert 'id="showing-for"' not in exact.text
    assert "Searched for exactly the words you typed" in _text(exact.text, "exact-words")
    # the misspelt words themselves are in no record: word matching finds none of the plans
    # that the corrected search put first
    assert result_ids(exact.text)[:2] != result_ids(page.text)[:2]
    # paging and record links keep the choice; a new search from the box does not
    assert all(query_of(link)["back"][0].endswith("exact=1") for link in result_links(exact.text))
    back = re.search(r'id="exact-words">.*?href="([^"]+)"', exact.text, re.S)
    assert back is not None
    assert query_of(unescape(back.group(1))) == {"q": ["saftey paln"]}


def test_added_wordings_are_named_once_above_the_results(alice: TestClient) -> None:
    page = alice.get("/", params={"q": "s47 enquiries"}, headers=HTML)
    notes = _text(page.text, "also-searched")
    assert notes.startswith("Also searched for other wordings: s47 as section 47 enquiry")
    assert notes.count("section 47 enquiry") == 1
    assert result_ids(page.text)[0] == "STRAT-1"
    exact = alice.get(_href(page.text, "exact-link"), headers=HTML)
    assert 'id="also-searched"' not in exact.text


def test_a_concern_read_from_the_query_is_said_with_how(alice: TestClient) -> None:
    page = alice.get("/", params={"q": "any signs of neglect"}, headers=HTML)
    assert _text(page.text, "read-as-concern").startswith(
        "Read as a question about neglect (named in your search): records that describe it"
    )
    exact = alice.get(_href(page.text, "exact-link"), headers=HTML)
    assert 'id="read-as-concern"' not in exact.text
    plain = alice.get("/", params={"q": "safety plan"}, headers=HTML)
    assert 'id="read-as-concern"' not in plain.text


@pytest.mark.parametrize(
    ("concepts", "by", "said"),
    [
        (["neglect"], "signs", "neglect (one of its signs is in your search)"),
        (["neglect"], "meaning", "neglect (read from its meaning)"),
        (
            ["parental_mental_health", "substance_misuse"],
            "name",
            "parental mental health and parental substance misuse (named in your search)",
        ),
        (["no_longer_in_the_library"], "name", "no_longer_in_the_library (named in your search)"),
        ([], "name", ""),
        (None, None, ""),
    ],
)
def test_how_a_concern_was_read_is_said_in_words(
    concepts: list[str] | None, by: str | None, said: str
) -> None:
    assert present.concern_read(concepts, by) == said


def test_a_date_phrase_fills_the_date_boxes_and_can_be_removed(alice: TestClient) -> None:
    page = alice.get("/", params={"q": "safety plan since March 2024"}, headers=HTML)
    assert page.status_code == 200
    assert _input_values(page.text, "from") == ("1", "3", "2024")
    assert _input_values(page.text, "to") == ("", "", "")
    assert _text(page.text, "date-filters") == (
        "Remove filter: since March 2024: from 1 March 2024×"
    )
    ids = result_ids(page.text)
    assert "SP-NEW" in ids
    assert "SP-OLD" not in ids  # 10 January 2024

    links = [a["href"] for a in tags(page.text, "a") if a.get("class") == "app-removable-filter"]
    assert len(links) == 1
    assert query_of(links[0]) == {"q": ["safety plan"]}
    removed = alice.get(links[0], headers=HTML)
    assert "SP-OLD" in result_ids(removed.text)
    assert 'id="date-filters"' not in removed.text
    assert _input_values(removed.text, "from") == ("", "", "")


def test_removing_a_date_phrase_also_drops_the_boxes_it_filled(alice: TestClient) -> None:
    # the boxes filled from the phrase, then submitted with "Apply filters" (a record type)
    params = {
        "q": "safety plan since March 2024",
        "doc_type": "safety_plan",
        "from_day": "1",
        "from_month": "3",
        "from_year": "2024",
    }
    page = alice.get("/", params=params, headers=HTML)
    links = [a["href"] for a in tags(page.text, "a") if a.get("class") == "app-removable-filter"]
    assert [dict(parse_qsl(urlsplit(link).query)) for link in links] == [
        {"q": "safety plan", "doc_type": "safety_plan"}
    ]


def _submitted(html: str, **changes: str) -> dict[str, str]:
    """What the search form sends when submitted with ``changes`` typed into it."""
    fields = {
        a["name"]: a.get("value", "")
        for a in tags(html, "input")
        if a.get("name")
        and a.get("type") != "checkbox"
        and (a.get("form") == "search-form" or a.get("type") in ("hidden", "search"))
    }
    fields.pop("csrf_token", None)
    return {**fields, **changes}


def test_editing_the_phrase_out_of_the_query_takes_its_dates_out_too(alice: TestClient) -> None:
    page = alice.get("/", params={"q": "safety plan since March 2024"}, headers=HTML)
    assert "SP-OLD" not in result_ids(page.text)
    sent = _submitted(page.text, q="safety plan")
    assert sent["read_from"] == "2024-03-01"
    assert (sent["from_day"], sent["from_month"], sent["from_year"]) == ("1", "3", "2024")
    edited = alice.get("/", params=sent, headers=HTML)
    assert "SP-OLD" in result_ids(edited.text)
    assert _input_values(edited.text, "from") == ("", "", "")

    # a date the user changed in the box is theirs: it filters on its own
    own = alice.get(
        "/", params=_submitted(page.text, q="safety plan", from_month="2"), headers=HTML
    )
    assert _input_values(own.text, "from") == ("1", "2", "2024")
    assert "SP-OLD" not in result_ids(own.text)
    assert "SP-NEW" in result_ids(own.text)


def test_boxes_the_user_filled_win_over_the_phrase_and_stay_as_typed(alice: TestClient) -> None:
    params = {"q": "safety plan in 2024", "from_day": "1", "from_month": "4", "from_year": "2024"}
    page = alice.get("/", params=params, headers=HTML)
    assert _input_values(page.text, "from") == ("1", "4", "2024")
    assert _input_values(page.text, "to") == ("31", "12", "2024")


@given(
    words=st.lists(
        st.text("abcdefgh", min_size=1, max_size=6), min_size=1, max_size=8, unique=True
    ),
    picks=st.lists(st.booleans(), min_size=8, max_size=8),
)
def test_corrections_replace_the_words_as_written_in_query_order(
    words: list[str], picks: list[bool]
) -> None:
    corrections = [[w, w.upper() + "X"] for w, pick in zip(words, picks, strict=False) if pick]
    expected = " ".join(
        w.upper() + "X" if pick else w for w, pick in zip(words, picks, strict=False)
    )
    assert present.corrected_query(" ".join(words), corrections) == expected
    assert present.corrected_query(" ".join(words), []) == " ".join(words)


# -- item 8: the record page ------------------------------------------------------------------


def test_back_to_results_returns_to_the_same_search(alice: TestClient) -> None:
    params = {"q": "safety plan", "doc_type": "safety_plan", "page": "1"}
    page = alice.get("/", params=params, headers=HTML)
    record = alice.get(result_links(page.text)[0], headers=HTML)
    back = _href(record.text, "back-to-results")
    assert back.startswith("/?")
    assert query_of(back) == {"q": ["safety plan"], "doc_type": ["safety_plan"]}
    assert result_ids(alice.get(back, headers=HTML).text) == result_ids(page.text)


@pytest.mark.parametrize(
    ("back", "expected"),
    [
        ("q=x&next=https://evil.example", "/?q=x&next=https%3A%2F%2Fevil.example"),
        ("q=//evil.example", "/?q=%2F%2Fevil.example"),
        ("next=/sign-out", None),  # not a search
        ("", None),
    ],
)
def test_back_to_results_only_ever_leads_to_the_search_page(
    alice: TestClient, back: str, expected: str | None
) -> None:
    record = alice.get("/records/SP-NEW", params={"back": back}, headers=HTML)
    assert record.status_code == 200
    links = [a["href"] for a in tags(record.text, "a") if a.get("id") == "back-to-results"]
    assert links == ([expected] if expected else [])


def test_a_record_opened_from_its_case_has_no_back_to_results(alice: TestClient) -> None:
    assert 'id="back-to-results"' not in alice.get("/records/SP-NEW", headers=HTML).text


SOURCES = {
    "S-HTTPS": "https://cms.example.org/records/42?tab=notes",
    "S-CMS": "cms://case/7/record/42",
    "S-JS": "javascript:alert(1)",
    "S-NONE": None,
}


@pytest.fixture(scope="module")
def source_services(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[dict[str, Services]]:
    made: dict[str, Services] = {}
    for name, pattern in (
        ("plain", None),
        ("pattern", "https://cms.example.org/open?uri={source_uri}&id={id}"),
    ):
        settings = web_settings(tmp_path_factory.mktemp(name), source_link_pattern=pattern)
        services = build_services(settings, embedder=embedder)
        services.indexer.apply(
            [
                make_record(id=i, case_id="CASE-S", source_uri=uri, acl=["team:north"])
                for i, uri in SOURCES.items()
            ],
            source="test",
        )
        made[name] = services
    yield made
    for services in made.values():
        services.close()


def _source_links(services: Services) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    with TestClient(create_app(services=services), follow_redirects=False) as client:
        _as(client, "alice", "team:north")
        for record_id in SOURCES:
            page = client.get(f"/records/{record_id}", headers=HTML)
            assert page.status_code == 200
            found = [a["href"] for a in tags(page.text, "a") if a.get("id") == "source-link"]
            out[record_id] = found[0] if found else None
    return out


def test_only_a_web_address_is_a_source_link_without_a_pattern(
    source_services: dict[str, Services],
) -> None:
    assert _source_links(source_services["plain"]) == {
        "S-HTTPS": SOURCES["S-HTTPS"],
        "S-CMS": None,
        "S-JS": None,
        "S-NONE": None,
    }


def test_a_configured_pattern_links_every_record_into_the_cms(
    source_services: dict[str, Services],
) -> None:
    links = _source_links(source_services["pattern"])
    assert links["S-CMS"] == (
        "https://cms.example.org/open?uri=cms%3A%2F%2Fcase%2F7%2Frecord%2F42&id=S-CMS"
    )
    assert links["S-JS"] == "https://cms.example.org/open?uri=javascript%3Aalert%281%29&id=S-JS"
    assert links["S-NONE"] is None  # the pattern needs a source address it does not have


@given(source=st.text(max_size=40), record_id=st.text(min_size=1, max_size=20))
def test_a_source_link_is_always_on_the_configured_host_or_a_web_address(
    source: str, record_id: str
) -> None:
    pattern = "https://cms.example.org/open?uri={source_uri}&id={id}"
    linked = present.source_link(pattern, source, record_id)
    assert linked is None or urlsplit(linked).netloc == "cms.example.org"
    plain = present.source_link(None, source, record_id)
    assert plain is None or urlsplit(plain).scheme in ("http", "https")


@pytest.mark.parametrize("pattern", ["javascript:alert('{id}')", "//cms.example.org/{id}", "{id}"])
def test_a_source_link_pattern_must_be_a_web_address(pattern: str) -> None:
    with pytest.raises(ValueError, match="SOURCE_LINK_PATTERN"):
        web_settings(Path("/unused"), source_link_pattern=pattern)


# -- item 8: open case, and pages made for a role ---------------------------------------------


def test_open_case_with_nothing_chosen_says_what_to_do(alice: TestClient) -> None:
    page = alice.get("/cases", params={"case_id": "  "}, headers=HTML)
    assert page.status_code == 400
    assert "<title>Error: Search case records" in page.text
    assert _text(page.text, "open-case-error") == "Error: Select a case to open"
    select = [a for a in tags(page.text, "select") if a.get("id") == "open-case"]
    assert "govuk-select--error" in select[0]["class"]
    assert select[0]["aria-describedby"] == "open-case-error"
    # only the chooser that was used is marked
    assert 'id="case_id-error"' not in page.text

    long = alice.get("/cases", params={"case_id": "C" * 300}, headers=HTML)
    assert long.status_code == 400
    assert _text(long.text, "open-case-error") == (
        "Error: Case reference must be 256 characters or fewer"
    )
    assert 'id="case_id-error"' not in long.text


@pytest.mark.parametrize(
    ("principals", "landing"),
    [
        (("role:auditor",), "/audit"),
        (("role:qa", "team:north"), "/time-to-find"),
        (("role:auditor", "role:qa"), "/audit"),
        (("team:north",), None),
    ],
)
def test_auditors_and_qa_officers_land_on_their_own_page(
    client: TestClient, principals: tuple[str, ...], landing: str | None
) -> None:
    _as(client, "someone", *principals)
    home = client.get("/", headers=HTML)
    if landing is None:
        assert home.status_code == 200
        assert 'href="/"' in home.text
        return
    assert home.status_code == 303
    assert home.headers["location"] == landing
    assert client.get(landing, headers=HTML).status_code == 200
    # the menu's search link still reaches the search page, and searching still works
    search = client.get("/search", headers=HTML)
    assert search.status_code == 200
    assert any(a.get("href") == "/search" for a in tags(search.text, "a"))
    assert client.get("/", params={"q": "safety plan"}, headers=HTML).status_code == 200


def test_the_time_to_find_dashboard_shows_searches_and_their_times(client: TestClient) -> None:
    _as(client, "ttf-user", "team:north")
    page = client.get("/", params={"q": "GP chest infection"}, headers=HTML)
    assert client.get(result_links(page.text)[0], headers=HTML).status_code == 200
    assert client.get("/time-to-find", headers=HTML).status_code == 403

    _as(client, "qa-officer", "role:qa")
    dashboard = client.get("/time-to-find", headers=HTML)
    assert dashboard.status_code == 200
    assert int(_text(dashboard.text, "ttf-opened")) >= 1
    assert int(_text(dashboard.text, "ttf-searches")) >= int(_text(dashboard.text, "ttf-opened"))
    assert re.fullmatch(r"[0-9.]+ seconds?", _text(dashboard.text, "ttf-median"))
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert re.search(rf'<rect [^>]*data-day="{today}"', dashboard.text)
    row = re.search(
        rf'<tr class="govuk-table__row" data-day="{today}">(.*?)</tr>', dashboard.text, re.S
    )
    assert row is not None
    day = dt.date.fromisoformat(today)
    assert f"{day.day} {present.MONTHS[day.month - 1][:3]} {day.year}" in row.group(1)
    assert 'aria-current="page">Time to find' in dashboard.text
