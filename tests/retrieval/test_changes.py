"""The change log on both backends: the database's triggers log every change to the records and
the quarantine in commit order, whoever writes it; a reader is told of another source's change
only when its principals may see the record; an erasure blanks the reasons logged for the
erased records."""

from __future__ import annotations

import re

from retrieval.changes import PUSH_SOURCE, ChangeLog
from retrieval.models import Document
from retrieval.store import RecordStore

AT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def _put(
    store: RecordStore,
    record_id: str,
    *,
    source: str = PUSH_SOURCE,
    content: str = "c1",
    acl: tuple[str, ...] = ("team:north",),
    deny: tuple[str, ...] = (),
) -> None:
    doc = Document(id=record_id, text="A home visit.", acl=acl, deny=deny)
    with store.transaction() as conn:
        store.upsert_document(
            conn,
            doc,
            [],
            content_hash=content,
            acl_hash=",".join(acl + deny),
            source=source,
            generation=store.next_generation(conn),
        )


def _delete(store: RecordStore, record_id: str) -> None:
    with store.transaction() as conn:
        store.delete_document(conn, record_id, store.next_generation(conn))


def test_every_change_is_logged_in_order_by_the_database(store: RecordStore) -> None:
    log = ChangeLog(store.engine)
    log.install()
    _put(store, "P-1")
    _put(store, "P-2")
    _put(store, "P-1")  # the same hashes: a rebuild, not a change
    _put(store, "P-1", content="c2")
    _delete(store, "P-2")
    with store.transaction() as conn:
        store.record_failure(conn, PUSH_SOURCE, "P-3", "NOT_INDEXED: the text is empty")
    log.record_failed([("P-4", "no acl")], source=PUSH_SOURCE)
    changes = log.since(0, 100, principals=())
    assert [(c.kind, c.record_id, c.reason) for c in changes] == [
        ("indexed", "P-1", None),
        ("indexed", "P-2", None),
        ("updated", "P-1", None),
        ("deleted", "P-2", None),
        ("quarantined", "P-3", "NOT_INDEXED: the text is empty"),
        ("failed", "P-4", "no acl"),
    ]
    assert [c.seq for c in changes] == sorted(c.seq for c in changes)
    assert all(AT.fullmatch(c.at) for c in changes), [c.at for c in changes]
    assert log.last_seq() == changes[-1].seq
    assert log.since(changes[2].seq, 2, principals=()) == changes[3:5]


def test_another_sources_change_is_listed_only_to_who_may_see_the_record(
    store: RecordStore,
) -> None:
    files = "files:/srv/cases"
    _put(store, "F-NORTH", source=files)
    _put(store, "F-DENIED", source=files, deny=("user:cms-north",))
    _put(store, "F-GONE", source=files)
    _delete(store, "F-GONE")
    _put(store, "P-1")
    log = ChangeLog(store.engine)

    def listed(*principals: str) -> list[str]:
        return [c.record_id for c in log.since(0, 100, principals)]

    assert listed() == ["P-1"]  # the push source's own changes, to any integration
    assert listed("team:south") == ["P-1"]
    assert listed("team:north") == ["F-NORTH", "F-DENIED", "P-1"]
    assert listed("team:north", "user:cms-north") == ["F-NORTH", "P-1"]


def test_an_erasure_blanks_the_reasons_logged_for_the_erased_records(store: RecordStore) -> None:
    log = ChangeLog(store.engine)
    with store.transaction() as conn:
        store.record_failure(conn, PUSH_SOURCE, "E-1", "attachment of Ruby Okafor unreadable")
        store.record_failure(conn, PUSH_SOURCE, "KEEP-1", "encrypted")
    log.record_failed([("E-1", "Ruby Okafor: no acl")], source=PUSH_SOURCE)
    with store.transaction() as conn:
        assert log.erase(conn, ["E-1", "NO-SUCH"]) == 2
    assert [(c.kind, c.record_id, c.reason) for c in log.since(0, 100, ())] == [
        ("quarantined", "E-1", None),
        ("quarantined", "KEEP-1", "encrypted"),
        ("failed", "E-1", None),
    ]
