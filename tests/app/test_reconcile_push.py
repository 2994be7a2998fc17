"""The push API with Qdrant configured (``CASESEARCH_QDRANT_URL=local:PATH``), on both store
backends: a pushed record is in Qdrant before the push answers and found by the next search;
a pushed revocation is a payload update in force at once; a push while Qdrant fails is still
applied (the store has it) and the next push replays what Qdrant missed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from app_helpers import bearer
from fastapi.testclient import TestClient

from app.main import create_app
from app.services import Services, build_services
from app.settings import Settings
from retrieval.embedding import Embedder

pytestmark = pytest.mark.conformance

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def qdrant_services(settings: Settings, embedder: Embedder, tmp_path: Path) -> Iterator[Services]:
    configured = settings.model_copy(update={"qdrant_url": f"local:{tmp_path / 'qdrant'}"})
    built = build_services(configured, embedder=embedder)
    yield built
    built.close()


@pytest.fixture
def api(qdrant_services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services=qdrant_services)) as client:
        yield client


def _record(rid: str, text: str, acl: list[str]) -> dict[str, Any]:
    return {"id": rid, "case_id": "CASE-9", "text": text, "acl": acl}


def _push(api: TestClient, settings: Settings, *records: dict[str, Any]) -> Any:
    headers = {**bearer(settings, "cms", "role:ingest"), **JSON}
    return api.post("/v1/records", content=json.dumps({"records": list(records)}), headers=headers)


def _found(api: TestClient, settings: Settings, query: str) -> list[str]:
    answer = api.post(
        "/v1/search",
        json={"query": query},
        headers=bearer(settings, "alice", "team:north"),
    )
    assert answer.status_code == 200, answer.text
    return [h["document_id"] for h in answer.json()["results"]]


def _allow(services: Services, rid: str) -> set[tuple[str, ...]]:
    assert services.qdrant is not None
    points, _ = services.qdrant.client.scroll(services.qdrant.name, limit=100, with_payload=True)
    return {
        tuple(p.payload["allow"]) for p in points if p.payload and p.payload["record_id"] == rid
    }


def test_a_push_reaches_qdrant_before_it_answers_and_a_revocation_is_in_force(
    api: TestClient, qdrant_services: Services, settings: Settings
) -> None:
    text = "The GP wrote about the child's asthma and missed inhaler reviews."
    assert _push(api, settings, _record("P-1", text, ["team:north"])).status_code == 200
    assert qdrant_services.qdrant is not None
    assert qdrant_services.qdrant.acknowledged(qdrant_services.store) == (
        qdrant_services.store.generation()
    )
    assert _allow(qdrant_services, "P-1") == {("team:north",)}
    assert "P-1" in _found(api, settings, "asthma inhaler")
    assert _push(api, settings, _record("P-1", text, ["team:south"])).json()["acl_changed"] == 1
    assert _allow(qdrant_services, "P-1") == {("team:south",)}
    assert "P-1" not in _found(api, settings, "asthma inhaler")


def test_a_push_while_qdrant_fails_is_applied_and_replayed_by_the_next(
    api: TestClient,
    qdrant_services: Services,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    index = qdrant_services.qdrant
    assert index is not None

    def down(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("qdrant is down")

    with monkeypatch.context() as patched:
        patched.setattr(index.client, "upsert", down)
        answer = _push(
            api, settings, _record("P-2", "Police attended a domestic incident.", ["team:north"])
        )
        assert answer.status_code == 200  # the store has it
    assert "could not follow" in caplog.text
    assert _allow(qdrant_services, "P-2") == set()
    assert index.acknowledged(qdrant_services.store) != qdrant_services.store.generation()
    assert (
        _push(api, settings, _record("P-3", "School nurse visit.", ["team:north"])).status_code
        == 200
    )
    assert _allow(qdrant_services, "P-2") == {("team:north",)}  # replayed
    assert index.acknowledged(qdrant_services.store) == qdrant_services.store.generation()
    assert "P-2" in _found(api, settings, "domestic incident police")
