"""A standing answer key (fail-safe issue, item 6): 1,000 random searches and 400 document
reads by random users through the real app, each checked against rights and filters computed
here from the records alone.

The key (``evaluation.answer_key``) applies the DESIGN.md rule (some principal of the caller,
``user:<sub>`` included, in ``acl`` and none in ``deny``) and the request's filters without
calling retrieval code. For every search: each returned id is in the key, ``total`` is at most
the key's size, no id repeats; a query naming a marker word that some key record holds (and at
most half of them, so no ranking rule may drop it as common) finds something. For every
document read: 200 if and only if the caller may see the record, else the same 404 as for an id
that does not exist.

``make bench``'s ``--only load`` is the throughput side; this is the correctness side, sized to
run in CI (about a minute here; the query pool is small so the embedding cache serves repeats).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from app_helpers import bearer
from factories import make_record
from fastapi.testclient import TestClient
from pydantic import SecretStr

from app.main import create_app
from app.services import build_services
from app.settings import LimitSettings, Settings
from evaluation.answer_key import (
    MARKERS,
    SHARED,
    USERS,
    AnswerKey,
    key_records,
    may_see,
    random_searches,
)
from retrieval.embedding import Embedder

pytestmark = [pytest.mark.slow, pytest.mark.conformance]

SECRET = "answer-key-secret-of-at-least-thirty-two-bytes"
SEARCHES = 1_000
DOCUMENT_READS = 400
RECORDS = key_records()


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=Path(tmp_path_factory.mktemp("answer-key")),
        jwt_secret=SecretStr(SECRET),
        progress=False,
        limits=LimitSettings(rate_limit_per_minute=0),
    )
    services = build_services(settings, embedder=embedder)
    services.indexer.apply([make_record(**r) for r in RECORDS], source="answer-key")
    with TestClient(create_app(services=services)) as test_client:
        yield test_client
    services.close()


def _auth(user: str) -> dict[str, str]:
    settings = Settings(jwt_secret=SecretStr(SECRET), progress=False)
    return bearer(settings, user, *USERS[user])


def test_the_records_cover_every_rule() -> None:
    for user, principal in (("bob", "user:bob"), ("dave", "team:managers")):
        held = set(USERS[user]) | {f"user:{user}"}
        assert sum(1 for r in RECORDS if held & set(r["acl"]) and principal in r["deny"]) >= 5
    assert all(any(m in r["text"] for r in RECORDS) for m in MARKERS)
    assert not any(m in s for m in MARKERS for s in SHARED)


def test_random_searches_agree_with_the_answer_key(client: TestClient) -> None:
    tokens = {user: _auth(user) for user in USERS}
    key = AnswerKey(RECORDS)
    for search in random_searches(SEARCHES, seed=20261206):
        response = client.post("/v1/search", json=search.body(), headers=tokens[search.user])
        key.check(search, response.status_code, response.json() if response.is_success else None)
    assert key.problems == [], "\n".join(key.problems[:20])
    assert key.checked == SEARCHES
    assert key.checked_nonempty >= 100  # the positive half of the key is exercised too


def test_random_document_reads_agree_with_the_answer_key(client: TestClient) -> None:
    rng = random.Random(7)
    tokens = {user: _auth(user) for user in USERS}
    missing = {user: client.get("/v1/documents/AK-9999", headers=tokens[user]) for user in USERS}
    allowed = denied = 0
    for _ in range(DOCUMENT_READS):
        user = rng.choice(sorted(USERS))
        record = rng.choice(RECORDS)
        response = client.get(f"/v1/documents/{record['id']}", headers=tokens[user])
        if may_see(user, record):
            allowed += 1
            assert response.status_code == 200, (user, record["id"])
            assert response.json()["text"] == record["text"]
        else:
            denied += 1
            assert response.status_code == 404, (user, record["id"])
            assert response.content == missing[user].content
            assert response.headers["content-length"] == missing[user].headers["content-length"]
    assert allowed >= 50
    assert denied >= 50
