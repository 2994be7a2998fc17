"""Subject access and erasure: ``casesearch export-subject`` writes a person's records (within
the operator's rights) with who saw them; ``casesearch erase`` leaves no byte of the erased
text in any file of the data directory, a running server stops finding it, and the audit log
still verifies, keeping only that an erasure happened, by whom and why."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from app_helpers import bearer, settings_for_cli
from factories import make_record
from fastapi.testclient import TestClient

from app import cli
from app.audit import AuditQuery
from app.main import create_app
from app.services import Services, build_services
from app.settings import Settings, get_settings
from retrieval.embedding import CachedEmbedder, Embedder

CANARY = "qzvxcanarykw"  # lower-case: the lexical index keeps it as one term, verbatim
PERSON = {"id": "P-7001-1", "name": f"Ruby {CANARY}", "role": "child"}


@pytest.fixture
def cached_settings(settings: Settings) -> Settings:
    """The test settings with the embedding cache in the data directory switched on."""
    return settings.model_copy(
        update={"embedding": settings.embedding.model_copy(update={"cache": True})}
    )


@pytest.fixture
def planted(cached_settings: Settings, embedder: Embedder) -> Iterator[Services]:
    """Services with the embedding cache in the data directory and a record carrying the
    canary in its text, title and subject's name, beside two records about somebody else."""
    cache = CachedEmbedder(embedder, cached_settings.embedding_cache_path)
    built = build_services(cached_settings, embedder=cache)
    built.indexer.apply(
        [
            make_record(
                id="CANARY-1",
                case_id="CASE-7001",
                title=f"Visit to {CANARY}",
                text=f"Ruby {CANARY} said the marmalade sandwiches at school were her favourite.",
                acl=["team:north"],
                subjects=[PERSON],
            ),
            make_record(
                id="OTHER-1",
                case_id="CASE-7002",
                title="Visit",
                text="Kai talked about marmalade and football at the family centre.",
                acl=["team:north"],
                subjects=[{"id": "P-7002-1", "name": "Kai Brown", "role": "child"}],
            ),
            make_record(
                id="CANARY-2",
                case_id="CASE-7001",
                title="Managers' note",
                text="A note for managers about Ruby's placement.",
                acl=["team:managers"],
                subjects=[PERSON],
            ),
        ],
        source="test",
    )
    with built.store.transaction() as conn:
        built.store.record_failure(conn, "test", "CANARY-1", f"attachment of {CANARY} unreadable")
    yield built
    built.close()


def _use_cli_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASESEARCH_EMBEDDING__CACHE", "true")
    settings_for_cli(settings, monkeypatch)


def _canary_files(data_dir: Path) -> list[str]:
    """Files under ``data_dir`` holding the canary in UTF-8 or UTF-16 (any case)."""
    needles = [CANARY.encode(encoding) for encoding in ("utf-8", "utf-16-le", "utf-16-be")] + [
        CANARY.upper().encode("utf-8"),
        CANARY.capitalize().encode("utf-8"),
    ]
    found = []
    for path in sorted(data_dir.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if any(needle in data for needle in needles):
                found.append(str(path.relative_to(data_dir)))
    return found


def test_erase_leaves_no_canary_byte_and_the_audit_verifies(
    planted: Services,
    cached_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    alice = bearer(cached_settings, "alice", "team:north")
    with TestClient(create_app(services=planted)) as client:
        found = client.post("/v1/search", json={"query": CANARY}, headers=alice).json()
        assert found["results"][0]["document_id"] == "CANARY-1"
        opened = client.get(
            "/v1/documents/CANARY-1", params={"search_id": found["search_id"]}, headers=alice
        )
        assert opened.status_code == 200
        assert _canary_files(cached_settings.data_dir)  # the canary is there to be found

        _use_cli_settings(cached_settings, monkeypatch)
        try:
            code = cli.main(
                ["erase", "--subject", "P-7001-1", "--reason", "ticket DPO-42", "--by", "dpo"]
            )
            assert code == 0
            assert "erased 2 records" in capsys.readouterr().out
            assert cli.main(["audit", "verify"]) == 0
        finally:
            get_settings.cache_clear()

        # the running server no longer finds or opens it
        after = client.post("/v1/search", json={"query": "marmalade"}, headers=alice).json()
        assert [r["document_id"] for r in after["results"]] == ["OTHER-1"]
        assert client.get("/v1/documents/CANARY-1", headers=alice).status_code == 404
    planted.close()

    assert _canary_files(cached_settings.data_dir) == []
    erase = planted.audit.query(AuditQuery(action="erase")).events[0]
    assert erase.subject == "dpo"
    assert erase.record_ids == ("CANARY-1", "CANARY-2")
    assert erase.detail["reason"] == "ticket DPO-42"
    assert erase.detail["redacted_queries"] == [1]
    search = planted.audit.query(AuditQuery(action="search")).events[-1]
    assert search.query is None  # the text went, the event (who, when, which ids) stays
    assert search.record_ids[0] == "CANARY-1"
    assert planted.audit.verify().ok


def test_erase_needs_a_reason_and_a_target(
    planted: Services, cached_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_cli_settings(cached_settings, monkeypatch)
    try:
        with pytest.raises(SystemExit):
            cli.main(["erase", "--record", "CANARY-1"])
        assert cli.main(["erase", "--reason", "why"]) == 2
        assert cli.main(["erase", "--record", "CANARY-1", "--reason", "  "]) == 1
    finally:
        get_settings.cache_clear()
    assert planted.store.document("CANARY-1") is not None


def test_export_subject_writes_the_visible_records_and_who_saw_them(
    planted: Services,
    cached_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    bob = bearer(cached_settings, "bob", "team:north")
    with TestClient(create_app(services=planted)) as client:
        assert client.get("/v1/documents/CANARY-1", headers=bob).status_code == 200
    out = tmp_path / "export"
    _use_cli_settings(cached_settings, monkeypatch)
    try:
        args = ["export-subject", "P-7001-1", "--principal", "team:north", "--out", str(out)]
        assert cli.main(args) == 0
    finally:
        get_settings.cache_clear()
    records = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]
    assert [r["id"] for r in records] == ["CANARY-1"]  # CANARY-2 is for managers only
    assert records[0]["subjects"][0]["id"] == "P-7001-1"
    with (out / "audit.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["user"], r["action"], r["record_ids"]) for r in rows] == [
        ("bob", "view", "CANARY-1")
    ]
    exports = planted.audit.query(AuditQuery(action="export_subject")).events
    assert exports[0].record_ids == ("CANARY-1",)
