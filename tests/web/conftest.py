"""Fixtures for the page tests: the tiny case file indexed with the real model, a client."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

# Helpers live beside the tests (unique names); under --import-mode=importlib this folder is
# not on sys.path by itself.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.append(_HERE)

from web_case_file import case_file, web_settings  # noqa: E402

from app.main import create_app  # noqa: E402
from app.services import Services, build_services  # noqa: E402
from retrieval.embedding import Embedder  # noqa: E402


@pytest.fixture(scope="module")
def web_services(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[Services]:
    settings = web_settings(tmp_path_factory.mktemp("web"))
    services = build_services(settings, embedder=embedder)
    services.indexer.apply(case_file(), source="test")
    yield services
    services.close()


@pytest.fixture(scope="module")
def app_client(web_services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services=web_services), follow_redirects=False) as client:
        yield client


@pytest.fixture
def client(app_client: TestClient) -> Iterator[TestClient]:
    """The shared client with no cookies left over from another test."""
    app_client.cookies.clear()
    yield app_client
    app_client.cookies.clear()
