"""The audit log's rules are the database's own, on both backends: its tables refuse UPDATE and
DELETE (and TRUNCATE, on PostgreSQL) from any client; ``verify()`` says when a guard is out of
force and reports an edit made around one; the server puts lifted guards back; and appends from
many threads make one chain without gaps.

The API-level tamper tests (tests/app/test_api_audit.py) edit the SQLite file; these are their
counterparts on the store itself, PostgreSQL included.
"""

from __future__ import annotations

import threading

import pytest
from pg_schema import postgresql_schema
from sqlalchemy.exc import IntegrityError

from app.audit import APPEND_ONLY, AuditEntry, AuditLog, AuditQuery
from retrieval.models import Document, Subject
from retrieval.store import RecordStore

TABLES = ("audit_events", "audit_refs", "audit_persons", "audit_queries")


def _log_with_rows_in_every_table(store: RecordStore) -> AuditLog:
    """A log of three searches that returned a record naming a child: a row in each table."""
    child = Subject(id="P-1", name="Ruth Okafor", role="child")
    doc = Document(
        id="R-1", text="Home visit.", acl=("team:north",), case_id="C-1", subjects=(child,)
    )
    with store.transaction() as conn:
        store.upsert_document(
            conn,
            doc,
            [],
            content_hash="c",
            acl_hash="a",
            source="test",
            generation=store.next_generation(conn),
        )
    log = AuditLog(store)
    for who in ("a", "b", "c"):
        log.record(
            AuditEntry(
                subject=who,
                principals=["team:north"],
                action="search",
                query="home visit",
                record_ids=["R-1"],
                case_ids=["C-1"],
            )
        )
    return log


def _lift(store: RecordStore, table: str, verb: str) -> None:
    """Take one guard out of force as the database's owner could: drop the trigger (SQLite), or
    disable it (PostgreSQL: it stays in the catalogue, so only its state shows)."""
    name = f"{table}_no_{verb}"
    with store.engine.begin() as conn:
        if store.postgresql:
            conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER {name}")
        else:
            conn.exec_driver_sql(f"DROP TRIGGER {name}")


def test_the_database_refuses_to_change_or_remove_audit_rows(store: RecordStore) -> None:
    log = _log_with_rows_in_every_table(store)
    refused = [
        *(f"UPDATE {table} SET seq = seq" for table in TABLES),
        *(f"DELETE FROM {table}" for table in TABLES if table != "audit_queries"),
    ]
    if store.postgresql:
        # (audit_events alone: its foreign keys refuse before the guard is asked)
        refused += [f"TRUNCATE {table}" for table in TABLES if table != "audit_events"]
        refused.append("TRUNCATE audit_events CASCADE")
    for statement in refused:
        with pytest.raises(IntegrityError, match=APPEND_ONLY), store.engine.begin() as conn:
            conn.exec_driver_sql(statement)
    report = log.verify()
    assert (report.ok, report.events, report.protected) == (True, 3, True)
    assert [e.query for e in log.query(AuditQuery()).events] == ["home visit"] * 3


def test_a_lifted_guard_is_reported_and_the_server_puts_it_back(store: RecordStore) -> None:
    log = _log_with_rows_in_every_table(store)
    _lift(store, "audit_events", "update")
    assert not log.verify().protected
    # verification changes nothing it inspects
    assert not AuditLog(store, create=False).verify().protected
    assert not log.verify().protected
    assert AuditLog(store).verify().protected  # as the server does when it starts
    with pytest.raises(IntegrityError, match=APPEND_ONLY), store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE audit_events SET subject = 'nobody'")


def test_an_event_edited_around_a_lifted_guard_is_reported(store: RecordStore) -> None:
    log = _log_with_rows_in_every_table(store)
    _lift(store, "audit_events", "update")
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE audit_events SET subject = 'somebody-else' WHERE seq = 2")
    report = log.verify()
    assert (report.ok, report.first_bad, report.reason, report.events) == (
        False,
        2,
        "hash mismatch",
        1,
    )
    assert not report.protected


def test_a_guard_whose_function_lets_rows_through_is_not_in_force() -> None:
    """On PostgreSQL the triggers call a function: replaced by one that refuses nothing, every
    guard is out of force though each trigger is still there and enabled. (SQLite's triggers
    carry their own body.)"""
    with postgresql_schema() as url:
        store = RecordStore(url)
        try:
            _replace_the_guard_function(store)
        finally:
            store.close()


def _replace_the_guard_function(store: RecordStore) -> None:
    log = _log_with_rows_in_every_table(store)
    with store.engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql"
            " AS $$ BEGIN RETURN NULL; END $$"
        )
    assert not log.verify().protected
    assert log.restore_guards()
    assert log.verify().protected
    with pytest.raises(IntegrityError, match=APPEND_ONLY), store.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM audit_refs")


def test_appends_from_many_threads_make_one_chain_without_gaps(store: RecordStore) -> None:
    log = AuditLog(store)
    errors: list[BaseException] = []

    def append(who: str, *, own_transaction: bool) -> None:
        entry = AuditEntry(subject=who, principals=["p"], action="browse", case_ids=["C"])
        try:
            for _ in range(5):
                if own_transaction:
                    # not through store.transaction(): append takes the store's lock itself
                    with store.engine.begin() as conn:
                        log.append(conn, entry)
                else:
                    log.record(entry)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [
        threading.Thread(
            target=append,
            args=(f"user-{i}",),
            # SQLite's deferred transactions cannot take the write lock midway: only
            # store.transaction() appends there
            kwargs={"own_transaction": store.postgresql and i % 2 == 1},
        )
        for i in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = log.verify()
    assert (report.ok, report.events, report.head_seq) == (True, 30, 30)
    seqs = sorted(e.seq for e in log.query(AuditQuery(limit=100)).events)
    assert seqs == list(range(1, 31))


def test_edits_of_the_person_index_and_the_query_texts_are_reported(store: RecordStore) -> None:
    log = _log_with_rows_in_every_table(store)
    _lift(store, "audit_persons", "delete")
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM audit_persons WHERE seq = 2")
    report = log.verify()
    assert (report.ok, report.first_bad, report.reason) == (False, 2, "person index differs")

    with store.engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO audit_persons (seq, person_id) VALUES (2, 'P-1')")
    assert log.verify().ok
    _lift(store, "audit_queries", "update")
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE audit_queries SET query = 'something else' WHERE seq = 1")
    report = log.verify()
    assert (report.first_bad, report.reason) == (1, "query text does not match its digest")

    with store.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM audit_queries WHERE seq = 1")  # not an erasure's
    report = log.verify()
    assert (report.first_bad, report.reason) == (1, "query text removed without an erasure")


def test_an_erasure_removes_query_texts_and_the_chain_still_verifies(store: RecordStore) -> None:
    log = _log_with_rows_in_every_table(store)
    with store.transaction() as conn:
        redacted = log.redact_queries(conn, ["R-1"])
        log.append(
            conn,
            AuditEntry(
                subject="dpo",
                principals=(),
                action="erase",
                record_ids=["R-1"],
                detail={"redacted_queries": list(redacted.seqs)},
            ),
        )
    assert (redacted.seqs, redacted.texts) == ((1, 2, 3), ("home visit",) * 3)
    report = log.verify()
    assert (report.ok, report.events, report.protected) == (True, 4, True)
    assert [e.query for e in log.query(AuditQuery()).events] == [None] * 4
