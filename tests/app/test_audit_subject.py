"""Audit by data subject: every event carries the people its records name, so an auditor can
answer "who looked up this child, when, and what did they see" (API, CLI CSV), and logs
written before person ids existed still verify."""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from app_helpers import bearer, settings_for_cli
from factories import make_record
from fastapi.testclient import TestClient

from app import cli
from app.audit import AuditEntry, AuditEvent, AuditLog, AuditQuery, canonical_json, chain_hash
from app.services import Services
from app.settings import Settings, get_settings
from retrieval.store import RecordStore

pytestmark = pytest.mark.conformance

AUDITOR = ("auditor-1", "role:auditor")
CHILD = {"id": "P-1042-1", "name": "Ruth Okafor", "role": "child"}
MOTHER = {"id": "P-1042-2", "name": "Grace Okafor", "role": "mother"}


@pytest.fixture
def about_ruth(services: Services) -> Services:
    services.indexer.apply(
        [
            make_record(
                id="RUTH-1",
                case_id="CASE-1042",
                title="Home visit",
                text="Visited Ruth at home; the bedroom was clean and warm.",
                acl=["team:north"],
                subjects=[CHILD, MOTHER],
            ),
            make_record(
                id="RUTH-2",
                case_id="CASE-1042",
                title="School report",
                text="Ruth's attendance at school has improved this term.",
                acl=["team:managers"],
                subjects=[CHILD],
            ),
        ],
        source="test",
    )
    return services


def _events(client: TestClient, settings: Settings, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/v1/audit", params=params, headers=bearer(settings, *AUDITOR))
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["events"]
    return events


def test_who_looked_up_this_child_and_what_they_saw(
    about_ruth: Services, client: TestClient, settings: Settings
) -> None:
    alice = bearer(settings, "alice", "team:north")
    found = client.post("/v1/search", json={"query": "home visit bedroom"}, headers=alice).json()
    assert "RUTH-1" in [r["document_id"] for r in found["results"]]
    assert client.get("/v1/documents/RUTH-1", headers=alice).status_code == 200
    assert client.get("/v1/documents/OPEN-1", headers=alice).status_code == 200  # nobody's

    events = _events(client, settings, person="P-1042-1")
    assert [(e["subject"], e["action"]) for e in events] == [("alice", "view"), ("alice", "search")]
    assert events[0]["record_ids"] == ["RUTH-1"]
    assert events[0]["person_ids"] == ["P-1042-1", "P-1042-2"]  # the child and her mother
    assert events[1]["query"] == "home visit bedroom"
    assert events[1]["query_digest"]  # the chain holds the digest, the text is kept apart
    mother = _events(client, settings, person="P-1042-2")
    assert [e["action"] for e in mother] == ["view", "search"]
    # ``subject`` stays the user who acted; the reading of the log is itself audited
    assert _events(client, settings, person="P-1042-1", subject="bob") == []
    audit_reads = _events(client, settings, action="audit_query")
    assert audit_reads[-1]["filters"]["person"] == "P-1042-1"
    assert about_ruth.audit.verify().ok


def test_cli_exports_the_persons_audit_as_csv(
    about_ruth: Services,
    client: TestClient,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    bob = bearer(settings, "bob", "team:managers")
    assert client.get("/v1/documents/RUTH-2", headers=bob).status_code == 200
    settings_for_cli(settings, monkeypatch)
    try:
        out = tmp_path / "ruth.csv"
        assert cli.main(["audit", "subject", "P-1042-1", "--csv", "--out", str(out)]) == 0
        assert cli.main(["audit", "verify"]) == 0
    finally:
        get_settings.cache_clear()
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [(r["user"], r["action"], r["record_ids"]) for r in rows] == [("bob", "view", "RUTH-2")]
    assert rows[0]["person_ids"] == "P-1042-1"


@pytest.mark.embedded_only  # edits the SQLite file around the triggers
def test_person_ids_and_query_text_are_covered_by_the_chain(
    about_ruth: Services, client: TestClient, settings: Settings
) -> None:
    alice = bearer(settings, "alice", "team:north")
    client.post("/v1/search", json={"query": "bedroom"}, headers=alice)
    client.get("/v1/documents/RUTH-1", headers=alice)
    assert about_ruth.audit.verify().ok
    path = settings.store_path
    with sqlite3.connect(path, isolation_level=None) as conn:
        conn.execute("DROP TRIGGER audit_persons_no_delete")
        conn.execute("DELETE FROM audit_persons WHERE seq = 2")
    report = about_ruth.audit.verify()
    assert (report.ok, report.first_bad, report.reason) == (False, 2, "person index differs")

    with sqlite3.connect(path, isolation_level=None) as conn:
        conn.execute(
            "INSERT INTO audit_persons SELECT 2, person_id FROM audit_persons WHERE seq = 1"
        )
        conn.execute("DROP TRIGGER audit_queries_no_update")
        conn.execute("UPDATE audit_queries SET query = 'something else' WHERE seq = 1")
    report = about_ruth.audit.verify()
    assert (report.first_bad, report.reason) == (1, "query text does not match its digest")

    with sqlite3.connect(path, isolation_level=None) as conn:
        conn.execute("DELETE FROM audit_queries WHERE seq = 1")  # not through an erasure
    report = about_ruth.audit.verify()
    assert (report.first_bad, report.reason) == (1, "query text removed without an erasure")


_LEGACY_DDL = """CREATE TABLE audit_events (
    seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, at TEXT NOT NULL,
    subject TEXT NOT NULL, principals TEXT NOT NULL, action TEXT NOT NULL, query TEXT,
    filters TEXT NOT NULL, record_ids TEXT NOT NULL, case_ids TEXT NOT NULL,
    detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
CREATE TABLE audit_refs (
    seq INTEGER NOT NULL REFERENCES audit_events (seq),
    kind TEXT NOT NULL CHECK (kind IN ('case', 'record')), ref TEXT NOT NULL,
    PRIMARY KEY (kind, ref, seq));"""


def test_a_log_written_before_person_ids_still_verifies_after_new_events(
    tmp_path: Path,
) -> None:
    """An event hashed the old way (query text in the chain, no person ids) stays valid next
    to events written now, once the store has been upgraded (revision 0002 adds the columns the
    old table lacks)."""
    path = tmp_path / "store.sqlite3"
    old = AuditEvent(
        seq=1,
        event_id="e" * 32,
        at="2024-01-01T00:00:00.000000+00:00",
        subject="alice",
        principals=("team:north",),
        action="search",
        query="ruth okafor",
        filters={},
        record_ids=("OPEN-1",),
        case_ids=(),
        detail={},
        prev_hash="0" * 64,
        hash="",
    )
    digest = chain_hash(old.prev_hash, old.hashed_content())
    assert "query" in old.hashed_content()
    assert "person_ids" not in old.hashed_content()
    with sqlite3.connect(path, isolation_level=None) as conn:
        conn.executescript(_LEGACY_DDL)
        conn.execute(
            "INSERT INTO audit_events VALUES (1, ?, ?, 'alice', ?, 'search', 'ruth okafor',"
            " '{}', ?, '[]', '{}', ?, ?)",
            (
                old.event_id,
                old.at,
                canonical_json(["team:north"]),
                canonical_json(["OPEN-1"]),
                old.prev_hash,
                digest,
            ),
        )
        conn.execute("INSERT INTO audit_refs VALUES (1, 'record', 'OPEN-1')")
    store = RecordStore(path)
    read_only = AuditLog(store, create=False)
    assert read_only.verify().ok
    assert read_only.query(AuditQuery(person="P-1")).total == 0

    log = AuditLog(store)
    log.record(AuditEntry(subject="bob", principals=["team:a"], action="search", query="x"))
    report = log.verify()
    assert (report.ok, report.events) == (True, 2)
    events = log.query(AuditQuery()).events
    assert [e.query for e in events] == ["x", "ruth okafor"]
    assert events[0].person_ids == ()
    assert events[1].person_ids is None
    store.close()
