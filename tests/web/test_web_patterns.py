"""The pattern view (GET /patterns) and its CSV download, as a browser without JavaScript uses them.

A small file of its own (the page tests' case file has no neglect to find): a neglect case in
team north, one in team south whose quoted sentence starts like a spreadsheet formula, and a
north case where neglect is only ruled out.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from html import unescape
from urllib.parse import quote, unquote, urlsplit

import pytest
from factories import make_record
from fastapi.testclient import TestClient
from web_case_file import web_settings
from web_helpers import HTML, main_text, query_of, tags

from app.auth import mint_token
from app.csv_export import safe_cell
from app.main import create_app
from app.services import Services, build_services
from app.web.patterns import monthly_chart
from app.web.session import SESSION_COOKIE
from connectors.record import Record
from retrieval.embedding import Embedder

NEGLECT = (
    "There was no food in the house and the fridge was empty.",
    "Both children had untreated head lice and dirty clothes.",
    "The home conditions were poor with rubbish on the floor and no heating.",
)
FORMULA = '=HYPERLINK("http://evil.example") There was no food in the house at all.'
NORTH = ("team:north",)
SOUTH = ("team:south",)
BOTH = ("team:north", "team:south")


def _records() -> list[Record]:
    records = [
        make_record(
            id=f"N-{i}",
            case_id="CASE-N",
            text=text,
            acl=list(NORTH),
            created_at=f"2024-0{2 * i + 1}-05",  # January, March, May: April is empty
        )
        for i, text in enumerate(NEGLECT)
    ]
    south = (FORMULA, *NEGLECT[1:])
    records += [
        make_record(
            id=f"S-{i}",
            case_id="CASE-S",
            text=text,
            acl=list(SOUTH),
            created_at=f"2024-0{i + 1}-09",
        )
        for i, text in enumerate(south)
    ]
    records.append(
        make_record(
            id="C-1",
            case_id="CASE-C",
            text="There were no concerns about neglect at the visit.",
            acl=list(NORTH),
            created_at="2024-02-02",
        )
    )
    return records


@pytest.fixture(scope="module")
def pattern_services(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[Services]:
    services = build_services(web_settings(tmp_path_factory.mktemp("patterns")), embedder=embedder)
    services.indexer.apply(_records(), source="test")
    yield services
    services.close()


@pytest.fixture
def client(pattern_services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services=pattern_services), follow_redirects=False) as made:
        yield made


def _sign_in(client: TestClient, services: Services, sub: str, principals: tuple[str, ...]) -> str:
    token = mint_token(services.settings, sub, list(principals))
    client.cookies.set(SESSION_COOKIE, token)
    return token


def _api(client: TestClient, token: str, body: dict[str, object]) -> dict[str, object]:
    response = client.post("/v1/patterns", json=body, headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 200
    result: dict[str, object] = response.json()
    return result


def _summary(html: str) -> str:
    found = re.search(r'<p class="govuk-body-l" id="pattern-summary">(.*?)</p>', html, re.S)
    assert found is not None
    return re.sub(r"<[^>]+>", "", found.group(1))


def _case_ids(html: str) -> list[str]:
    return re.findall(r'<h4 class="govuk-heading-s app-result__title"><a [^>]*>([^<]+)</a>', html)


# -- signing in -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/patterns", "/patterns?category=neglect", "/patterns.csv"])
def test_a_signed_out_user_is_sent_to_sign_in(client: TestClient, path: str) -> None:
    response = client.get(path, headers=HTML)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=" + quote(path, safe="")


def test_the_empty_form_lists_the_librarys_categories_and_the_nav_links_here(
    client: TestClient, pattern_services: Services
) -> None:
    _sign_in(client, pattern_services, "alice", NORTH)
    page = client.get("/patterns")
    assert page.status_code == 200
    options = [a["value"] for a in tags(page.text, "option")]
    assert options[0] == ""
    assert "neglect" in options
    assert '<option value="neglect">Neglect</option>' in page.text
    assert 'href="/patterns" aria-current="page"' in page.text
    assert "pattern-summary" not in page.text
    assert "govuk-error-summary" not in page.text


# -- who sees what ----------------------------------------------------------------------------


@pytest.mark.parametrize("weak", [False, True])
def test_a_user_of_another_team_sees_nothing_of_a_restricted_case(
    client: TestClient, pattern_services: Services, weak: bool
) -> None:
    _sign_in(client, pattern_services, "alice", NORTH)
    page = client.get("/patterns", params={"category": "neglect", **({"all": "1"} if weak else {})})
    assert page.status_code == 200
    assert "CASE-N" in _case_ids(page.text)
    assert "CASE-S" not in page.text
    assert "S-0" not in page.text
    assert "HYPERLINK" not in page.text
    assert "team:south" not in page.text
    assert ">south<" not in page.text
    assert _summary(page.text).startswith("1 case, 3 records")
    # the months are north's only (January, March, May; April drawn as zero)
    months = re.findall(r'<tr class="govuk-table__row" data-month="([0-9-]+)">', page.text)
    assert months == ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05"]


def test_counts_match_the_api_for_the_same_user(
    client: TestClient, pattern_services: Services
) -> None:
    for sub, principals, cases in (
        ("alice", NORTH, ["CASE-N"]),
        ("sam", SOUTH, ["CASE-S"]),
        ("qa", BOTH, ["CASE-N", "CASE-S"]),
    ):
        token = _sign_in(client, pattern_services, sub, principals)
        api = _api(client, token, {"category": "neglect"})
        page = client.get("/patterns", params={"category": "neglect"})
        assert sorted(_case_ids(page.text)) == cases
        api_cases = api["cases"]
        assert isinstance(api_cases, list)
        assert _case_ids(page.text) == [c["case_id"] for c in api_cases]
        n_cases, n_records = api["total_cases"], api["total_records"]
        assert _summary(page.text).startswith(
            f"{n_cases} case{'' if n_cases == 1 else 's'}, {n_records} records"
        )
        for c in api_cases:
            facts = f"<span>{c['records']} records</span>"
            assert facts in page.text
            assert f"<span>{c['strong_records']} strong</span>" in page.text


def test_a_free_text_question_reads_like_the_category(
    client: TestClient, pattern_services: Services
) -> None:
    token = _sign_in(client, pattern_services, "alice", NORTH)
    page = client.get("/patterns", params={"q": "which cases show neglect?"})
    api = _api(client, token, {"query": "which cases show neglect?"})
    assert page.status_code == 200
    assert "Your question names: Neglect." in page.text
    api_cases = api["cases"]
    assert isinstance(api_cases, list)
    assert _case_ids(page.text) == [c["case_id"] for c in api_cases]


def test_a_question_naming_no_concern_says_how_it_was_read(
    client: TestClient, pattern_services: Services
) -> None:
    """ "children with head lice" names no concern; head lice is one of neglect's signs in
    the indicator library, so the pattern view reads it as search does, and says so."""
    token = _sign_in(client, pattern_services, "alice", NORTH)
    api = _api(client, token, {"query": "children with head lice"})
    assert api["categories"] == ["neglect"]
    assert api["categories_by"] in ("meaning", "signs")
    page = client.get("/patterns", params={"q": "children with head lice"})
    assert "Neglect." in main_text(page.text)
    assert "Your question names" not in page.text
    by_id = _api(client, token, {"category": "neglect"})
    assert by_id["categories_by"] == "category"


def test_evidence_is_quoted_verbatim_and_links_to_the_cited_sentence(
    client: TestClient, pattern_services: Services
) -> None:
    _sign_in(client, pattern_services, "alice", NORTH)
    page = client.get("/patterns", params={"category": "neglect"})
    quotes = [
        unescape(q)
        for q in re.findall(r'<blockquote class="app-quote">(.*?)</blockquote>', page.text)
    ]
    assert NEGLECT[0] in quotes
    links = [
        unescape(a["href"])
        for a in tags(page.text, "a")
        if a.get("href", "").startswith("/records/") and a["href"].endswith("#cited")
    ]
    assert links
    for link in links:
        document_id = unquote(urlsplit(link).path.removeprefix("/records/"))
        query = query_of(link)
        start, end = int(query["start"][0]), int(query["end"][0])
        record = client.get(link.removesuffix("#cited"))
        assert record.status_code == 200
        cited = re.search(r'<mark id="cited" tabindex="-1">(.*?)</mark>', record.text, re.S)
        assert cited is not None, document_id
        assert unescape(cited.group(1)) in quotes
        assert end - start == len(unescape(cited.group(1)))
    # how each sentence was read, as a tag
    assert '<strong class="govuk-tag govuk-tag--blue">Affirmed</strong>' in page.text


def test_a_ruled_out_mention_is_set_apart_and_not_counted(
    client: TestClient, pattern_services: Services
) -> None:
    _sign_in(client, pattern_services, "alice", NORTH)
    page = client.get("/patterns", params={"category": "neglect", "all": "1"})
    text = main_text(page.text)
    assert "Mentions set apart (not counted)" in text
    set_apart = text[text.index('id="set-apart-heading"') :]
    assert "There were no concerns about neglect at the visit." in set_apart
    assert "Negated</strong>" in set_apart
    assert "CASE-C" not in _case_ids(page.text)


def test_the_threshold_is_explained_with_the_finders_own_numbers(
    client: TestClient, pattern_services: Services
) -> None:
    _sign_in(client, pattern_services, "alice", NORTH)
    page = client.get("/patterns", params={"category": "neglect"})
    finder = pattern_services.patterns
    assert (
        f"at least {finder.min_strong_records} of its records are strong matches, and those are "
        f"at least {finder.min_strong_share * 100:g}% of the case's records you can see"
    ) in page.text
    assert "Include weaker matches" in page.text


# -- chart ------------------------------------------------------------------------------------


def test_the_chart_has_an_accessible_name_and_the_table_the_same_numbers(
    client: TestClient, pattern_services: Services
) -> None:
    token = _sign_in(client, pattern_services, "qa", BOTH)
    page = client.get("/patterns", params={"category": "neglect"})
    svg = tags(page.text, "svg")
    assert len(svg) == 1
    assert svg[0]["role"] == "img"
    labelled_by = svg[0]["aria-labelledby"].split()
    title = re.search(r'<title id="([^"]+)">([^<]+)</title>', page.text)
    assert title is not None
    assert title.group(1) in labelled_by
    assert "per month" in title.group(2)
    assert "January 2024 to May 2024" in title.group(2)
    bars = {a["data-month"]: int(a["data-records"]) for a in tags(page.text, "rect")}
    rows = dict(
        re.findall(
            r'data-month="([0-9-]+)">\s*<th scope="row" class="govuk-table__header">[^<]+</th>\s*'
            r'<td class="govuk-table__cell govuk-table__cell--numeric">([0-9]+)</td>',
            page.text,
        )
    )
    assert {m: int(n) for m, n in rows.items()} == bars
    api = _api(client, token, {"category": "neglect"})
    histogram = api["histogram"]
    assert isinstance(histogram, list)
    assert {h["month"]: h["records"] for h in histogram} == {m: n for m, n in bars.items() if n}
    assert sum(bars.values()) == api["total_records"]


def test_the_chart_draws_empty_months_as_zero_and_scales_to_the_busiest() -> None:
    chart = monthly_chart((("2023-11", 2), ("2024-02", 4)))
    assert chart is not None
    assert [(b.month, b.records) for b in chart.bars] == [
        ("2023-11", 2),
        ("2023-12", 0),
        ("2024-01", 0),
        ("2024-02", 4),
    ]
    tallest = max(b.height for b in chart.bars)
    assert chart.bars[3].height == tallest == 2 * chart.bars[0].height
    assert chart.bars[3].y + chart.bars[3].height == chart.baseline
    assert monthly_chart(()) is None


# -- CSV --------------------------------------------------------------------------------------


def _csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_the_cases_csv_has_one_row_per_case_through_the_audited_action(
    client: TestClient, pattern_services: Services
) -> None:
    token = _sign_in(client, pattern_services, "qa", BOTH)
    response = client.get("/patterns.csv", params={"category": "neglect"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["cache-control"] == "no-store"
    rows = _csv_rows(response.text)
    assert rows[0] == ["case_id", "records", "strong_records", "first", "last"]
    api = _api(client, token, {"category": "neglect"})
    api_cases = api["cases"]
    assert isinstance(api_cases, list)
    assert rows[1:] == [
        [c["case_id"], str(c["records"]), str(c["strong_records"]), c["first"], c["last"]]
        for c in api_cases
    ]
    audit = client.get(
        "/v1/audit",
        params={"subject": "qa"},
        headers={
            "authorization": "Bearer "
            + mint_token(pattern_services.settings, "aud", ["role:auditor"])
        },
    ).json()
    assert len([e for e in audit["events"] if e["action"] == "patterns"]) >= 2


def test_the_evidence_csv_escapes_a_formula_like_cell(
    client: TestClient, pattern_services: Services
) -> None:
    _sign_in(client, pattern_services, "sam", SOUTH)
    response = client.get("/patterns.csv", params={"category": "neglect", "rows": "evidence"})
    assert response.status_code == 200
    assert "evidence" in response.headers["content-disposition"]
    rows = _csv_rows(response.text)
    header = rows[0]
    assert header[:3] == ["case_id", "document_id", "date"]
    quotes = [row[header.index("quote")] for row in rows[1:]]
    assert "'" + FORMULA in quotes
    assert not any(q.startswith(("=", "+", "-", "@")) for row in rows for q in row)
    assert {row[0] for row in rows[1:]} == {"CASE-S"}


def test_a_formula_like_cell_gets_a_leading_apostrophe() -> None:
    assert [safe_cell(v) for v in ("=1+1", "+44 1", "-3", "@SUM(A1)", "\tx", "a=b", 7, None)] == [
        "'=1+1",
        "'+44 1",
        "'-3",
        "'@SUM(A1)",
        "'\tx",
        "a=b",
        "7",
        "",
    ]


def test_the_csv_links_on_the_page_ask_the_same_question(
    client: TestClient, pattern_services: Services
) -> None:
    _sign_in(client, pattern_services, "alice", NORTH)
    params = {
        "category": "neglect",
        "from_day": "1",
        "from_month": "2",
        "from_year": "2024",
        "all": "1",
    }
    page = client.get("/patterns", params=params)
    link = next(unescape(a["href"]) for a in tags(page.text, "a") if a.get("id") == "csv-cases")
    assert {k: v[0] for k, v in query_of(link).items()} == params
    rows = _csv_rows(client.get(link).text)
    # from February: N-0 (January) is left out, so CASE-N has 2 records
    assert rows[1][:2] == ["CASE-N", "2"]


# -- mistakes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"category": "no-such-thing"}, "category", "Choose a concern from the list"),
        (
            {"category": "", "q": ""},
            "category",
            "Choose a concern from the list or type a question",
        ),
        ({"q": "   "}, "category", "Choose a concern from the list or type a question"),
        ({"category": "neglect", "q": "neglect"}, "q", "not both"),
        (
            {"category": "neglect", "from_day": "31", "from_month": "2", "from_year": "2024"},
            "from_day",
            "Date from must be a real date",
        ),
    ],
)
def test_mistakes_are_shown_in_an_error_summary(
    client: TestClient,
    pattern_services: Services,
    params: dict[str, str],
    field: str,
    message: str,
) -> None:
    _sign_in(client, pattern_services, "alice", NORTH)
    for path in ("/patterns", "/patterns.csv"):
        page = client.get(path, params=params)
        assert page.status_code == 400
        assert page.headers["content-type"].startswith("text/html")
        assert 'class="govuk-error-summary"' in page.text
        assert f'href="#{field}"' in page.text
        assert message in page.text
        assert "Traceback" not in page.text
        assert page.text.count("<title>Error: ") == 1


def test_the_form_is_filled_again_with_what_was_asked(
    client: TestClient, pattern_services: Services
) -> None:
    _sign_in(client, pattern_services, "alice", NORTH)
    page = client.get(
        "/patterns",
        params={
            "category": "neglect",
            "all": "1",
            "to_day": "1",
            "to_month": "6",
            "to_year": "2024",
        },
    )
    assert '<option value="neglect" selected>Neglect</option>' in page.text
    checked = [a for a in tags(page.text, "input") if a.get("name") == "all"]
    assert "checked" in checked[0]
    values = {a["name"]: a.get("value", "") for a in tags(page.text, "input") if a.get("name")}
    assert (values["to_day"], values["to_month"], values["to_year"]) == ("1", "6", "2024")
