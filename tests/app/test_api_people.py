"""``subjects`` in the API: on search results and documents, and a child's name in a query
reported in ``query.people`` / ``query.scoped_to``."""

from __future__ import annotations

import pytest
from app_helpers import bearer
from factories import make_record
from fastapi.testclient import TestClient

from app.services import Services
from app.settings import Settings

pytestmark = pytest.mark.conformance

RUTH = {"id": "P-1", "name": "Ruth Walker", "role": "child", "dob": "2015-06-01"}


def _add_ruth(services: Services) -> None:
    record = make_record(
        id="RUTH-1",
        case_id="CASE-8",
        doc_type="safety_plan",
        title="Safety plan",
        text="Safety plan: Ruth stays with her grandmother at weekends.",
        acl=["team:north"],
        subjects=[RUTH, {"id": "P-2", "name": "Kerry Walker", "role": "mother"}],
    )
    services.indexer.apply([record], source="test")


def test_results_and_documents_carry_subjects(
    client: TestClient, services: Services, settings: Settings
) -> None:
    _add_ruth(services)
    headers = bearer(settings, "alice", "user:alice", "team:north")
    body = client.post("/v1/search", json={"query": "Ruth's safety plan"}, headers=headers).json()
    assert body["query"]["people"] == [{"id": "P-1", "name": "Ruth Walker", "case_ids": ["CASE-8"]}]
    assert body["query"]["scoped_to"] == "scoped to Ruth Walker, CASE-8"
    assert {r["case_id"] for r in body["results"]} == {"CASE-8"}
    first = body["results"][0]
    assert first["subjects"][0] == {
        "id": "P-1",
        "name": "Ruth Walker",
        "role": "child",
        "other_names": [],
        "dob": "2015-06-01",
    }
    doc = client.get("/v1/documents/RUTH-1", headers=headers).json()
    assert [s["role"] for s in doc["subjects"]] == ["child", "mother"]
    old = client.get("/v1/documents/OPEN-1", headers=headers).json()
    assert old["subjects"] == []


def test_a_child_the_caller_may_not_see_is_not_named(
    client: TestClient, services: Services, settings: Settings
) -> None:
    _add_ruth(services)
    headers = bearer(settings, "sam", "user:sam", "team:managers")
    body = client.post("/v1/search", json={"query": "Ruth's safety plan"}, headers=headers).json()
    assert "people" not in body["query"]
    assert all(r["subjects"] == [] for r in body["results"])
