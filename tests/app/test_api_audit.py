"""Audit: every search, view, browse, push and delete is recorded, hash-chained, queryable by
auditors only, tamper-evident, and a request whose audit event cannot be written fails."""

from __future__ import annotations

import datetime as dt
import itertools
import sqlite3
import threading
from typing import Any

import pytest
from app_helpers import bearer, settings_for_cli
from fastapi.testclient import TestClient

from app import cli
from app.audit import AuditEntry, AuditLog, AuditQuery, chain_hash
from app.services import Services
from app.settings import Settings, get_settings

pytestmark = pytest.mark.conformance

AUDITOR = ("auditor-1", "role:auditor")


def _audit(client: TestClient, settings: Settings, **params: Any) -> dict[str, Any]:
    response = client.get("/v1/audit", params=params, headers=bearer(settings, *AUDITOR))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _raw(settings: Settings) -> sqlite3.Connection:
    """A connection that goes around the application, as someone with the file would."""
    return sqlite3.connect(settings.store_path, isolation_level=None)


def test_search_and_views_are_recorded_with_who_what_and_which_records(
    client: TestClient, settings: Settings
) -> None:
    alice = bearer(settings, "alice", "team:north")
    found = client.post(
        "/v1/search", json={"query": "safety plan", "case_id": "CASE-7"}, headers=alice
    ).json()
    assert client.get("/v1/documents/OPEN-1", headers=alice).status_code == 200
    assert client.get("/v1/documents/SECRET-1", headers=alice).status_code == 404
    assert client.get("/v1/documents/NO-SUCH", headers=alice).status_code == 404

    events = _audit(client, settings, subject="alice")["events"]
    assert [e["action"] for e in events] == ["view_denied", "view_denied", "view", "search"]
    search = events[-1]
    assert search["query"] == "safety plan"
    assert search["filters"] == {"case_id": "CASE-7", "top_k": 10, "offset": 0}
    assert search["record_ids"] == [r["document_id"] for r in found["results"]]
    assert search["case_ids"] == ["CASE-7"]
    assert search["detail"]["search_id"] == found["search_id"]
    assert "team:north" in search["principals"]
    assert "user:alice" in search["principals"]
    at = dt.datetime.fromisoformat(search["at"])
    assert at.utcoffset() == dt.timedelta(0)
    assert abs((dt.datetime.now(dt.UTC) - at).total_seconds()) < 60
    assert events[2]["record_ids"] == ["OPEN-1"]
    assert (events[1]["record_ids"], events[1]["detail"]) == (["SECRET-1"], {"reason": "forbidden"})
    assert (events[0]["record_ids"], events[0]["detail"]) == (["NO-SUCH"], {"reason": "missing"})
    # The denied attempt on a real record is findable by its case, for the auditor only.
    assert events[1]["case_ids"] == ["CASE-7"]


def test_auditors_answer_who_looked_at_a_case_or_record_between_dates(
    client: TestClient, settings: Settings
) -> None:
    client.post(
        "/v1/search", json={"query": "safety plan"}, headers=bearer(settings, "bob", "team:north")
    )
    client.get("/v1/documents/SECRET-1", headers=bearer(settings, "meg", "team:managers"))
    client.get("/v1/documents/OPEN-1", headers=bearer(settings, "alice", "team:north"))
    today = dt.datetime.now(dt.UTC).date()

    by_record = _audit(client, settings, record_id="SECRET-1")["events"]
    assert [(e["subject"], e["action"]) for e in by_record] == [("meg", "view")]
    by_case = _audit(client, settings, case_id="CASE-7", date_from=today, date_to=today)
    assert {e["subject"] for e in by_case["events"]} == {"bob", "meg", "alice"}
    assert by_case["total"] == 3
    views = _audit(client, settings, case_id="CASE-7", action="view")["events"]
    assert {e["subject"] for e in views} == {"meg", "alice"}
    yesterday = today - dt.timedelta(days=1)
    assert _audit(client, settings, case_id="CASE-7", date_to=yesterday)["events"] == []
    page = _audit(client, settings, case_id="CASE-7", limit=2, offset=2)
    assert (len(page["events"]), page["total"]) == (1, 3)
    assert page["events"][0]["subject"] == "bob"  # newest first: bob searched first


def test_the_audit_log_is_for_auditors_only(client: TestClient, settings: Settings) -> None:
    for principals in (("team:north",), ("role:qa",), ("role:ingest",)):
        response = client.get("/v1/audit", headers=bearer(settings, "someone", *principals))
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"
    assert client.get("/v1/audit").status_code == 401
    # Reading the log is itself recorded.
    _audit(client, settings, case_id="CASE-7")
    assert _audit(client, settings, action="audit_query")["events"][-1]["filters"]["case_id"] == (
        "CASE-7"
    )


def test_browse_push_and_delete_are_recorded(client: TestClient, settings: Settings) -> None:
    alice = bearer(settings, "alice", "team:north")
    timeline = client.get("/v1/cases/CASE-7/timeline", headers=alice).json()
    assert [e["document_id"] for e in timeline["entries"]] == ["DENIED-1", "OPEN-1"]
    ingest = bearer(settings, "cms", "role:ingest")
    record = {"id": "PUSH-1", "case_id": "CASE-9", "text": "GP letter.", "acl": ["team:north"]}
    client.post("/v1/records", json={"records": [record, {"id": "BAD"}]}, headers=ingest)
    client.delete("/v1/records/PUSH-1", headers=ingest)

    events = {e["action"]: e for e in _audit(client, settings)["events"]}
    assert events["browse"]["record_ids"] == ["DENIED-1", "OPEN-1"]
    assert events["browse"]["case_ids"] == ["CASE-7"]
    assert events["push"]["subject"] == "cms"
    assert (events["push"]["record_ids"], events["push"]["case_ids"]) == (["PUSH-1"], ["CASE-9"])
    assert events["push"]["detail"] == {"upserts": 1, "tombstones": 0, "invalid": 1}
    assert (events["delete"]["record_ids"], events["delete"]["case_ids"]) == (
        ["PUSH-1"],
        ["CASE-9"],
    )


def test_the_chain_verifies_and_links_every_event(client: TestClient, services: Services) -> None:
    settings = services.settings
    for who in ("a", "b", "c"):
        client.get("/v1/documents/OPEN-1", headers=bearer(settings, who, "team:north"))
    report = services.audit.verify()
    assert report.ok
    assert report.events == 3
    assert report.head_seq == 3
    events = _audit(client, settings)["events"][::-1]  # oldest first (without the query event)
    assert events[0]["prev_hash"] == "0" * 64
    for before, after in itertools.pairwise(events):
        assert after["prev_hash"] == before["hash"]


@pytest.mark.embedded_only  # edits the SQLite file around the triggers
def test_update_and_delete_are_refused_by_the_database(
    client: TestClient, settings: Settings
) -> None:
    client.get("/v1/documents/OPEN-1", headers=bearer(settings, "a", "team:north"))
    with _raw(settings) as conn:
        for statement in (
            "UPDATE audit_events SET subject = 'nobody'",
            "DELETE FROM audit_events",
            "UPDATE audit_refs SET ref = 'OTHER'",
            "DELETE FROM audit_refs",
        ):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute(statement)


def _three_views(client: TestClient, settings: Settings) -> None:
    for who in ("a", "b", "c"):
        client.get("/v1/documents/OPEN-1", headers=bearer(settings, who, "team:north"))


@pytest.mark.embedded_only  # edits the SQLite file around the triggers
def test_an_edited_event_is_reported(client: TestClient, services: Services) -> None:
    settings = services.settings
    _three_views(client, settings)
    with _raw(settings) as conn:
        conn.execute("DROP TRIGGER audit_events_no_update")
        conn.execute("UPDATE audit_events SET subject = 'somebody-else' WHERE seq = 2")
    report = services.audit.verify()
    assert not report.ok
    assert (report.first_bad, report.reason, report.events) == (2, "hash mismatch", 1)


@pytest.mark.embedded_only  # edits the SQLite file around the triggers
def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(
    client: TestClient, services: Services
) -> None:
    settings = services.settings
    _three_views(client, settings)
    log = services.audit
    edited = log.query(AuditQuery(limit=1000)).events[-2]  # seq 2
    assert edited.seq == 2
    forged = {**edited.hashed_content(), "subject": "somebody-else"}
    new_hash = chain_hash(edited.prev_hash, forged)
    with _raw(settings) as conn:
        conn.execute("DROP TRIGGER audit_events_no_update")
        conn.execute(
            "UPDATE audit_events SET subject = 'somebody-else', hash = ? WHERE seq = 2", (new_hash,)
        )
    report = log.verify()
    assert (report.ok, report.first_bad, report.reason) == (False, 3, "prev_hash does not link")


@pytest.mark.embedded_only  # edits the SQLite file around the triggers
def test_a_removed_event_is_reported(client: TestClient, services: Services) -> None:
    settings = services.settings
    _three_views(client, settings)
    with _raw(settings) as conn:
        conn.execute("DROP TRIGGER audit_events_no_delete")
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute("DELETE FROM audit_events WHERE seq = 2")
    report = services.audit.verify()
    assert (report.ok, report.first_bad) == (False, 3)


@pytest.mark.embedded_only  # edits the SQLite file around the triggers
def test_events_cut_off_the_end_are_caught_by_a_head_kept_elsewhere(
    client: TestClient, services: Services
) -> None:
    """Removing the newest events leaves a valid shorter chain; only a head hash recorded
    outside the database (``audit verify --expect-head``) shows they existed."""
    settings = services.settings
    _three_views(client, settings)
    kept = services.audit.verify()
    assert kept.ok
    assert services.audit.verify(expect_head=kept.head_hash).ok
    _three_views(client, settings)
    assert services.audit.verify(expect_head=kept.head_hash).ok  # appends keep the old head
    with _raw(settings) as conn:
        conn.execute("DROP TRIGGER audit_events_no_delete")
        conn.execute("DROP TRIGGER audit_refs_no_delete")
        conn.execute("PRAGMA foreign_keys = OFF")
        last = conn.execute("SELECT max(seq) FROM audit_events").fetchone()[0]
        conn.execute("DELETE FROM audit_refs WHERE seq >= ?", (last - 3,))
        conn.execute("DELETE FROM audit_events WHERE seq >= ?", (last - 3,))
    assert services.audit.verify().ok  # the shorter chain is intact on its own
    cut = services.audit.verify(expect_head=kept.head_hash)
    assert not cut.ok
    assert cut.reason is not None
    assert "not in the chain" in cut.reason
    assert not services.audit.verify(expect_head="f" * 64).ok  # a hash it never had


@pytest.mark.embedded_only  # edits the SQLite file around the triggers
def test_hiding_an_event_from_case_questions_is_reported(
    client: TestClient, services: Services
) -> None:
    settings = services.settings
    _three_views(client, settings)
    with _raw(settings) as conn:
        conn.execute("DROP TRIGGER audit_refs_no_delete")
        conn.execute("DELETE FROM audit_refs WHERE seq = 2 AND kind = 'case'")
    report = services.audit.verify()
    assert (report.ok, report.first_bad, report.reason) == (False, 2, "reference index differs")


@pytest.mark.embedded_only  # edits the SQLite file around the triggers
def test_a_failing_audit_write_fails_the_search_with_503_and_no_results(
    client: TestClient, settings: Settings
) -> None:
    alice = bearer(settings, "alice", "team:north")
    with _raw(settings) as conn:
        conn.execute(
            "CREATE TRIGGER audit_broken BEFORE INSERT ON audit_events"
            " BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
        )
    response = client.post("/v1/search", json={"query": "safety plan"}, headers=alice)
    assert response.status_code == 503
    assert response.json() == {
        "error": {
            "code": "audit_unavailable",
            "message": "the request was not completed because it could not be recorded in the"
            " audit log",
        }
    }
    assert "Mum will supervise" not in response.text
    assert "OPEN-1" not in response.text
    for record_id in ("OPEN-1", "SECRET-1", "NO-SUCH"):
        view = client.get(f"/v1/documents/{record_id}", headers=alice)
        assert view.status_code == 503
        assert "supervise" not in view.text
    assert client.get("/v1/cases/CASE-7/timeline", headers=alice).status_code == 503
    with _raw(settings) as conn:
        assert conn.execute("SELECT count(*) FROM telemetry_searches").fetchone() == (0,)
        conn.execute("DROP TRIGGER audit_broken")
    assert (
        client.post("/v1/search", json={"query": "safety plan"}, headers=alice).status_code == 200
    )


@pytest.mark.embedded_only  # edits the SQLite file around the triggers
def test_a_failing_audit_write_stops_a_push_before_anything_changes(
    client: TestClient, settings: Settings
) -> None:
    with _raw(settings) as conn:
        conn.execute(
            "CREATE TRIGGER audit_broken BEFORE INSERT ON audit_events"
            " BEGIN SELECT RAISE(ABORT, 'no'); END"
        )
    record = {"id": "PUSH-2", "text": "A new note.", "acl": ["team:north"]}
    ingest = bearer(settings, "cms", "role:ingest")
    assert client.post("/v1/records", json={"records": [record]}, headers=ingest).status_code == 503
    assert client.delete("/v1/records/OPEN-1", headers=ingest).status_code == 503
    with _raw(settings) as conn:
        ids = {row[0] for row in conn.execute("SELECT id FROM records")}
    assert "PUSH-2" not in ids
    assert "OPEN-1" in ids


def test_concurrent_requests_never_fork_the_chain(client: TestClient, services: Services) -> None:
    settings = services.settings
    errors: list[BaseException] = []

    def views(who: str) -> None:
        try:
            headers = bearer(settings, who, "team:north")
            for record_id in ("OPEN-1", "SECRET-1", "DENIED-1"):
                assert client.get(f"/v1/documents/{record_id}", headers=headers).status_code in (
                    200,
                    404,
                )
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=views, args=(f"user-{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = services.audit.verify()
    assert report.ok
    assert report.events == 24


@pytest.mark.embedded_only  # edits the SQLite file around the triggers
def test_cli_verify_and_list(
    client: TestClient,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _three_views(client, settings)
    settings_for_cli(settings, monkeypatch)
    try:
        assert cli.main(["audit", "verify"]) == 0
        assert "intact: 3 events" in capsys.readouterr().out
        assert cli.main(["audit", "list", "--subject", "b", "--record-id", "OPEN-1"]) == 0
        out = capsys.readouterr().out
        assert " b  view" in out
        assert "(1 of 1 matching events)" in out
        assert cli.main(["audit", "list", "--case-id", "CASE-7", "--json"]) == 0
        assert len(capsys.readouterr().out.strip().splitlines()) == 3

        with _raw(settings) as conn:
            conn.execute("DROP TRIGGER audit_events_no_update")
        assert cli.main(["audit", "verify"]) == 0  # the chain is intact, but say so loudly
        assert "trigger of the audit log has been dropped" in capsys.readouterr().err

        with _raw(settings) as conn:
            conn.execute("UPDATE audit_events SET action = 'search' WHERE seq = 2")
            bad_id = conn.execute("SELECT event_id FROM audit_events WHERE seq = 2").fetchone()[0]
        assert cli.main(["audit", "verify"]) == 1
        err = capsys.readouterr().err
        assert "BROKEN at event 2" in err
        assert bad_id in err
        # Verifying changed nothing: the dropped trigger is still missing.
        with _raw(settings) as conn:
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert "audit_events_no_update" not in names
    finally:
        get_settings.cache_clear()


def test_appends_from_two_log_objects_share_one_chain(services: Services) -> None:
    """A second process (another ``AuditLog`` on the same file) continues the same chain."""
    first = services.audit
    second = AuditLog(services.store)
    entry = AuditEntry(subject="s", principals=["p"], action="browse", case_ids=["C"])
    first.record(entry)
    second.record(entry)
    first.record(entry)
    report = first.verify()
    assert report.ok
    assert report.events == 3
