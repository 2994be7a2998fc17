"""Time-to-find: opens are tied to the searcher's own search and summarised per day."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from app_helpers import bearer
from fastapi.testclient import TestClient

from app.services import Services
from app.settings import Settings

pytestmark = pytest.mark.conformance


def _search(client: TestClient, settings: Settings, who: str) -> dict[str, Any]:
    response = client.post(
        "/v1/search", json={"query": "safety plan"}, headers=bearer(settings, who, "team:north")
    )
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_an_open_records_seconds_since_the_search_and_the_rank(
    client: TestClient, settings: Settings
) -> None:
    found = _search(client, settings, "alice")
    second = found["results"][1]["document_id"]
    response = client.post(
        "/v1/events/open",
        json={"search_id": found["search_id"], "document_id": second},
        headers=bearer(settings, "alice", "team:north"),
    )
    assert response.status_code == 201
    body = response.json()
    assert body["search_id"] == found["search_id"]
    assert body["rank"] == 2
    assert 0 <= body["seconds"] < 60


def test_only_the_searcher_can_record_an_open_of_a_returned_record(
    client: TestClient, settings: Settings
) -> None:
    found = _search(client, settings, "alice")
    returned = found["results"][0]["document_id"]
    attempts = [
        ("mallory", {"search_id": found["search_id"], "document_id": returned}),
        ("alice", {"search_id": "0" * 32, "document_id": returned}),
        ("alice", {"search_id": found["search_id"], "document_id": "SECRET-1"}),
    ]
    answers = []
    for who, body in attempts:
        response = client.post(
            "/v1/events/open", json=body, headers=bearer(settings, who, "team:north")
        )
        assert response.status_code == 404
        answers.append(response.json())
    assert answers[0] == answers[1] == answers[2]
    assert answers[0]["error"]["code"] == "not_found"


def test_opening_a_document_with_its_search_id_counts_as_an_open(
    client: TestClient, settings: Settings, services: Services
) -> None:
    found = _search(client, settings, "alice")
    alice = bearer(settings, "alice", "team:north")
    doc_id = found["results"][0]["document_id"]
    opened = client.get(
        f"/v1/documents/{doc_id}", params={"search_id": found["search_id"]}, headers=alice
    )
    assert opened.status_code == 200
    # Somebody else's or an unknown search id changes nothing about the answer.
    assert (
        client.get(
            f"/v1/documents/{doc_id}",
            params={"search_id": "not-a-search"},
            headers=alice,
        ).json()
        == opened.json()
    )
    summary = services.telemetry.time_to_find()
    assert (summary.overall.searches, summary.overall.count) == (1, 1)


def test_metrics_are_for_auditors_and_qa_only(client: TestClient, settings: Settings) -> None:
    url = "/v1/metrics/time-to-find"
    assert client.get(url, headers=bearer(settings, "w", "team:north")).status_code == 403
    assert client.get(url, headers=bearer(settings, "q", "role:qa")).status_code == 200
    assert client.get(url, headers=bearer(settings, "a", "role:auditor")).status_code == 200


def test_time_to_find_per_day_uses_each_searchs_first_open(
    client: TestClient, settings: Settings, services: Services
) -> None:
    telemetry = services.telemetry
    day1 = dt.datetime(2024, 3, 1, 9, tzinfo=dt.UTC).timestamp()
    day2 = dt.datetime(2024, 3, 2, 9, tzinfo=dt.UTC).timestamp()
    plan = {  # search id: (day start, seconds to each open)
        "s1": (day1, [4.0, 30.0]),
        "s2": (day1, [10.0]),
        "s3": (day1, [6.0]),
        "s4": (day1, []),  # abandoned search: counted in searches, not in time-to-find
        "s5": (day2, [20.0]),
    }
    for search_id, (start, opens) in plan.items():
        with services.store.transaction() as conn:
            telemetry.record_search(conn, search_id, "w", ["R1", "R2"], at=start)
        for seconds in opens:
            telemetry.record_open(search_id, "w", "R1", at=start + seconds)

    response = client.get(
        "/v1/metrics/time-to-find",
        params={"date_from": "2024-03-01", "date_to": "2024-03-02"},
        headers=bearer(settings, "q", "role:qa"),
    )
    body = response.json()
    assert body["days"] == [
        {"day": "2024-03-01", "searches": 4, "count": 3, "median_s": 6.0, "p90_s": 9.2},
        {"day": "2024-03-02", "searches": 1, "count": 1, "median_s": 20.0, "p90_s": 20.0},
    ]
    assert body["overall"] == {"searches": 5, "count": 4, "median_s": 8.0, "p90_s": 17.0}
    only_day2 = client.get(
        "/v1/metrics/time-to-find",
        params={"date_from": "2024-03-02"},
        headers=bearer(settings, "q", "role:qa"),
    ).json()
    assert [d["day"] for d in only_day2["days"]] == ["2024-03-02"]
    empty = client.get(
        "/v1/metrics/time-to-find",
        params={"date_to": "2024-02-01"},
        headers=bearer(settings, "q", "role:qa"),
    ).json()
    assert empty["overall"] == {"searches": 0, "count": 0, "median_s": None, "p90_s": None}
