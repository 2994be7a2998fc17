"""POST /v1/patterns: cases that show a concern, over the caller's records only, audited."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from app_helpers import bearer
from factories import make_record
from fastapi.testclient import TestClient

from app.main import create_app
from app.services import Services, build_services
from app.settings import Settings
from retrieval.embedding import Embedder

pytestmark = pytest.mark.conformance

NEGLECT = (
    "There was no food in the house and the fridge was empty.",
    "Both children had untreated head lice and dirty clothes.",
    "The home conditions were poor with rubbish on the floor and no heating.",
)


@pytest.fixture
def neglect_client(settings: Settings, embedder: Embedder) -> Iterator[TestClient]:
    """Two neglect cases, one per team, and a case where neglect is only ruled out."""
    services: Services = build_services(settings, embedder=embedder)
    records = []
    for case, team in (("CASE-N", "team:north"), ("CASE-S", "team:south")):
        records += [
            make_record(
                id=f"{case}-{i}", case_id=case, text=t, acl=[team], created_at=f"2024-0{i + 1}-05"
            )
            for i, t in enumerate(NEGLECT)
        ]
    records.append(
        make_record(
            id="CASE-C-1",
            case_id="CASE-C",
            text="There were no concerns about neglect at the visit.",
            acl=["team:north"],
        )
    )
    services.indexer.apply(records, source="test")
    with TestClient(create_app(services=services)) as client:
        yield client
    services.close()


def test_a_team_sees_only_its_own_cases_counted(
    neglect_client: TestClient, settings: Settings
) -> None:
    response = neglect_client.post(
        "/v1/patterns",
        json={"category": "neglect"},
        headers=bearer(settings, "amy", "team:north"),
    )
    assert response.status_code == 200
    body = response.json()
    assert [c["case_id"] for c in body["cases"]] == ["CASE-N"]
    assert (body["total_cases"], body["total_records"]) == (1, 3)
    assert sum(m["records"] for m in body["histogram"]) == 3
    assert body["teams"] == [{"team": "team:north", "records": 3}]
    assert "CASE-S" not in response.text
    assert [e["assertion"] for e in body["set_apart"]] == ["negated"]
    for evidence in body["cases"][0]["evidence"]:
        citation = evidence["citation"]
        doc = neglect_client.get(
            f"/v1/documents/{evidence['document_id']}",
            headers=bearer(settings, "amy", "team:north"),
        ).json()
        assert doc["text"][citation["char_start"] : citation["char_end"]] == evidence["snippet"]
    assert response.headers["cache-control"].startswith("no-store")


def test_a_qa_officer_seeing_both_teams_gets_both_cases(
    neglect_client: TestClient, settings: Settings
) -> None:
    body = neglect_client.post(
        "/v1/patterns",
        json={"query": "which cases show neglect?"},
        headers=bearer(settings, "qa", "team:north", "team:south"),
    ).json()
    assert body["categories"] == ["neglect"]
    assert {c["case_id"] for c in body["cases"]} == {"CASE-N", "CASE-S"}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"category": "no-such-thing"}, 422),
        ({"category": "neglect", "query": "neglect"}, 422),
        ({}, 422),
        ({"category": "neglect", "all": "yes"}, 422),
    ],
)
def test_caller_mistakes_are_4xx(
    neglect_client: TestClient, settings: Settings, body: dict[str, object], status: int
) -> None:
    response = neglect_client.post(
        "/v1/patterns", json=body, headers=bearer(settings, "amy", "team:north")
    )
    assert response.status_code == status
    assert set(response.json()["error"]) == {"code", "message"}


def test_patterns_need_a_token_before_the_body_is_read(neglect_client: TestClient) -> None:
    response = neglect_client.post("/v1/patterns", json={"category": 5})
    assert response.status_code == 401


def test_every_pattern_question_is_audited(neglect_client: TestClient, settings: Settings) -> None:
    neglect_client.post(
        "/v1/patterns", json={"category": "neglect"}, headers=bearer(settings, "amy", "team:north")
    )
    audit = neglect_client.get(
        "/v1/audit", params={"subject": "amy"}, headers=bearer(settings, "aud", "role:auditor")
    ).json()
    events = [e for e in audit["events"] if e["action"] == "patterns"]
    assert len(events) == 1
    assert events[0]["case_ids"] == ["CASE-N"]
