"""API fixtures: settings over a fresh data folder, services over three records, a client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from factories import make_record
from fastapi.testclient import TestClient
from pydantic import SecretStr

from app.main import create_app
from app.services import Services, build_services
from app.settings import Settings
from retrieval.embedding import Embedder

SECRET = "test-secret-of-at-least-thirty-two-bytes"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, jwt_secret=SecretStr(SECRET), progress=False)


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
