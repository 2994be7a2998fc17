"""Caller mistakes are answered (documented 4xx JSON), never crashed on: no traceback is logged
and the keep-alive connection stays usable; bodies are read only after authentication and
validated strictly; every answer says ``no-store``; the data folder is private."""

from __future__ import annotations

import json
import logging
import os
import socket
import stat
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

import pytest
from app_helpers import bearer
from fastapi.testclient import TestClient

from app.main import create_app
from app.services import Services
from app.settings import Settings

JSON = {"Content-Type": "application/json"}


def _mistakes(settings: Settings) -> list[tuple[str, str, bytes, dict[str, str], int]]:
    """(method, path, body, headers, expected status) of requests a client gets wrong."""
    alice = {**bearer(settings, "alice", "team:north"), **JSON}
    ingest = {**bearer(settings, "cms", "role:ingest"), **JSON}
    return [
        ("POST", "/v1/search", b'{"query": "   "}', alice, 422),
        ("POST", "/v1/search", b'{"query": "safety\\u0001plan"}', alice, 422),
        ("POST", "/v1/search", b'{"query": "plan", "doc_types": ["\\ud800"]}', alice, 422),
        ("POST", "/v1/search", b'{"query": "plan", "offset": false}', alice, 422),
        ("POST", "/v1/search", b'{"query": ', alice, 422),
        ("GET", "/v1/documents/" + "x" * 300, b"", alice, 422),
        ("GET", "/v1/audit?limit=0", b"", alice, 422),
        ("POST", "/v1/search", b'{"query": "plan"}', JSON, 401),
        ("POST", "/v1/records", b'{"records": [{"id": "X"}]}', alice, 403),
        ("POST", "/v1/records", b'{"records": [{"text": "\\ud800"}]}', ingest, 422),
        ("GET", "/v1/documents/NO-SUCH", b"", alice, 404),
    ]


def test_caller_mistakes_keep_the_connection_and_log_no_traceback(
    services: Services,
    settings: Settings,
    serve_live: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Before: these went through the catch-all handler in Starlette's ServerErrorMiddleware,
    which answered and re-raised: uvicorn logged a traceback and closed the connection without
    ``Connection: close``, so the next request on it was reset."""
    caplog.set_level(logging.INFO)
    alice = {**bearer(settings, "alice", "team:north"), **JSON}
    with serve_live(create_app(services=services), settings) as server:
        conn = HTTPConnection(server.host, server.port, timeout=30)
        answered = []
        try:
            for method, path, body, headers, expected in _mistakes(settings):
                conn.request(method, path, body=body or None, headers=headers)
                answer = conn.getresponse()
                payload = json.loads(answer.read())
                assert answer.getheader("connection") != "close"
                # The same connection answers the next request (RemoteDisconnected if not).
                conn.request("POST", "/v1/search", body=b'{"query": "safety plan"}', headers=alice)
                after = conn.getresponse()
                after.read()
                assert after.status == 200, (path, body)
                answered.append((path, body, expected, answer.status, payload))
        finally:
            conn.close()
    for path, body, expected, status, payload in answered:
        assert status == expected, (path, body, payload)
        assert set(payload["error"]) == {"code", "message"}
    tracebacks = [r for r in caplog.records if r.exc_info is not None]
    assert not tracebacks, [r.getMessage() for r in tracebacks]


def test_blank_and_control_character_queries_are_422_with_a_clear_message(
    client: TestClient, settings: Settings
) -> None:
    alice = bearer(settings, "alice", "team:north")
    blank = client.post("/v1/search", json={"query": " \t "}, headers=alice)
    assert blank.status_code == 422
    assert "query" in blank.json()["error"]["message"]
    assert "only spaces" in blank.json()["error"]["message"]
    control = client.post("/v1/search", json={"query": "plan\x00"}, headers=alice)
    assert control.status_code == 422
    assert "U+0000" in control.json()["error"]["message"]
    newline = client.post("/v1/search", json={"query": "safety\nplan"}, headers=alice)
    assert newline.status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        b'{"query": "\\ud800"}',
        b'{"query": "plan", "case_id": "\\udfff"}',
        b'{"query": "plan", "doc_types": ["visit_note", "\\ud800"]}',
    ],
)
def test_unencodable_strings_are_422(client: TestClient, settings: Settings, body: bytes) -> None:
    headers = {**bearer(settings, "alice", "team:north"), **JSON}
    answer = client.post("/v1/search", content=body, headers=headers)
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "invalid_request"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/search", b'{"query": '),
        ("/v1/search", b'{"query": 5, "top_k": 500}'),
        ("/v1/search", b'{"unexpected": true}'),
        ("/v1/events/open", b"[]"),
        ("/v1/records", b"not json"),
        ("/v1/records", b'{"records": []}'),
    ],
)
def test_without_a_valid_token_nothing_is_learnt_about_the_body(
    client: TestClient, settings: Settings, path: str, body: bytes
) -> None:
    """Before: a malformed body answered 422 with the parser's message before the token was
    looked at."""
    for headers in (JSON, {**JSON, "Authorization": "Bearer not-a-token"}):
        answer = client.post(path, content=body, headers=headers)
        assert answer.status_code == 401, answer.text
        assert answer.json()["error"]["code"] == "unauthorized"
        assert "body" not in answer.text.lower()


def test_pushing_without_the_ingest_role_is_403_before_the_body_is_read(
    client: TestClient, settings: Settings
) -> None:
    headers = {**bearer(settings, "alice", "team:north"), **JSON}
    answer = client.post("/v1/records", content=b"not json", headers=headers)
    assert answer.status_code == 403


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("offset", False),
        ("offset", "0"),
        ("top_k", "5"),
        ("top_k", 5.5),
        ("top_k", True),
        ("query", 5),
        ("case_id", 7),
        ("doc_types", "visit_note"),
    ],
)
def test_request_fields_are_not_coerced(
    client: TestClient, settings: Settings, field: str, value: Any
) -> None:
    """Before: ``offset: false`` was read as 0 and ``top_k: "5"`` as 5."""
    body = {"query": "safety plan", field: value}
    answer = client.post("/v1/search", json=body, headers=bearer(settings, "alice", "team:north"))
    assert answer.status_code == 422, answer.text
    assert field in answer.json()["error"]["message"]


def test_dates_are_still_iso_strings(client: TestClient, settings: Settings) -> None:
    body = {"query": "safety plan", "date_from": "2024-01-01", "date_to": "2024-12-31"}
    answer = client.post("/v1/search", json=body, headers=bearer(settings, "alice", "team:north"))
    assert answer.status_code == 200


def test_openapi_documents_every_error_answer_and_the_bodies(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    error_ref = "#/components/schemas/ErrorOut"
    for path, operations in spec["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for method, operation in operations.items():
            responses = operation["responses"]
            for status in ("401", "422", "429"):
                assert status in responses, (path, method, status)
                schema = responses[status]["content"]["application/json"]["schema"]
                if (path, method, status) == ("/v1/records", "post", "422"):
                    # a push none of whose records applied answers its per-record results too
                    refs = [option["$ref"] for option in schema["anyOf"]]
                    assert refs == ["#/components/schemas/RecordsRejected", error_ref]
                    continue
                assert schema == {"$ref": error_ref}, (path, method, status)
            if method == "post":
                body = operation["requestBody"]["content"]["application/json"]["schema"]
                name = body["$ref"].rsplit("/", 1)[1]
                assert name in spec["components"]["schemas"]
                assert "413" in responses
    assert "400" in spec["paths"]["/v1/search"]["post"]["responses"]
    assert "207" in spec["paths"]["/v1/records"]["post"]["responses"]
    search_body = spec["components"]["schemas"]["SearchBody"]
    assert search_body["additionalProperties"] is False


def test_every_answer_says_no_store_except_static_assets(
    client: TestClient, settings: Settings
) -> None:
    """Before: API answers quoting records carried no Cache-Control at all."""
    alice = bearer(settings, "alice", "team:north")
    answers = [
        client.post("/v1/search", json={"query": "safety plan"}, headers=alice),
        client.get("/v1/documents/OPEN-1", headers=alice),
        client.get("/v1/documents/NO-SUCH", headers=alice),
        client.get("/v1/cases/CASE-7/timeline", headers=alice),
        client.post("/v1/search", json={"query": "safety plan"}),
        client.post("/v1/search", json={"query": " "}, headers=alice),
        client.get("/healthz"),
        client.get("/openapi.json"),
    ]
    for answer in answers:
        assert answer.headers["cache-control"] == "no-store", answer.request.url
        assert answer.headers["pragma"] == "no-cache", answer.request.url
    static = sorted(p.name for p in (Path("app/web/static")).iterdir() if p.is_file())
    asset = client.get(f"/static/{static[0]}")
    assert asset.status_code == 200
    assert asset.headers.get("cache-control") != "no-store"


def test_the_data_folder_is_private_to_the_server(services: Services, settings: Settings) -> None:
    """Before: the store file was created 0644 (world-readable) under the usual umask."""
    previous = os.umask(0o022)
    try:
        loose = settings.data_dir / "left-by-an-older-version.sqlite3"
        loose.write_bytes(b"")
        loose.chmod(0o644)
        with TestClient(create_app(services=services)):
            created = settings.data_dir / "created-while-serving"
            created.write_bytes(b"")
            files = [p for p in settings.data_dir.iterdir() if p.is_file()]
            assert settings.store_path in files
            for path in files:
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
            assert stat.S_IMODE(settings.data_dir.stat().st_mode) == 0o700
    finally:
        os.umask(previous)


def test_an_oversized_header_is_refused_and_a_normal_one_served(
    services: Services, settings: Settings, serve_live: Any
) -> None:
    """Before: ``casesearch serve`` used httptools with no header limit (a 300 MB header was
    buffered). Now h11 refuses a head over ``max_header_bytes`` (64 KiB by default)."""
    assert settings.max_header_bytes == 64 * 1024
    with serve_live(create_app(services=services), settings) as server:
        conn = HTTPConnection(server.host, server.port, timeout=30)
        conn.request("GET", "/healthz", headers={"X-Padding": "a" * 8_000})
        assert conn.getresponse().status == 200
        conn.close()
        with socket.create_connection((server.host, server.port), timeout=10) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: ")
            try:
                sock.sendall(b"a" * 200_000)  # never finished: no end of line, no blank line
                answer = sock.recv(1024)
            except (ConnectionResetError, BrokenPipeError):
                answer = b""  # refused and closed before we read the answer
            except TimeoutError:
                pytest.fail("the server is still reading an endless header after 10 s")
        assert answer == b"" or answer.startswith(b"HTTP/1.1 400"), answer
