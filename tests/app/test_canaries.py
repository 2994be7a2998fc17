"""Canaries (fail-safe issue, item 6): restricted records carry unique strings in their text,
title, case id and author; users who may not see them search, ask pattern questions, read
documents and timelines and (an auditor) read the audit log of all that, over real HTTP against
a ``casesearch serve`` subprocess whose output is captured. No canary may appear in any response
body, any response header or any line the server logged.

The queries share the restricted records' vocabulary (they would match them but for the
rights), and never contain a canary themselves: the answers echo the query and the access log
the path, which would make the check trivially fail.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from app.auth import mint_token
from app.settings import Settings
from evaluation.bench.process import casesearch_command
from evaluation.bench.process import server as running_server

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.conformance]

SECRET = "canary-secret-of-at-least-thirty-two-bytes!"
SENTENCES = [
    "The social worker visited the family home and spoke with the child alone.",
    "Police attended after a report of domestic abuse at the address overnight.",
    "Home conditions were poor with no food in the fridge and dirty bedding.",
    "The young person went missing again; concerns about criminal exploitation.",
    "The GP reported missed immunisations and an unexplained bruise on the arm.",
    "Mum agreed to the safety plan and will supervise all contact with dad.",
]
QUERIES = [
    "police domestic abuse",
    "home conditions",
    "missing criminal exploitation",
    "unexplained bruise",
    "safety plan",
    "child seen alone",
    "neglect",
    "latest safety plan",
]
CATEGORIES = ["neglect", "domestic_abuse", "criminal_exploitation", "physical_abuse"]
# Who may see what: the restricted records are for team:secret only, or denied to the users.
USERS: dict[str, list[str]] = {
    "alice": ["team:north"],
    "bob": ["team:north", "role:qa"],
    "carol": ["team:south"],
}
PUBLIC_CASES = ["CASE-N1", "CASE-N2", "CASE-S1"]


def _canary(rng: random.Random) -> str:
    return f"Zq{rng.getrandbits(64):016x}Kv"


def _records(rng: random.Random) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """60 visible records and 30 restricted ones, each restricted one with canaries in its
    text, title, author and (where its case holds nothing visible) case id: canary -> where."""
    records: list[dict[str, Any]] = []
    canaries: dict[str, str] = {}
    for n in range(60):
        case = PUBLIC_CASES[n % len(PUBLIC_CASES)]
        records.append(
            {
                "id": f"PUB-{n:03d}",
                "case_id": case,
                "doc_type": "case_note",
                "title": f"Visit {n}",
                "text": " ".join(rng.sample(SENTENCES, 3)),
                "created_at": f"2024-{1 + n % 12:02d}-{1 + n % 28:02d}",
                "author": "Sam Worker",
                "acl": ["team:north"] if case.startswith("CASE-N") else ["team:south"],
                "deny": [],
            }
        )
    for n in range(30):
        text_canary, title_canary, case_canary, author_canary = (_canary(rng) for _ in range(4))
        canaries |= {text_canary: "text", title_canary: "title", author_canary: "author"}
        kind = n % 3
        # 0: another team's own case; 1: in a visible case, denied to its team; 2: user-only
        acl = ["team:secret"] if kind == 0 else ["team:north", "team:south", "role:qa"]
        deny = ["team:north", "team:south", "role:qa"] if kind == 1 else []
        if kind == 2:
            acl = ["user:zed"]
        records.append(
            {
                "id": f"RES-{n:03d}",
                # a canary case id only where no visible record shares the case
                "case_id": case_canary if kind != 1 else PUBLIC_CASES[n % len(PUBLIC_CASES)],
                "doc_type": "safety_plan" if n % 2 else "case_note",
                "title": f"Restricted {title_canary}",
                "text": f"{' '.join(rng.sample(SENTENCES, 3))} Code word {text_canary}.",
                "created_at": f"2024-{1 + n % 12:02d}-{1 + n % 28:02d}",
                "author": f"Author {author_canary}",
                "acl": acl,
                "deny": deny,
            }
        )
        if kind != 1:  # kind 1 lives in a visible case
            canaries[case_canary] = "case_id"
    return records, canaries


@pytest.mark.timeout(900)
def test_no_canary_reaches_a_response_or_the_log(tmp_path: Path) -> None:
    rng = random.Random(int.from_bytes(secrets.token_bytes(4)))
    records, canaries = _records(rng)
    source = tmp_path / "records.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    data_dir = tmp_path / "data"
    env = {
        **os.environ,
        "CASESEARCH_DATA_DIR": str(data_dir),
        "CASESEARCH_JWT_SECRET": SECRET,
        "CASESEARCH_PROGRESS": "false",
        "CASESEARCH_LIMITS__RATE_LIMIT_PER_MINUTE": "1000000",
        "OMP_NUM_THREADS": "2",
        "TOKENIZERS_PARALLELISM": "false",
    }
    indexed = subprocess.run(
        [*casesearch_command(), "index", "--source", f"jsonl:{source}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert indexed.returncode == 0, indexed.stderr
    config = Settings(data_dir=data_dir, jwt_secret=SecretStr(SECRET), progress=False)
    tokens = {u: mint_token(config, u, p) for u, p in USERS.items()}
    tokens["auditor"] = mint_token(config, "auditor", ["role:auditor"])
    answers: list[httpx.Response] = []
    log_path = tmp_path / "server.log"

    with (
        running_server(env, log_path) as (url, _pid),
        httpx.Client(base_url=url, timeout=60) as http,
    ):

        def call(method: str, path: str, user: str, **kwargs: Any) -> httpx.Response:
            headers = {"Authorization": f"Bearer {tokens[user]}"}
            response = http.request(method, path, headers=headers, **kwargs)
            answers.append(response)
            assert response.status_code < 500, response.text
            return response

        searched = 0
        for user in USERS:
            for query in QUERIES:
                for case in (None, *PUBLIC_CASES):
                    body: dict[str, Any] = {"query": query, "top_k": 50}
                    if case is not None:
                        body["case_id"] = case
                    if call("POST", "/v1/search", user, json=body).status_code == 200:
                        searched += 1
            for category in CATEGORIES:
                call("POST", "/v1/patterns", user, json={"category": category, "all": True})
            for query in QUERIES[:4]:
                call("POST", "/v1/patterns", user, json={"query": query, "all": True})
            for record in records:  # the ids themselves are not canaries
                call("GET", f"/v1/documents/{record['id']}", user)
            for case in PUBLIC_CASES:
                call("GET", f"/v1/cases/{case}/timeline", user)
        audit = call("GET", "/v1/audit", "auditor", params={"limit": 1000})
        assert audit.status_code == 200
        assert searched >= 0.9 * len(USERS) * len(QUERIES) * (1 + len(PUBLIC_CASES))
    log = log_path.read_bytes()

    assert len(answers) > 300
    assert len(log) > 0
    needles = {c.lower().encode(): kind for c, kind in canaries.items()}
    leaks: list[str] = []
    for response in answers:
        where = f"{response.request.method} {response.request.url.path}"
        body_bytes = response.content.lower()
        header_bytes = "\n".join(f"{k}: {v}" for k, v in response.headers.items()).lower()
        for needle, kind in needles.items():
            # The audit log names the case of a denied attempt, for the auditor, by design
            # (``app.actions.open_document``); its content never.
            if kind == "case_id" and where == "GET /v1/audit":
                continue
            if needle in body_bytes:
                leaks.append(f"{where}: body holds the {kind} canary {needle!r}")
            if needle.decode() in header_bytes:
                leaks.append(f"{where}: a header holds the {kind} canary {needle!r}")
    leaks += [
        f"server log holds the {k} canary {n!r}" for n, k in needles.items() if n in log.lower()
    ]
    assert leaks == [], "\n".join(leaks[:20])
    # the visible records were found, so the check is not vacuous
    assert any(b"PUB-" in r.content for r in answers if r.request.url.path == "/v1/search")
