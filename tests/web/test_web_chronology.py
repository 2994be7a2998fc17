"""The chronology page (GET /cases/{case_id}/chronology) and its CSV, as a browser without
JavaScript uses them: reached from the case page, four practice columns, filters, print
stylesheet, and nothing from records the user may not see."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from html import unescape

import pytest
from factories import make_record
from fastapi.testclient import TestClient
from web_case_file import web_settings
from web_helpers import HTML, main_text, tags

from app.auth import mint_token
from app.main import create_app
from app.services import Services, build_services
from app.web.session import SESSION_COOKIE
from connectors.record import Record
from retrieval.embedding import Embedder

CASE = "CASE/7 B"  # a slash and a space: the URL must escape both
REFERRAL = "Concerns reported: Sam had a bruise on his arm that mum could not explain."
DECISION = (
    "Decision: Sam will be made subject to a child protection plan under the category of neglect."
)
POLICE = "+1 Police attended on 2 April after a 999 call; dad was arrested."
SECRET = "Sam went missing overnight and was found by police the next morning."


def _records() -> list[Record]:
    def record(id: str, doc_type: str, text: str, day: str, acl: str) -> Record:
        return make_record(
            id=id, case_id=CASE, doc_type=doc_type, text=text, created_at=day, acl=[acl]
        )

    return [
        record("W-REF", "referral", REFERRAL, "2024-03-01", "team:north"),
        record("W-ICPC", "icpc_minutes", DECISION, "2024-03-25", "team:north"),
        record("W-PPN", "police_notification", POLICE, "2024-04-03", "team:north"),
        record("W-SECRET", "case_note", SECRET, "2024-05-01", "team:managers"),
    ]


@pytest.fixture(scope="module")
def chronology_services(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[Services]:
    services = build_services(web_settings(tmp_path_factory.mktemp("chron")), embedder=embedder)
    services.indexer.apply(_records(), source="test")
    yield services
    services.close()


@pytest.fixture
def client(chronology_services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services=chronology_services), follow_redirects=False) as made:
        yield made


def _sign_in(client: TestClient, services: Services, *principals: str) -> None:
    client.cookies.set(SESSION_COOKIE, mint_token(services.settings, "amy", list(principals)))


URL = "/cases/CASE%2F7%20B/chronology"


def test_signed_out_users_are_sent_to_sign_in(client: TestClient) -> None:
    response = client.get(URL, headers=HTML)
    assert response.status_code in (302, 303)
    assert response.headers["location"].startswith("/sign-in")


def test_the_case_page_links_to_the_chronology(
    client: TestClient, chronology_services: Services
) -> None:
    _sign_in(client, chronology_services, "team:north")
    page = client.get("/cases/CASE%2F7%20B", headers=HTML)
    assert page.status_code == 200
    links = [a for a in tags(page.text, "a") if a.get("id") == "chronology-link"]
    assert [a["href"] for a in links] == [URL]


def test_the_table_has_the_practice_columns_and_quotes_each_event(
    client: TestClient, chronology_services: Services
) -> None:
    _sign_in(client, chronology_services, "team:north")
    page = client.get(URL, headers=HTML)
    assert page.status_code == 200
    html = unescape(page.text)
    for column in ("Date", "Event", "Source", "Significance"):
        assert f'<th scope="col" class="govuk-table__header">{column}</th>' in html
    text = main_text(page.text)
    assert REFERRAL in text
    assert DECISION in text
    assert POLICE in text
    assert SECRET not in text
    assert text.index(REFERRAL) < text.index(DECISION) < text.index(POLICE)
    assert "2 April 2024" in text  # the date the sentence states, not the record's
    hrefs = [a["href"] for a in tags(page.text, "a")]
    assert f"/records/W-ICPC?start=0&end={len(DECISION)}#cited" in hrefs
    sheets = [link for link in tags(page.text, "link") if link.get("media") == "print"]
    assert len(sheets) == 1
    assert sheets[0]["href"].startswith("/static/chronology-print.css")
    css = client.get(sheets[0]["href"])
    assert css.status_code == 200
    assert "app-no-print" in css.text


def test_filters_by_category_and_date(client: TestClient, chronology_services: Services) -> None:
    _sign_in(client, chronology_services, "team:north")
    only = main_text(client.get(URL, params={"category": "conference"}, headers=HTML).text)
    assert DECISION in only
    assert REFERRAL not in only
    april = main_text(
        client.get(
            URL,
            params={"from_day": "1", "from_month": "4", "from_year": "2024"},
            headers=HTML,
        ).text
    )
    assert POLICE in april
    assert DECISION not in april
    bad = client.get(URL, params={"from_day": "31", "from_month": "2", "from_year": "2024"})
    assert bad.status_code == 200
    assert "Date from must be a real date" in main_text(bad.text)


def test_csv_download_is_the_same_answer_and_formula_safe(
    client: TestClient, chronology_services: Services
) -> None:
    _sign_in(client, chronology_services, "team:north")
    page = client.get(URL, params={"category": "police"}, headers=HTML)
    link = next(a for a in tags(page.text, "a") if a.get("id") == "chronology-csv")
    assert link["href"] == "/cases/CASE%2F7%20B/chronology.csv?category=police"
    response = client.get(link["href"])
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][:4] == ["date", "precision", "date_source", "event"]
    assert [r[3] for r in rows[1:]] == ["'" + POLICE]


def test_a_case_with_nothing_visible_is_not_found(
    client: TestClient, chronology_services: Services
) -> None:
    _sign_in(client, chronology_services, "team:south")
    unseen = client.get(URL, headers=HTML)
    missing = client.get("/cases/NO-SUCH-CASE/chronology", headers=HTML)
    assert unseen.status_code == missing.status_code == 404
    _sign_in(client, chronology_services, "team:managers")
    managers = main_text(client.get(URL, headers=HTML).text)
    assert SECRET in managers
    assert REFERRAL not in managers
