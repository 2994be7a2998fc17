"""Children's names on the pages: result cards, the case heading, the case chooser, "Which
Ruth?" for a shared name, a bare name opening the child's case, and nothing from a child the
user may not see."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from typing import Any

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


def _child(pid: str, name: str) -> list[dict[str, Any]]:
    return [
        {"id": pid, "name": name, "role": "child"},
        {"id": pid + "-m", "name": "Kerry X", "role": "mother"},
    ]


def _records() -> list[Record]:
    def record(id: str, case: str, text: str, who: list[dict[str, Any]], acl: str) -> Record:
        return make_record(
            id=id,
            case_id=case,
            doc_type="safety_plan",
            title="Safety plan",
            text=text,
            subjects=who,
            acl=[acl],
        )

    return [
        record(
            "N-1",
            "CASE-1042",
            "Safety plan: Ruth stays with her gran.",
            _child("P-1", "Ruth Walker"),
            "team:north",
        ),
        record(
            "N-2",
            "CASE-2001",
            "Safety plan: Kai is not left alone.",
            _child("P-2", "Kai Campbell"),
            "team:north",
        ),
        record(
            "S-1",
            "CASE-3003",
            "Safety plan: Ruth has no contact with the neighbour.",
            _child("P-3", "Ruth Okafor"),
            "team:south",
        ),
        record(
            "N-3",
            "CASE-5005",
            "Safety plan: Ruby goes to her nan's after school.",
            _child("P-5", "Ruby Hill"),
            "team:north",
        ),
        record(
            "H-1",
            "CASE-4004",
            "Safety plan: Zara sleeps at her aunt's.",
            _child("P-4", "Zara Secret"),
            "team:west",
        ),
    ]


@pytest.fixture(scope="module")
def people_services(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[Services]:
    services = build_services(web_settings(tmp_path_factory.mktemp("ppl")), embedder=embedder)
    services.indexer.apply(_records(), source="test")
    yield services
    services.close()


@pytest.fixture
def client(people_services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services=people_services), follow_redirects=False) as made:
        yield made


def _sign_in(client: TestClient, services: Services, *principals: str) -> None:
    client.cookies.set(SESSION_COOKIE, mint_token(services.settings, "amy", list(principals)))


def test_a_result_card_names_the_child_and_the_search_is_scoped(
    client: TestClient, people_services: Services
) -> None:
    _sign_in(client, people_services, "team:north")
    page = client.get("/", params={"q": "Ruth's safety plan"}, headers=HTML)
    assert page.status_code == 200
    names = re.findall(r'<span class="app-result__names">([^<]*)</span>', page.text)
    assert names == ["Ruth Walker"]  # Kai's plan is not in Ruth's case; mothers not named
    text = unescape(main_text(page.text))
    assert "Searched the case of the child you named: Ruth Walker, CASE-1042" in text


def test_the_case_page_and_the_case_chooser_name_the_child(
    client: TestClient, people_services: Services
) -> None:
    _sign_in(client, people_services, "team:north")
    case = client.get("/cases/CASE-1042", headers=HTML)
    heading = [h for h in tags(case.text, "h1") if h.get("id") == "case-heading"]
    assert heading
    assert "Ruth Walker (CASE-1042)" in case.text
    search = client.get("/", headers=HTML)
    assert "Ruth Walker (CASE-1042)" in search.text
    assert "Kai Campbell (CASE-2001)" in search.text
    assert "Ruth Okafor" not in search.text  # another team's child


def test_two_visible_children_of_one_name_ask_which(
    client: TestClient, people_services: Services
) -> None:
    _sign_in(client, people_services, "team:north", "team:south")
    page = client.get("/", params={"q": "Ruth's safety plan"}, headers=HTML)
    assert page.status_code == 200
    text = unescape(page.text)
    assert "Which Ruth?" in text
    choices = [a["href"] for a in tags(page.text, "a") if "case_id=" in a.get("href", "")]
    assert any("case_id=CASE-1042" in href for href in choices)
    assert any("case_id=CASE-3003" in href for href in choices)


def test_a_bare_name_opens_the_childs_case(client: TestClient, people_services: Services) -> None:
    _sign_in(client, people_services, "team:north")
    response = client.get("/", params={"q": "Ruth Walker"}, headers=HTML)
    assert response.status_code in (302, 303)
    assert response.headers["location"] == "/cases/CASE-1042"
    misspelt = client.get("/", params={"q": "Ruht"}, headers=HTML)
    assert misspelt.headers.get("location") == "/cases/CASE-1042"


def test_a_hidden_childs_name_is_an_unknown_word(
    client: TestClient, people_services: Services
) -> None:
    _sign_in(client, people_services, "team:north")
    response = client.get("/", params={"q": "Zara"}, headers=HTML)
    assert response.status_code == 200  # searched, not opened
    text = unescape(main_text(response.text))
    assert "Zara Secret" not in text
    assert "CASE-4004" not in text
    assert "Which" not in text


def test_a_lower_case_name_that_is_also_a_word_is_offered_not_applied(
    client: TestClient, people_services: Services
) -> None:
    _sign_in(client, people_services, "team:north")
    page = client.get("/", params={"q": "safety plan for ruby"}, headers=HTML)
    assert page.status_code == 200  # searched, not opened: "ruby" is also a word
    text = unescape(main_text(page.text))
    assert "Which Ruby?" in text
    assert "Searched the case of the child you named" not in text
    choices = [a["href"] for a in tags(page.text, "a") if "case_id=" in a.get("href", "")]
    assert any("case_id=CASE-5005" in href for href in choices)
    cases = set(re.findall(r"CASE-\d{4}", text))
    assert {"CASE-1042", "CASE-5005"} <= cases  # the results come from every visible case
