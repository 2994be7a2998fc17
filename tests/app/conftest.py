from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.services import build_services
from app.settings import Settings
from factories import make_record
from retrieval.embedding import Embedder


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, jwt_secret="test-secret-of-at-least-thirty-two-bytes", progress=False)  # type: ignore[arg-type]


@pytest.fixture
def client(settings: Settings, embedder: Embedder) -> Iterator[TestClient]:
    services = build_services(settings, embedder=embedder)
    services.indexer.apply(
        [
            make_record(id="OPEN-1", case_id="CASE-7", doc_type="safety_plan",
                        title="Safety plan v1",
                        text="Safety plan agreed. Mum will supervise contact with dad.",
                        acl=["team:north"]),
            make_record(id="SECRET-1", case_id="CASE-7", doc_type="case_note",
                        title="Restricted note",
                        text="Safety plan concerns raised by the team manager in confidence.",
                        acl=["team:managers"]),
            make_record(id="DENIED-1", case_id="CASE-7", doc_type="case_note",
                        title="Conflict of interest",
                        text="Safety plan discussed with the worker's relative present.",
                        acl=["team:north"], deny=["user:bob"]),
        ],
        source="test",
    )
    with TestClient(create_app(services=services)) as test_client:
        yield test_client
    services.close()
