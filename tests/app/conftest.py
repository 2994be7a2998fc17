"""API fixtures: settings over a fresh data folder, services over three records, a client,
and a real server in a thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from factories import make_record
from fastapi.testclient import TestClient
from pg_schema import postgresql_schema
from pydantic import SecretStr

from app.main import create_app, server_options
from app.services import Services, build_services
from app.settings import Settings
from retrieval.embedding import Embedder

SECRET = "test-secret-of-at-least-thirty-two-bytes"


@pytest.fixture
def settings(backend: str, tmp_path: Path) -> Iterator[Settings]:
    """Settings over a fresh data folder; the record store on ``backend`` (a test marked
    ``conformance`` runs on PostgreSQL too, tests/conftest.py)."""
    if backend == "sqlite":
        yield Settings(data_dir=tmp_path, jwt_secret=SecretStr(SECRET), progress=False)
        return
    with postgresql_schema() as url:
        yield Settings(
            data_dir=tmp_path, database_url=url, jwt_secret=SecretStr(SECRET), progress=False
        )


@pytest.fixture
def services(settings: Settings, embedder: Embedder) -> Iterator[Services]:
    """Three CASE-7 records: one for team:north, one for managers only, one hidden from bob."""
    built = build_services(settings, embedder=embedder)
    built.indexer.apply(
        [
            make_record(
                id="OPEN-1",
                case_id="CASE-7",
                doc_type="safety_plan",
                title="Safety plan v1",
                text="Safety plan agreed. Mum will supervise contact with dad.",
                created_at="2024-03-02",
                acl=["team:north"],
            ),
            make_record(
                id="SECRET-1",
                case_id="CASE-7",
                doc_type="case_note",
                title="Restricted note",
                text="Safety plan concerns raised by the team manager in confidence.",
                created_at="2024-03-05",
                acl=["team:managers"],
            ),
            make_record(
                id="DENIED-1",
                case_id="CASE-7",
                doc_type="case_note",
                title="Conflict of interest",
                text="Safety plan discussed with the worker's relative present.",
                created_at="2024-03-04",
                acl=["team:north"],
                deny=["user:bob"],
            ),
        ],
        source="test",
    )
    yield built
    built.close()


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services=services)) as test_client:
        yield test_client


@dataclass(frozen=True)
class LiveServer:
    """A real uvicorn server (``casesearch serve``'s options) on a local port, in a thread."""

    url: str
    host: str
    port: int


@contextmanager
def live_server(app: Any, settings: Settings) -> Iterator[LiveServer]:
    """Serve ``app`` with ``server_options(settings)`` until the block ends.

    uvicorn's logging is left unconfigured so that its records (a traceback for an exception
    that escaped the app) reach pytest's ``caplog``.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    options = {**server_options(settings), "log_config": None}
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.05)
    try:
        yield LiveServer(url=f"http://127.0.0.1:{port}", host="127.0.0.1", port=port)
    finally:
        server.should_exit = True
        thread.join(timeout=60)


ServeLive = Callable[[Any, Settings], AbstractContextManager[LiveServer]]


@pytest.fixture
def serve_live() -> ServeLive:
    """``live_server``, for test modules (which cannot import this conftest by name)."""
    return live_server
