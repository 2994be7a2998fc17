"""The API contract a CMS developer relies on: pages carry a total and the next offset, an
unknown document type is a 422 that names the known ones, and a CMS's pages may call the API
(CORS) or frame the search page only when a deployment lists their origin."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from app_helpers import bearer
from factories import make_record
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from app.main import create_app
from app.services import Services, build_services
from app.settings import LimitSettings, Settings
from retrieval.embedding import Embedder

SECRET = "test-secret-of-at-least-thirty-two-bytes"
CMS = "https://cms.example.org"
FIXTURE_HEALTH = [HealthCheck.function_scoped_fixture]


def _pages(client: TestClient, headers: dict[str, str], size: int) -> tuple[list[str], int]:
    """Every result of one search, walking ``next_offset``; and ``total``."""
    seen: list[str] = []
    offset: int | None = 0
    total = -1
    while offset is not None:
        body = {"query": "safety plan", "case_id": "CASE-7", "top_k": size, "offset": offset}
        answer = client.post("/v1/search", json=body, headers=headers)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        assert page["offset"] == offset
        assert len(page["results"]) <= size
        total = page["total"]
        seen += [r["document_id"] for r in page["results"]]
        offset = page["next_offset"]
    return seen, total


@settings(max_examples=4, deadline=None, suppress_health_check=FIXTURE_HEALTH)
@given(size=st.integers(min_value=1, max_value=3))
def test_search_pages_reach_every_match_once(
    client: TestClient, settings: Settings, size: int
) -> None:
    manager = bearer(settings, "dave", "team:north", "team:managers")
    seen, total = _pages(client, manager, size)
    assert total == 3
    assert sorted(seen) == ["DENIED-1", "OPEN-1", "SECRET-1"]


def test_the_last_search_page_has_no_next_offset(client: TestClient, settings: Settings) -> None:
    alice = bearer(settings, "alice", "team:north")
    page = client.post(
        "/v1/search", json={"query": "safety plan", "top_k": 10}, headers=alice
    ).json()
    assert page["total"] == len(page["results"]) == 2
    assert page["next_offset"] is None


@settings(max_examples=6, deadline=None, suppress_health_check=FIXTURE_HEALTH)
@given(limit=st.integers(min_value=1, max_value=4), offset=st.integers(min_value=0, max_value=4))
def test_the_timeline_pages_by_limit_and_offset(
    client: TestClient, settings: Settings, limit: int, offset: int
) -> None:
    manager = bearer(settings, "dave", "team:north", "team:managers")
    whole = client.get("/v1/cases/CASE-7/timeline", headers=manager).json()
    ids = [e["document_id"] for e in whole["entries"]]
    assert whole["total"] == len(ids) == 3
    page = client.get(
        "/v1/cases/CASE-7/timeline",
        params={"limit": limit, "offset": offset},
        headers=manager,
    ).json()
    assert [e["document_id"] for e in page["entries"]] == ids[offset : offset + limit]
    assert page["total"] == 3
    assert page["next_offset"] == (offset + limit if offset + limit < 3 else None)
    # the audit names the records this page showed, not every record of the case
    auditor = bearer(settings, "dpo", "role:auditor")
    events = client.get(
        "/v1/audit", params={"action": "browse", "subject": "dave", "limit": 1}, headers=auditor
    ).json()["events"]
    assert events[0]["record_ids"] == ids[offset : offset + limit]
    assert events[0]["detail"]["results"] == 3


def test_a_push_with_an_unknown_doc_type_names_the_vocabulary(
    client: TestClient, settings: Settings
) -> None:
    cms = bearer(settings, "cms", "role:ingest")
    good = {"id": "P-1", "text": "Visit.", "acl": ["team:north"], "doc_type": "visit_note"}
    typo = {"id": "P-2", "text": "Visit.", "acl": ["team:north"], "doc_type": "vist_note"}
    answer = client.post("/v1/records", json={"records": [good, typo]}, headers=cms)
    assert answer.status_code == 207
    outcome = answer.json()["results"]
    assert outcome[0]["status"] == "applied"
    assert outcome[1]["status"] == "rejected"
    assert "'vist_note'" in outcome[1]["error"]
    assert "visit_note" in outcome[1]["error"]
    assert "CASESEARCH_EXTRA_DOC_TYPES" in outcome[1]["error"]
    alone = client.post("/v1/records", json={"records": [typo]}, headers=cms)
    assert alone.status_code == 422
    assert alone.json()["error"]["code"] == "invalid_records"


@pytest.fixture
def configured(tmp_path: Path, embedder: Embedder) -> Iterator[tuple[TestClient, Settings]]:
    """A deployment with its own document type, a CMS origin for CORS and for framing, and a
    record a connector filed under a type outside the vocabulary."""
    config = Settings(
        data_dir=tmp_path,
        jwt_secret=SecretStr(SECRET),
        progress=False,
        extra_doc_types=["lado_referral"],
        cors_origins=[CMS],
        frame_ancestors=[CMS],
    )
    services: Services = build_services(config, embedder=embedder)
    services.indexer.apply(
        [make_record(id="F-1", doc_type="minutes", acl=["team:north"], text="Core group.")],
        source="files:/srv/cases",
    )
    with TestClient(create_app(services=services)) as client:
        yield client, config
    services.close()


def test_a_configured_doc_type_may_be_pushed(configured: tuple[TestClient, Settings]) -> None:
    client, config = configured
    record = {"id": "L-1", "text": "LADO.", "acl": ["team:north"], "doc_type": "lado_referral"}
    answer = client.post(
        "/v1/records", json={"records": [record]}, headers=bearer(config, "cms", "role:ingest")
    )
    assert answer.status_code == 200, answer.text


def test_an_unknown_doc_type_filter_is_a_422_not_an_empty_page(
    configured: tuple[TestClient, Settings],
) -> None:
    client, config = configured
    alice = bearer(config, "alice", "team:north")
    for route in ("/v1/search", "/v1/patterns"):
        answer = client.post(
            route, json={"query": "core group", "doc_types": ["minuets"]}, headers=alice
        )
        assert answer.status_code == 422, route
        error = answer.json()["error"]
        assert error["code"] == "invalid_request"
        assert "'minuets'" in error["message"]
        assert "minutes" in error["message"]
        assert "lado_referral" in error["message"]
    timeline = client.get("/v1/cases/CASE-1/timeline?doc_type=minuets", headers=alice)
    assert timeline.status_code == 422
    # known types answer, found or not: one from the vocabulary, one a connector stored
    for known in ("letter", "minutes", "lado_referral"):
        answer = client.post(
            "/v1/search", json={"query": "core group", "doc_types": [known]}, headers=alice
        )
        assert answer.status_code == 200, known
    found = client.post(
        "/v1/search", json={"query": "core group", "doc_types": ["minutes"]}, headers=alice
    ).json()
    assert [r["document_id"] for r in found["results"]] == ["F-1"]


def test_a_listed_origin_may_call_the_api_from_its_pages(
    configured: tuple[TestClient, Settings],
) -> None:
    client, config = configured
    preflight = {
        "Origin": CMS,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    answer = client.options("/v1/search", headers=preflight)
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == CMS
    assert "authorization" in answer.headers["access-control-allow-headers"].lower()
    search = client.post(
        "/v1/search",
        json={"query": "core group"},
        headers={"Origin": CMS, **bearer(config, "alice", "team:north")},
    )
    assert search.headers["access-control-allow-origin"] == CMS
    other = client.options("/v1/search", headers={**preflight, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_no_origin_is_allowed_by_default(client: TestClient) -> None:
    preflight = {"Origin": CMS, "Access-Control-Request-Method": "POST"}
    assert (
        "access-control-allow-origin" not in client.options("/v1/search", headers=preflight).headers
    )
    page = client.get("/sign-in")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"


def test_a_listed_origin_may_frame_the_pages(configured: tuple[TestClient, Settings]) -> None:
    client, _ = configured
    page = client.get("/sign-in")
    policy = page.headers["content-security-policy"]
    assert f"frame-ancestors 'self' {CMS}" in policy
    assert "'none'" not in policy.split("frame-ancestors")[1].split(";")[0]
    assert "x-frame-options" not in page.headers


def test_an_origin_with_a_path_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not an origin"):
        Settings(data_dir=tmp_path, cors_origins=["https://cms.example.org/app"])


def test_no_next_page_is_offered_past_the_furthest_offset(
    tmp_path: Path, embedder: Embedder
) -> None:
    config = Settings(
        data_dir=tmp_path,
        jwt_secret=SecretStr(SECRET),
        progress=False,
        limits=LimitSettings(max_offset=1),
    )
    services = build_services(config, embedder=embedder)
    services.indexer.apply(
        [
            make_record(id=f"S-{n}", acl=["team:north"], text="Safety plan agreed.")
            for n in range(3)
        ],
        source="test",
    )
    alice = bearer(config, "alice", "team:north")
    with TestClient(create_app(services=services)) as client:
        pages = [
            client.post(
                "/v1/search", json={"query": "safety plan", "top_k": 1, "offset": n}, headers=alice
            ).json()
            for n in (0, 1)
        ]
    services.close()
    assert [p["total"] for p in pages] == [3, 3]
    assert [p["next_offset"] for p in pages] == [1, None]  # offset 2 would be refused
