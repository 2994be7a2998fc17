"""The client's fixtures: a real server over the small case file, indexed with the real model,
and each kind of client (``CaseSearch``, ``AsyncCaseSearch``) for every test that asks."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# Helpers live beside the tests (unique names); under --import-mode=importlib this folder is
# not on sys.path by itself.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.append(_HERE)

from client_kinds import KINDS, Kind  # noqa: E402
from client_server import case_file, client_settings, serving  # noqa: E402

from app.services import build_services  # noqa: E402
from app.settings import Settings  # noqa: E402
from retrieval.embedding import Embedder  # noqa: E402


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[tuple[str, Settings]]:
    """A real server over ``case_file()``; its URL and settings (no rate limit)."""
    settings = client_settings(tmp_path_factory.mktemp("client"))
    services = build_services(settings, embedder=embedder)
    services.indexer.apply(case_file(), source="test")
    with serving(services) as url:
        yield url, settings
    services.close()


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> Kind:
    """The client under test: ``sync`` (``CaseSearch``) or ``async`` (``AsyncCaseSearch``)."""
    chosen: Kind = request.param
    return chosen
