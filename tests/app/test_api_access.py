"""Scoping through the service actions: documents and case timelines show a user exactly
their records, and a forbidden record looks like a missing one (body and timing class)."""

from __future__ import annotations

import statistics
import time

import pytest
from app_helpers import bearer
from fastapi.testclient import TestClient

from app import actions
from app.auth import Caller
from app.errors import NotFound
from app.services import Services
from app.settings import Settings

pytestmark = pytest.mark.conformance


def _timeline(client: TestClient, settings: Settings, case: str, *principals: str) -> list[str]:
    response = client.get(f"/v1/cases/{case}/timeline", headers=bearer(settings, "u", *principals))
    assert response.status_code == 200
    return [e["document_id"] for e in response.json()["entries"]]


def test_a_timeline_lists_only_visible_records_newest_first(
    client: TestClient, settings: Settings
) -> None:
    assert _timeline(client, settings, "CASE-7", "team:north") == ["DENIED-1", "OPEN-1"]
    assert _timeline(client, settings, "CASE-7", "team:managers") == ["SECRET-1"]
    assert _timeline(client, settings, "CASE-7", "team:north", "user:bob") == ["OPEN-1"]
    both = _timeline(client, settings, "CASE-7", "team:north", "team:managers")
    assert both == ["SECRET-1", "DENIED-1", "OPEN-1"]
    response = client.get(
        "/v1/cases/CASE-7/timeline",
        params={"doc_type": "safety_plan"},
        headers=bearer(settings, "u", "team:north"),
    )
    assert [e["document_id"] for e in response.json()["entries"]] == ["OPEN-1"]


def test_a_case_with_nothing_visible_looks_like_no_case(
    client: TestClient, settings: Settings
) -> None:
    assert _timeline(client, settings, "CASE-7", "team:south") == []
    assert _timeline(client, settings, "CASE-NONE", "team:south") == []


def test_deny_beats_allow_for_documents(client: TestClient, settings: Settings) -> None:
    bob = bearer(settings, "bob", "team:north", "team:managers")
    assert client.get("/v1/documents/DENIED-1", headers=bob).status_code == 404
    assert client.get("/v1/documents/SECRET-1", headers=bob).status_code == 200


def test_the_action_raises_the_same_not_found_for_missing_and_forbidden(
    client: TestClient, services: Services
) -> None:
    caller = Caller(subject="alice", principals=frozenset({"team:north"}))
    messages = []
    for record_id in ("SECRET-1", "NOPE"):
        with pytest.raises(NotFound) as caught:
            actions.open_document(services, caller, record_id)
        messages.append(caught.value.message)
    assert messages[0] == messages[1]
    assert actions.open_document(services, caller, "OPEN-1").id == "OPEN-1"


def test_forbidden_and_missing_take_the_same_time_class(
    client: TestClient, settings: Settings
) -> None:
    """Both paths are one indexed lookup and one audit write; the medians must be close.

    A loose bound (the check guards against an extra round trip or a deliberate delay on one
    path, not against scheduler noise)."""
    headers = bearer(settings, "alice", "team:north")
    times: dict[str, list[float]] = {"SECRET-1": [], "MISSING-1": []}
    for _ in range(30):
        for record_id, bucket in times.items():
            started = time.perf_counter()
            assert client.get(f"/v1/documents/{record_id}", headers=headers).status_code == 404
            bucket.append(time.perf_counter() - started)
    forbidden = statistics.median(times["SECRET-1"])
    missing = statistics.median(times["MISSING-1"])
    assert 0.5 < forbidden / missing < 2.0


def test_readiness_needs_no_sign_in_and_says_nothing_about_the_records(
    client: TestClient,
) -> None:
    """Anyone who can reach the port may ask; how many records there are is not theirs."""
    answer = client.get("/readyz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ready"}
