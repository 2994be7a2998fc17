"""The audit log page for auditors: "who looked at this child's records?" by name or person id,
"Which child?" for a shared name, CSV of the same events, and no page for anyone else."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from html import unescape
from typing import Any

import pytest
from factories import make_record
from fastapi.testclient import TestClient
from web_case_file import web_settings
from web_helpers import HTML, hidden_value, tags

from app.auth import mint_token
from app.main import create_app
from app.services import Services, build_services
from app.web.session import SESSION_COOKIE
from connectors.record import Record
from retrieval.embedding import Embedder


def _record(id: str, case: str, pid: str, name: str, text: str) -> Record:
    subjects: list[dict[str, Any]] = [{"id": pid, "name": name, "role": "child"}]
    return make_record(
        id=id, case_id=case, doc_type="case_note", text=text, subjects=subjects, acl=["team:north"]
    )


@pytest.fixture(scope="module")
def audit_services(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[Services]:
    services = build_services(web_settings(tmp_path_factory.mktemp("audit")), embedder=embedder)
    services.indexer.apply(
        [
            _record("R-1", "CASE-1", "P-1", "Ruth Walker", "Ruth's safety plan was agreed."),
            _record("R-2", "CASE-2", "P-2", "Kai Campbell", "Kai was seen at school today."),
            _record("R-3", "CASE-3", "P-3", "Ruth Okafor", "Home visit: Ruth was well."),
        ],
        source="test",
    )
    yield services
    services.close()


@pytest.fixture
def client(audit_services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services=audit_services), follow_redirects=False) as made:
        yield made


def _as(client: TestClient, services: Services, user: str, *principals: str) -> None:
    client.cookies.set(SESSION_COOKIE, mint_token(services.settings, user, list(principals)))


def _rows(html: str) -> list[str]:
    body = html.split('id="audit-events"', 1)[1].split("</table>", 1)[0]
    return [
        " ".join(unescape(re.sub(r"<[^>]+>", " ", row)).split()) for row in body.split("<tr")[2:]
    ]


def test_an_auditor_finds_who_opened_a_childs_record_by_name(
    client: TestClient, audit_services: Services
) -> None:
    _as(client, audit_services, "sam", "team:north")
    assert client.get("/records/R-1", headers=HTML).status_code == 200
    assert client.get("/records/R-2", headers=HTML).status_code == 200

    _as(client, audit_services, "dpo", "role:auditor")
    page = client.get("/audit", params={"person": "Ruth Walker"}, headers=HTML)
    assert page.status_code == 200
    assert "Events about Ruth Walker (P-1)" in unescape(page.text)
    rows = _rows(page.text)
    assert any("sam" in r and "Opened a record" in r and "R-1" in r for r in rows)
    assert not any("R-2" in r for r in rows)  # Kai's record is not about Ruth


def test_a_misspelt_name_still_finds_the_child(
    client: TestClient, audit_services: Services
) -> None:
    _as(client, audit_services, "dpo", "role:auditor")
    page = client.get("/audit", params={"person": "Kia Campbel"}, headers=HTML)
    assert page.status_code == 200
    assert "Events about Kai Campbell (P-2)" in unescape(page.text)


def test_a_shared_name_asks_which_child(client: TestClient, audit_services: Services) -> None:
    _as(client, audit_services, "dpo", "role:auditor")
    page = client.get("/audit", params={"person": "Ruth"}, headers=HTML)
    assert "Which child?" in page.text
    links = [a["href"] for a in tags(page.text, "a") if "person=P-" in a.get("href", "")]
    assert sorted(link.split("person=")[1].split("&")[0] for link in links) == ["P-1", "P-3"]


def test_an_unknown_name_is_a_form_error(client: TestClient, audit_services: Services) -> None:
    _as(client, audit_services, "dpo", "role:auditor")
    page = client.get("/audit", params={"person": "Nobody Atall"}, headers=HTML)
    assert page.status_code == 400
    assert "No child has that name or person id" in page.text


def test_the_csv_holds_the_same_events_and_escapes_formulas(
    client: TestClient, audit_services: Services
) -> None:
    _as(client, audit_services, "=cmd|calc", "team:north")
    assert client.get("/records/R-3", headers=HTML).status_code == 200
    _as(client, audit_services, "dpo", "role:auditor")
    response = client.get("/audit.csv", params={"person": "P-3"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    opened = [r for r in rows if r["action"] == "view"]
    assert [r["record_ids"] for r in opened] == ["R-3"]
    assert opened[0]["user"] == "'=cmd|calc"  # a spreadsheet must not run it
    assert all("P-3" in r["person_ids"].split() for r in rows)


def test_reading_the_log_is_itself_logged(client: TestClient, audit_services: Services) -> None:
    _as(client, audit_services, "dpo2", "role:auditor")
    client.get("/audit", params={"person": "P-2"}, headers=HTML)
    page = client.get("/audit", params={"user": "dpo2"}, headers=HTML)
    rows = _rows(page.text)
    assert rows
    assert all("Read the audit log" in r for r in rows)


def test_only_auditors_see_the_page_or_its_link(
    client: TestClient, audit_services: Services
) -> None:
    _as(client, audit_services, "sam", "team:north", "role:qa")
    assert client.get("/audit", params={"person": "Ruth"}, headers=HTML).status_code == 403
    assert client.get("/audit.csv", params={"person": "P-1"}).status_code == 403
    assert 'href="/audit"' not in client.get("/search", headers=HTML).text
    _as(client, audit_services, "dpo", "role:auditor")
    assert 'href="/audit"' in client.get("/search", headers=HTML).text


def test_signing_in_and_out_are_in_the_log(client: TestClient, audit_services: Services) -> None:
    page = client.get("/sign-in")
    form = {"csrf_token": hidden_value(page.text, "csrf_token"), "user": "other"}
    form |= {"user_id": "kim", "principals": "team:north"}
    assert client.post("/sign-in", data=form).status_code == 303
    home = client.get("/", headers=HTML)
    out = client.post("/sign-out", data={"csrf_token": hidden_value(home.text, "csrf_token")})
    assert out.status_code == 303

    _as(client, audit_services, "dpo", "role:auditor")
    rows = _rows(client.get("/audit", params={"user": "kim"}, headers=HTML).text)
    assert len(rows) == 2
    assert "Signed out" in rows[0]  # newest first
    assert "Signed in" in rows[1]
    assert "method: development" in rows[1]
