"""The published OpenAPI document tells the truth: the answers a set of real requests receive
(successes and errors, on every operation) each match the schema documented for their status,
every documented example is valid against its own schema and works when sent, and the pushed
record's documented fields are the ones the record parser reads."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema_rs
import pytest
from app_helpers import bearer
from fastapi.testclient import TestClient

from app.settings import Settings
from connectors import record as record_module

Spec = dict[str, Any]


@pytest.fixture
def spec(client: TestClient) -> Spec:
    published: Spec = client.get("/openapi.json").json()
    return published


def _validator(spec: Spec, schema: dict[str, Any]) -> Any:
    """A JSON Schema 2020-12 validator of ``schema`` whose ``$ref``s resolve in ``spec``."""
    return jsonschema_rs.Draft202012Validator({**schema, "components": spec["components"]})


def _template(spec: Spec, client: TestClient, path: str) -> str:
    """The documented path template that ``path`` fills in."""
    del client
    for template in spec["paths"]:
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path):
            return str(template)
    raise AssertionError(f"{path} is not a documented path")


def _conforms(spec: Spec, client: TestClient, method: str, path: str, answer: Any) -> None:
    """``answer`` has a documented status and its body matches that status's schema."""
    operation = spec["paths"][_template(spec, client, path)][method]
    status = str(answer.status_code)
    assert status in operation["responses"], (method, path, status, answer.text)
    content = operation["responses"][status].get("content")
    if answer.status_code == 204:
        assert answer.content == b""
        return
    assert content is not None, (method, path, status)
    media = answer.headers["content-type"].split(";")[0]
    schema = content[media]["schema"]
    body = answer.json() if media == "application/json" else answer.text
    errors = [e.message for e in _validator(spec, schema).iter_errors(body)]
    assert errors == [], (method, path, status, errors[:3], answer.text[:300])


def test_no_default_validation_error_shape_is_documented(spec: Spec) -> None:
    text = json.dumps(spec)
    assert "HTTPValidationError" not in text
    assert "ValidationError" not in spec["components"]["schemas"]


def test_the_answers_real_requests_receive_match_the_published_schema(
    client: TestClient, settings: Settings, spec: Spec
) -> None:
    alice = bearer(settings, "alice", "team:north")
    everyone = bearer(
        settings, "root", "team:north", "team:managers", "role:ingest", "role:auditor", "role:qa"
    )
    nobody = bearer(settings, "frank")
    search = client.post("/v1/search", json={"query": "safety plan"}, headers=alice).json()
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("post", "/v1/search", {"json": {"query": "safety plan", "top_k": 1}, "headers": alice}),
        ("post", "/v1/search", {"json": {"query": "safety plan"}}),
        ("post", "/v1/search", {"json": {"query": 5}, "headers": alice}),
        ("post", "/v1/search", {"json": {"query": "the of and"}, "headers": alice}),
        (
            "post",
            "/v1/search",
            {"json": {"query": "plan", "doc_types": ["nope"]}, "headers": alice},
        ),
        (
            "post",
            "/v1/search",
            {"content": b"{", "headers": {**alice, "Content-Type": "application/json"}},
        ),
        ("post", "/v1/patterns", {"json": {"category": "neglect"}, "headers": everyone}),
        ("post", "/v1/patterns", {"json": {"query": "x", "category": "neglect"}, "headers": alice}),
        ("get", "/v1/documents/OPEN-1", {"headers": alice}),
        ("get", "/v1/documents/SECRET-1", {"headers": alice}),
        ("get", "/v1/documents/OPEN-1", {"headers": {"Authorization": "Bearer nonsense"}}),
        ("get", "/v1/cases/CASE-7/timeline", {"params": {"limit": 1}, "headers": alice}),
        ("get", "/v1/cases/CASE-7/timeline", {"params": {"limit": 0}, "headers": alice}),
        ("get", "/v1/cases/CASE-7/chronology", {"headers": alice}),
        ("get", "/v1/cases/CASE-7/chronology", {"params": {"format": "csv"}, "headers": alice}),
        ("get", "/v1/cases/CASE-7/chronology", {"params": {"category": "nope"}, "headers": alice}),
        (
            "post",
            "/v1/records",
            {
                "json": {"records": [{"id": "N-1", "text": "Note.", "acl": ["team:north"]}]},
                "headers": everyone,
            },
        ),
        (
            "post",
            "/v1/records",
            {
                "json": {
                    "records": [
                        {"id": "N-2", "text": "Note.", "acl": ["team:north"]},
                        {"id": "N-3"},
                    ]
                },
                "headers": everyone,
            },
        ),
        ("post", "/v1/records", {"json": {"records": [{"id": "N-4"}]}, "headers": everyone}),
        ("post", "/v1/records", {"json": {"records": []}, "headers": everyone}),
        (
            "post",
            "/v1/records",
            {"json": {"records": [{"id": "N-5", "text": "x", "acl": ["a"]}]}, "headers": alice},
        ),
        ("delete", "/v1/records/N-1", {"headers": everyone}),
        ("delete", "/v1/records/N-1", {"headers": nobody}),
        ("get", "/v1/audit", {"params": {"limit": 2}, "headers": everyone}),
        ("get", "/v1/audit", {"headers": alice}),
        (
            "post",
            "/v1/events/open",
            {"json": {"search_id": search["search_id"], "document_id": "OPEN-1"}, "headers": alice},
        ),
        (
            "post",
            "/v1/events/open",
            {"json": {"search_id": "0" * 32, "document_id": "OPEN-1"}, "headers": alice},
        ),
        ("get", "/v1/metrics/time-to-find", {"headers": everyone}),
        (
            "get",
            "/v1/metrics/time-to-find",
            {"params": {"date_from": "March"}, "headers": everyone},
        ),
        ("get", "/v1/changes", {"params": {"limit": 2}, "headers": everyone}),
        ("get", "/v1/changes", {"params": {"since": "?"}, "headers": everyone}),
        ("get", "/v1/changes", {"headers": alice}),
        ("get", "/healthz", {}),
        ("get", "/readyz", {}),
    ]
    statuses = set()
    for method, path, options in calls:
        answer = client.request(method.upper(), path, **options)
        _conforms(spec, client, method, path, answer)
        statuses.add(answer.status_code)
    assert {200, 201, 204, 207, 400, 401, 403, 404, 422} <= statuses
    documented = {(p, m) for p, ops in spec["paths"].items() for m in ops}
    assert documented <= {(_template(spec, client, p), m) for m, p, _ in calls}


def test_every_operation_shows_examples(spec: Spec) -> None:
    schemas = spec["components"]["schemas"]

    def examples_of(schema: dict[str, Any]) -> list[Any]:
        ref = schema.get("$ref")
        found = schemas[ref.rsplit("/", 1)[1]] if ref else schema
        return list(found.get("examples", []))

    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            body = operation.get("requestBody")
            if body is not None:
                assert examples_of(body["content"]["application/json"]["schema"]), where
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":
                    assert parameter.get("examples") or parameter["schema"].get("examples"), where
            success = next(s for s in operation["responses"] if s.startswith("2"))
            content = operation["responses"][success].get("content", {})
            if "application/json" in content:
                assert examples_of(content["application/json"]["schema"]), where


def test_every_documented_example_is_valid_against_its_schema(spec: Spec) -> None:
    checked = 0
    for name, schema in spec["components"]["schemas"].items():
        for example in schema.get("examples", []):
            errors = [e.message for e in _validator(spec, schema).iter_errors(example)]
            assert errors == [], (name, errors[:3])
            checked += 1
    assert checked >= 12


def test_the_documented_push_and_search_examples_work(
    client: TestClient, settings: Settings, spec: Spec
) -> None:
    schemas = spec["components"]["schemas"]
    push = schemas["PushBody"]["examples"][0]
    cms = bearer(settings, "cms", "role:ingest")
    answer = client.post("/v1/records", json=push, headers=cms)
    assert answer.status_code == 200, answer.text
    assert answer.json()["added"] == 1
    reader = bearer(settings, "reader", "team:north-1")
    for body in schemas["SearchBody"]["examples"]:
        found = client.post("/v1/search", json=body, headers=reader)
        _conforms(spec, client, "post", "/v1/search", found)


def test_the_pushed_record_documents_the_fields_the_parser_reads(spec: Spec) -> None:
    record = spec["components"]["schemas"]["PushedRecord"]
    assert set(record["properties"]) == {*record_module._FIELDS, "deleted"}
    assert set(record["required"]) == {"id", "text", "acl"}
    assert record["additionalProperties"] is True  # unknown keys are kept with the record
    subject = spec["components"]["schemas"]["PushedSubject"]
    assert set(subject["properties"]) == set(record_module._SUBJECT_KEYS)
    doc_types = record["properties"]["doc_type"]["anyOf"][0]["enum"]
    assert set(doc_types) == record_module.KNOWN_DOC_TYPES
