"""GET /v1/cases/{case_id}/chronology: dated cited events over the caller's records, JSON or
CSV, audited as a browse of the case."""

from __future__ import annotations

import csv
import io
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

TEXTS = {
    "CH-REF": "Concerns reported: the baby had a bruise on her arm that mum could not explain.",
    "CH-ICPC": (
        "Decision: the children will be made subject to a child protection plan under the"
        " category of neglect."
    ),
    "CH-SECRET": '=HYPERLINK("http://x") Sam went missing overnight on 3 May.',
    "CH-DENIED": "Police attended on 2 April after a 999 call; dad was arrested.",
}


@pytest.fixture
def chronology_client(settings: Settings, embedder: Embedder) -> Iterator[TestClient]:
    services: Services = build_services(settings, embedder=embedder)
    records = [
        make_record(
            id="CH-REF",
            case_id="CASE-H",
            doc_type="referral",
            text=TEXTS["CH-REF"],
            created_at="2024-03-01",
            acl=["team:north"],
        ),
        make_record(
            id="CH-ICPC",
            case_id="CASE-H",
            doc_type="icpc_minutes",
            text=TEXTS["CH-ICPC"],
            created_at="2024-03-25",
            acl=["team:north"],
        ),
        make_record(
            id="CH-SECRET",
            case_id="CASE-H",
            doc_type="case_note",
            text=TEXTS["CH-SECRET"],
            created_at="2024-05-04",
            acl=["team:managers"],
        ),
        make_record(
            id="CH-DENIED",
            case_id="CASE-H",
            doc_type="police_notification",
            text=TEXTS["CH-DENIED"],
            created_at="2024-04-03",
            acl=["team:north"],
            deny=["user:bob"],
        ),
    ]
    services.indexer.apply(records, source="test")
    with TestClient(create_app(services=services)) as client:
        yield client
    services.close()


def _get(client: TestClient, settings: Settings, *principals: str, **params: str) -> list[dict]:  # type: ignore[type-arg]
    response = client.get(
        "/v1/cases/CASE-H/chronology", params=params, headers=bearer(settings, "amy", *principals)
    )
    assert response.status_code == 200
    events: list[dict] = response.json()["events"]  # type: ignore[type-arg]
    return events


def test_events_are_dated_cited_and_scoped(
    chronology_client: TestClient, settings: Settings
) -> None:
    events = _get(chronology_client, settings, "team:north")
    assert [e["citation"]["document_id"] for e in events] == ["CH-REF", "CH-ICPC", "CH-DENIED"]
    for e in events:
        c = e["citation"]
        assert TEXTS[c["document_id"]][c["char_start"] : c["char_end"]] == e["sentence"]
    police = events[-1]
    assert (police["date"], police["precision"], police["date_source"]) == (
        "2024-04-02",
        "day",
        "text",
    )
    assert events[0]["category"] == "referral"
    assert "injury" in events[0]["also"]
    bob = _get(chronology_client, settings, "team:north", "user:bob")
    assert "CH-DENIED" not in {e["citation"]["document_id"] for e in bob}


def test_a_case_with_nothing_visible_looks_like_no_case(
    chronology_client: TestClient, settings: Settings
) -> None:
    assert _get(chronology_client, settings, "team:south") == []
    response = chronology_client.get(
        "/v1/cases/CASE-NONE/chronology", headers=bearer(settings, "amy", "team:south")
    )
    assert response.json()["events"] == []


def test_filters_and_unknown_category(chronology_client: TestClient, settings: Settings) -> None:
    only = _get(chronology_client, settings, "team:north", category="conference")
    assert [e["citation"]["document_id"] for e in only] == ["CH-ICPC"]
    injuries = _get(chronology_client, settings, "team:north", category="injury")
    assert [e["citation"]["document_id"] for e in injuries] == ["CH-REF"]
    april = _get(
        chronology_client, settings, "team:north", date_from="2024-04-01", date_to="2024-04-30"
    )
    assert [e["citation"]["document_id"] for e in april] == ["CH-DENIED"]
    bad = chronology_client.get(
        "/v1/cases/CASE-H/chronology",
        params={"category": "nonsense"},
        headers=bearer(settings, "amy", "team:north"),
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_query"
    for not_a_date in ("0.0", "1700000000", "2024-4-1"):  # a number is not a day (schemathesis)
        loose = chronology_client.get(
            "/v1/cases/CASE-H/chronology",
            params={"date_to": not_a_date},
            headers=bearer(settings, "amy", "team:north"),
        )
        assert loose.status_code == 422, not_a_date


def test_csv_is_formula_safe(chronology_client: TestClient, settings: Settings) -> None:
    response = chronology_client.get(
        "/v1/cases/CASE-H/chronology",
        params={"format": "csv"},
        headers=bearer(settings, "amy", "team:managers"),
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][:4] == ["date", "precision", "date_source", "event"]
    assert rows[1][0] == "2024-05-03"
    assert rows[1][3].startswith("'=HYPERLINK")


def test_needs_a_token_and_is_audited_as_a_browse(
    chronology_client: TestClient, settings: Settings
) -> None:
    assert chronology_client.get("/v1/cases/CASE-H/chronology").status_code == 401
    _get(chronology_client, settings, "team:north")
    audit = chronology_client.get(
        "/v1/audit", params={"subject": "amy"}, headers=bearer(settings, "aud", "role:auditor")
    ).json()
    events = [e for e in audit["events"] if e["action"] == "browse"]
    assert len(events) == 1
    assert events[0]["case_ids"] == ["CASE-H"]
    assert events[0]["detail"]["view"] == "chronology"
    assert set(events[0]["record_ids"]) == {"CH-REF", "CH-ICPC", "CH-DENIED"}
