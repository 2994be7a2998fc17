"""A standing answer key (fail-safe issue, item 6): 1,000 random searches and 400 document
reads by random users through the real app, each checked against rights and filters computed
here from the records alone.

The key applies the DESIGN.md rule (some principal of the caller, ``user:<sub>`` included, in
``acl`` and none in ``deny``) and the request's filters (case, document types, dates) without
calling retrieval code. For every search: each returned id is in the key, ``total`` is at most
the key's size, no id repeats; a query naming a marker word that some key record holds (and at
most half of them, so no ranking rule may drop it as common) finds something. For every
document read: 200 if and only if the caller may see the record, else the same 404 as for an id
that does not exist.

``make bench``'s ``--only load`` is the throughput side; this is the correctness side, sized to
run in CI (about a minute here; the query pool is small so the embedding cache serves repeats).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from app_helpers import bearer
from factories import make_record
from fastapi.testclient import TestClient
from pydantic import SecretStr

from app.main import create_app
from app.services import build_services
from app.settings import LimitSettings, Settings
from retrieval.embedding import Embedder

pytestmark = [pytest.mark.slow]

SECRET = "answer-key-secret-of-at-least-thirty-two-bytes"
SEARCHES = 1_000
DOCUMENT_READS = 400
CASES = [f"CASE-{n:02d}" for n in range(1, 9)]
TEAMS = ["team:north", "team:south", "team:east", "team:west"]
DOC_TYPES = ["case_note", "visit_note", "safety_plan", "health_contact", "school_contact"]
SHARED = [
    "The social worker visited the family home and spoke with the child alone.",
    "Mum agreed to the safety plan and will supervise contact with dad.",
    "Police attended after a report of an argument at the address overnight.",
    "The health visitor saw the baby and recorded her weight.",
    "School reports poor attendance this half term.",
    "Home conditions were cluttered and the kitchen was dirty.",
    "The child said she felt safe at her grandmother's house.",
    "The family support worker helped with a referral to the food bank.",
]
# Words no shared sentence holds: a record holding one is findable by it, by BM25 alone.
MARKERS = [
    "trampoline", "violin", "aquarium", "skateboard", "harmonica", "telescope", "chessboard",
    "canoe", "hamster", "xylophone", "lighthouse", "pottery", "origami", "accordion",
    "kayak", "snorkel", "tambourine", "hedgehog", "windmill", "scooter",
]  # fmt: skip
USERS: dict[str, list[str]] = {
    "alice": ["team:north"],
    "bob": ["team:north"],
    "carol": ["team:south", "role:qa"],
    "dave": ["team:north", "team:managers"],
    "erin": ["team:east"],
    "fred": ["team:west", "team:south"],
    "gina": ["role:qa"],
    "mia": ["team:managers"],
    "nobody": [],
}
PHRASES = [
    "safety plan",
    "police attended",
    "school attendance",
    "home conditions",
    "health visitor weight",
    "food bank referral",
    "grandmother",
    "supervise contact",
]


def _records() -> list[dict[str, Any]]:
    """300 records over 8 cases and 4 teams, with managers-only, QA-shared, per-user and
    denied records (bob and dave hold both an allowed and a denied principal of some)."""
    rng = random.Random(6)
    start = dt.date(2022, 1, 1)
    out = []
    for n in range(300):
        case = n % len(CASES)
        team = TEAMS[case % len(TEAMS)]
        acl, deny = [team], []
        if n % 11 == 4:
            acl = ["team:managers"]
        if n % 5 == 0:
            acl.append("role:qa")
        if n % 17 == 3:
            acl.append("user:erin")
        if n % 6 == 4:
            deny.append("user:bob")
        if n % 7 == 2:
            deny.append("team:managers")
        if n % 13 == 5:
            deny.append("role:qa")
        markers = rng.sample(MARKERS, 2)
        text = " ".join(rng.sample(SHARED, rng.randint(1, 3)))
        text += f" The child talked about the {markers[0]} and the {markers[1]}."
        out.append(
            {
                "id": f"AK-{n:04d}",
                "case_id": CASES[case],
                "doc_type": DOC_TYPES[rng.randrange(len(DOC_TYPES))],
                "title": f"Record {n}",
                "text": text,
                "created_at": (start + dt.timedelta(days=rng.randrange(900))).isoformat(),
                "acl": acl,
                "deny": deny,
            }
        )
    return out


RECORDS = _records()
BY_ID = {r["id"]: r for r in RECORDS}


def may_see(user: str, record: dict[str, Any]) -> bool:
    held = set(USERS[user]) | {f"user:{user}"}
    return bool(held & set(record["acl"])) and not held & set(record["deny"])


@dataclass(frozen=True)
class Filters:
    case_id: str | None
    doc_types: list[str] | None
    date_from: str | None
    date_to: str | None

    def admit(self, record: dict[str, Any]) -> bool:
        return (
            (self.case_id is None or record["case_id"] == self.case_id)
            and (not self.doc_types or record["doc_type"] in self.doc_types)
            and (self.date_from is None or record["created_at"] >= self.date_from)
            and (self.date_to is None or record["created_at"] <= self.date_to)
        )

    def body(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v is not None}


def answer_key(user: str, filters: Filters) -> set[str]:
    return {r["id"] for r in RECORDS if may_see(user, r) and filters.admit(r)}


def random_filters(rng: random.Random) -> Filters:
    def day() -> str | None:
        if rng.random() < 0.6:
            return None
        return (dt.date(2021, 10, 1) + dt.timedelta(days=rng.randrange(1000))).isoformat()

    case = rng.choice([*CASES, "CASE-99"]) if rng.random() < 0.5 else None
    types = rng.sample(DOC_TYPES, rng.randint(1, 3)) if rng.random() < 0.3 else None
    return Filters(case, types, day(), day())


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
    rng = random.Random(20261206)
    tokens = {user: _auth(user) for user in USERS}
    queries = MARKERS + PHRASES + [f"{a} {b}" for a, b in zip(MARKERS, MARKERS[3:], strict=False)]
    checked_nonempty = failures = 0
    problems: list[str] = []
    for i in range(SEARCHES):
        user = rng.choice(sorted(USERS))
        query = rng.choice(queries)
        filters = random_filters(rng)
        body = {"query": query, "top_k": rng.choice([5, 10, 50]), **filters.body()}
        response = client.post("/v1/search", json=body, headers=tokens[user])
        if response.status_code != 200:
            problems.append(f"{i}: {user} {body} -> {response.status_code} {response.text}")
            continue
        answer = response.json()
        ids = [r["document_id"] for r in answer["results"]]
        key = answer_key(user, filters)
        if not set(ids) <= key or len(ids) != len(set(ids)) or answer["total"] > len(key):
            failures += 1
            problems.append(
                f"{i}: {user} {body}: outside the key {sorted(set(ids) - key)}, "
                f"total {answer['total']} > key {len(key)}?"
            )
        if query in MARKERS:
            holding = [rid for rid in key if query in BY_ID[rid]["text"]]
            if holding and len(holding) * 2 <= len(key):
                checked_nonempty += 1
                if not ids:
                    problems.append(f"{i}: {user} {body}: empty, but {holding} hold {query!r}")
    assert problems == [], "\n".join(problems[:20])
    assert failures == 0
    assert checked_nonempty >= 100  # the positive half of the key is exercised too


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
