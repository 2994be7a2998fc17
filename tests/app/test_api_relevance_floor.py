"""A query with no good match says so: no results and a total of 0, not a full page."""

from __future__ import annotations

from app_helpers import bearer
from fastapi.testclient import TestClient

from app.settings import Settings


def test_nonsense_finds_nothing_and_says_so(client: TestClient, settings: Settings) -> None:
    response = client.post(
        "/v1/search",
        json={"query": "xylophone trampoline zebra"},
        headers=bearer(settings, "alice", "team:north", "team:managers"),
    )
    assert response.status_code == 200
    assert response.json()["results"] == []
    assert response.json()["total"] == 0


def test_a_real_question_reports_its_total(client: TestClient, settings: Settings) -> None:
    body = client.post(
        "/v1/search",
        json={"query": "safety plan", "top_k": 1},
        headers=bearer(settings, "alice", "team:north"),
    ).json()
    assert len(body["results"]) == 1
    # alice (team:north) may see OPEN-1 and DENIED-1, not the managers' note
    assert body["total"] == 2
