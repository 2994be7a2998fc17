"""``GET /v1/changes``: an integration polling the feed learns, in order and once each, what
its pushes did (indexed, updated, deleted, failed, quarantined), and never the id of a record
its own principals may not see."""

from __future__ import annotations

from typing import Any

import pytest
from app_helpers import bearer
from factories import make_record
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.services import Services
from app.settings import Settings
from connectors.record import Tombstone

pytestmark = pytest.mark.conformance

FIXTURE_HEALTH = [HealthCheck.function_scoped_fixture]


def _feed(client: TestClient, headers: dict[str, str], limit: int = 100) -> list[dict[str, Any]]:
    """Every change the caller may see, walking the cursor ``limit`` at a time."""
    items: list[dict[str, Any]] = []
    since: str | None = None
    for _ in range(100):
        params: dict[str, Any] = {"limit": limit}
        if since is not None:
            params["since"] = since
        answer = client.get("/v1/changes", params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        assert len(page["changes"]) <= limit
        items += page["changes"]
        since = page["next_cursor"]
        if not page["more"]:
            return items
    raise AssertionError("the feed did not end")


def _push(client: TestClient, headers: dict[str, str], *records: dict[str, Any]) -> int:
    return client.post("/v1/records", json={"records": list(records)}, headers=headers).status_code


def _note(record_id: str, text: str = "Home visit.") -> dict[str, Any]:
    return {"id": record_id, "text": text, "acl": ["team:south"], "doc_type": "visit_note"}


def test_the_feed_tells_an_integration_what_its_pushes_did(
    client: TestClient, settings: Settings
) -> None:
    cms = bearer(settings, "cms", "role:ingest")
    before = client.get("/v1/changes", headers=cms).json()["next_cursor"]
    assert _push(client, cms, _note("P-1"), _note("P-2")) == 200
    assert _push(client, cms, _note("P-1", "Home visit, revised.")) == 200
    assert _push(client, cms, _note("P-1", "Home visit, revised.")) == 200  # unchanged
    assert client.delete("/v1/records/P-2", headers=cms).status_code == 204
    assert _push(client, cms, _note("P-3"), {"id": "P-4", "text": "No acl."}) == 207
    page = client.get("/v1/changes", params={"since": before}, headers=cms).json()
    seen = [(c["kind"], c["record_id"], c["source"]) for c in page["changes"]]
    assert seen == [
        ("indexed", "P-1", "push"),
        ("indexed", "P-2", "push"),
        ("updated", "P-1", "push"),
        ("deleted", "P-2", "push"),
        ("indexed", "P-3", "push"),
        ("failed", "P-4", "push"),
    ]
    assert "acl" in page["changes"][-1]["reason"]
    assert all(c["at"].endswith("Z") for c in page["changes"])
    again = client.get("/v1/changes", params={"since": page["next_cursor"]}, headers=cms).json()
    assert again["changes"] == []
    assert again["more"] is False


@settings(max_examples=5, deadline=None, suppress_health_check=FIXTURE_HEALTH)
@given(limit=st.integers(min_value=1, max_value=4))
def test_walking_the_cursor_lists_every_change_once_in_order(
    client: TestClient, settings: Settings, limit: int
) -> None:
    cms = bearer(settings, "cms", "role:ingest")
    _push(client, cms, *[_note(f"W-{n}") for n in range(5)])
    whole = _feed(client, cms)
    assert _feed(client, cms, limit=limit) == whole
    pushed = [c["record_id"] for c in whole if c["record_id"].startswith("W-")]
    assert pushed[:5] == [f"W-{n}" for n in range(5)]


def test_records_indexed_on_the_server_are_listed_only_to_those_who_may_see_them(
    client: TestClient, settings: Settings, services: Services
) -> None:
    # as `casesearch index` beside the server would write them
    services.indexer.apply(
        [
            make_record(id="F-NORTH", acl=["team:north"], text="North visit."),
            make_record(id="F-DENIED", acl=["team:north"], deny=["user:cms-north"], text="x y"),
        ],
        source="files:/srv/cases",
    )
    files = "files:/srv/cases"
    services.indexer.apply(
        [make_record(id="F-GONE", acl=["team:north"], text="Gone.")], source=files
    )
    services.indexer.apply([Tombstone("F-GONE")], source=files)
    ingest_only = {c["record_id"] for c in _feed(client, bearer(settings, "cms", "role:ingest"))}
    assert not ingest_only & {"F-NORTH", "F-DENIED", "F-GONE", "OPEN-1", "SECRET-1"}
    north = _feed(client, bearer(settings, "cms-north", "role:ingest", "team:north"))
    listed = {(c["kind"], c["record_id"]) for c in north}
    assert ("indexed", "F-NORTH") in listed
    assert not {r for _, r in listed} & {"F-DENIED", "F-GONE", "SECRET-1"}


def test_a_record_that_cannot_be_indexed_is_listed_as_quarantined(
    client: TestClient, settings: Settings, services: Services
) -> None:
    cms = bearer(settings, "cms", "role:ingest")
    # what the indexer writes for a pushed record it could not chunk or embed
    with services.store.transaction() as conn:
        services.store.record_failure(conn, "push", "Q-1", "NOT_INDEXED: the text is empty")
        services.store.record_failure(conn, "files:/srv/cases", "Smith/letter.pdf", "encrypted")
    quarantined = [c for c in _feed(client, cms) if c["kind"] == "quarantined"]
    # the file's name is not the integration's to see: no record is left to check it against
    assert [(c["record_id"], c["reason"]) for c in quarantined] == [
        ("Q-1", "NOT_INDEXED: the text is empty")
    ]


def test_only_an_integration_may_read_the_feed(client: TestClient, settings: Settings) -> None:
    assert client.get("/v1/changes").status_code == 401
    answer = client.get("/v1/changes", headers=bearer(settings, "alice", "team:north"))
    assert answer.status_code == 403


def test_a_cursor_the_server_did_not_give_is_a_422(client: TestClient, settings: Settings) -> None:
    cms = bearer(settings, "cms", "role:ingest")
    for since in ("not-a-cursor", "YzE6OTk5OTk5"):  # the second: seq 999999, ahead of the log
        answer = client.get("/v1/changes", params={"since": since}, headers=cms)
        assert answer.status_code == 422, since
        assert answer.json()["error"]["message"].startswith("since:")


def test_reading_the_feed_is_audited_with_the_ids_it_listed(
    client: TestClient, services: Services, settings: Settings
) -> None:
    cms = bearer(settings, "cms", "role:ingest")
    pushed = {"id": "FEED-1", "text": "A visit.", "acl": ["team:north"], "doc_type": "visit_note"}
    assert client.post("/v1/records", json={"records": [pushed]}, headers=cms).is_success
    listed = [c["record_id"] for c in _feed(client, cms)]
    assert "FEED-1" in listed
    auditor = bearer(settings, "dpo", "role:auditor")
    events = client.get(
        "/v1/audit", params={"action": "changes", "subject": "cms"}, headers=auditor
    ).json()["events"]
    assert events[0]["record_ids"] == listed
