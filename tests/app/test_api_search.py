"""The HTTP contract of DESIGN.md: search, documents, push, errors, authentication."""

from __future__ import annotations

import time

import jwt
import pytest
from app_helpers import bearer
from fastapi.testclient import TestClient

from app.settings import Settings

pytestmark = pytest.mark.conformance


def test_search_returns_cited_verbatim_snippets(client: TestClient, settings: Settings) -> None:
    response = client.post(
        "/v1/search",
        json={"query": "safety plan", "case_id": "CASE-7"},
        headers=bearer(settings, "alice", "team:north"),
    )
    assert response.status_code == 200
    body = response.json()
    ids = [r["document_id"] for r in body["results"]]
    assert set(ids) == {"OPEN-1", "DENIED-1"}
    for result in body["results"]:
        doc = client.get(
            f"/v1/documents/{result['document_id']}",
            headers=bearer(settings, "alice", "team:north"),
        ).json()
        citation = result["citation"]
        assert (
            doc["text"][citation["char_start"] : citation["char_end"]] == result["snippet"]["text"]
        )
        for start, end in result["snippet"]["highlights"]:
            assert 0 <= start < end <= len(result["snippet"]["text"])
    assert body["took_ms"] >= 0


def test_deny_list_and_missing_acl_hide_records(client: TestClient, settings: Settings) -> None:
    response = client.post(
        "/v1/search", json={"query": "safety plan"}, headers=bearer(settings, "bob", "team:north")
    )
    assert [r["document_id"] for r in response.json()["results"]] == ["OPEN-1"]


def test_forbidden_and_missing_documents_answer_identically(
    client: TestClient, settings: Settings
) -> None:
    headers = bearer(settings, "alice", "team:north")
    forbidden = client.get("/v1/documents/SECRET-1", headers=headers)
    missing = client.get("/v1/documents/NO-SUCH-RECORD", headers=headers)
    assert forbidden.status_code == missing.status_code == 404
    assert forbidden.json() == missing.json()
    assert (
        client.get(
            "/v1/documents/SECRET-1", headers=bearer(settings, "m", "team:managers")
        ).status_code
        == 200
    )


def test_bad_tokens_are_rejected_with_401(client: TestClient, settings: Settings) -> None:
    body = {"query": "safety plan"}
    assert client.post("/v1/search", json=body).status_code == 401
    expired = bearer(settings, "alice", "team:north", ttl=60)
    expired_token = jwt.encode(
        {"sub": "alice", "principals": ["team:north"], "exp": int(time.time()) - 120},
        "test-secret-of-at-least-thirty-two-bytes",
        algorithm="HS256",
    )
    wrong_key = jwt.encode(
        {"sub": "alice", "principals": ["team:north"], "exp": int(time.time()) + 60},
        "another-secret-of-at-least-thirty-two-bytes",
        algorithm="HS256",
    )
    unsigned = jwt.encode(
        {"sub": "alice", "principals": ["team:north"], "exp": int(time.time()) + 60},
        None,  # type: ignore[arg-type]  # PyJWT's own unsigned form, typed for keys only
        algorithm="none",
    )
    assert client.post("/v1/search", json=body, headers=expired).status_code == 200
    for token in (expired_token, wrong_key, unsigned, "not-a-jwt"):
        response = client.post(
            "/v1/search", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"


def test_invalid_requests_get_one_json_error_shape(client: TestClient, settings: Settings) -> None:
    headers = bearer(settings, "alice", "team:north")
    for body in (
        {"query": ""},
        {"query": "x" * 1001},
        {"query": "a", "top_k": 51},
        {"query": "a", "offset": 1001},
        {"query": "a", "unknown": 1},
    ):
        response = client.post("/v1/search", json=body, headers=headers)
        assert response.status_code == 422, body
        assert set(response.json()["error"]) == {"code", "message"}


def test_push_requires_ingest_role_and_is_idempotent(
    client: TestClient, settings: Settings
) -> None:
    record = {
        "id": "PUSH-1",
        "case_id": "CASE-9",
        "text": "Letter from the GP about asthma.",
        "acl": ["team:north"],
    }
    denied = client.post(
        "/v1/records", json={"records": [record]}, headers=bearer(settings, "alice", "team:north")
    )
    assert denied.status_code == 403
    ingest = bearer(settings, "cms", "role:ingest")
    first = client.post("/v1/records", json={"records": [record, {"id": "BAD"}]}, headers=ingest)
    assert first.status_code == 207  # Multi-Status: one applied, one rejected
    assert first.json()["added"] == 1
    assert first.json()["failures"][0]["source_ref"] == "BAD"
    second = client.post("/v1/records", json={"records": [record]}, headers=ingest).json()
    assert (second["added"], second["unchanged"]) == (0, 1)
    reader = bearer(settings, "alice", "team:north")
    assert client.get("/v1/documents/PUSH-1", headers=reader).status_code == 200
    assert client.delete("/v1/records/PUSH-1", headers=ingest).status_code == 204
    assert client.delete("/v1/records/PUSH-1", headers=ingest).status_code == 204
    assert client.get("/v1/documents/PUSH-1", headers=reader).status_code == 404


def test_understand_false_searches_exactly_what_was_typed(
    client: TestClient, settings: Settings
) -> None:
    alice = bearer(settings, "alice", "team:north")
    read = client.post("/v1/search", json={"query": "saftey plan since March 2024"}, headers=alice)
    exact = client.post(
        "/v1/search",
        json={"query": "saftey plan since March 2024", "understand": False},
        headers=alice,
    )
    assert read.status_code == exact.status_code == 200
    assert read.json()["query"] != {}  # the typo and the date were read
    assert exact.json()["query"] == {}  # nothing was read into the words
    strict = client.post("/v1/search", json={"query": "plan", "understand": "no"}, headers=alice)
    assert strict.status_code == 422
