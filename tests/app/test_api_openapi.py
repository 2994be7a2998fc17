"""The OpenAPI document describes every endpoint a CMS developer may call, with its errors."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_openapi_lists_every_endpoint_with_its_error_answers(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    expected = {
        ("/v1/search", "post"): {"401", "429", "503"},
        ("/v1/documents/{document_id}", "get"): {"401", "404", "503"},
        ("/v1/cases/{case_id}/timeline", "get"): {"401", "503"},
        ("/v1/records", "post"): {"401", "403"},
        ("/v1/records/{record_id}", "delete"): {"401", "403"},
        ("/v1/audit", "get"): {"401", "403"},
        ("/v1/events/open", "post"): {"401", "404"},
        ("/v1/metrics/time-to-find", "get"): {"401", "403"},
    }
    for (path, method), statuses in expected.items():
        operation = paths[path][method]
        assert statuses <= set(operation["responses"]), (path, method)
        assert operation.get("description") or operation.get("summary")
    search_body = spec["components"]["schemas"]["SearchBody"]
    assert search_body["examples"]
    assert search_body["properties"]["query"]["maxLength"] == 1000
