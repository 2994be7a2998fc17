"""``subjects`` on a record: validated at the gate, hashed with the content, kept by the store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from connectors.errors import RecordError
from connectors.record import MAX_SUBJECTS, Subject, parse_record

RUTH = {
    "id": "P-1042-1",
    "name": "Ruth Walker",
    "other_names": ["Ruthie"],
    "dob": "2015-06-01",
    "role": "child",
}
KERRY = {"id": "P-1042-2", "name": "Kerry Walker", "role": "Mother"}


def _raw(**fields: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "id": "CASE-1042-017",
        "case_id": "CASE-1042",
        "text": "Safety plan agreed with Kerry.",
        "acl": ["team:a"],
    }
    raw.update(fields)
    return raw


def test_subjects_are_parsed_in_order_with_role_lower_cased() -> None:
    record = parse_record(_raw(subjects=[RUTH, KERRY]))
    assert record.subjects == (
        Subject("P-1042-1", "Ruth Walker", "child", ("Ruthie",), dt.date(2015, 6, 1)),
        Subject("P-1042-2", "Kerry Walker", "mother"),
    )
    assert "subjects" not in record.extra
    assert record.to_json()["subjects"][0] == RUTH


def test_a_record_without_subjects_keeps_its_content_hash() -> None:
    """Stores indexed before ``subjects`` existed are not re-embedded."""
    plain = parse_record(_raw())
    assert plain.subjects == ()
    assert plain.content_hash() == parse_record(_raw(subjects=[])).content_hash()


def test_a_corrected_name_changes_the_content_hash() -> None:
    before = parse_record(_raw(subjects=[RUTH]))
    after = parse_record(_raw(subjects=[{**RUTH, "name": "Ruth Walker-Ames"}]))
    assert before.content_hash() != after.content_hash()
    assert before.acl_hash() == after.acl_hash()


@pytest.mark.parametrize(
    ("subjects", "field"),
    [
        ("Ruth", "'subjects' must be a list"),
        (["Ruth"], "'subjects[0]' must be an object"),
        ([{**RUTH, "name": " "}], "'subjects[0].name' must be a non-empty string"),
        ([{**RUTH, "id": 7}], "'subjects[0].id' must be a non-empty string"),
        ([KERRY, {**RUTH, "role": ""}], "'subjects[1].role' must be a non-empty string"),
        ([{**RUTH, "dob": "01/06/2015"}], "'subjects[0].dob' is not an ISO date"),
        ([{**RUTH, "dob": "2015-06-01T00:00"}], "'subjects[0].dob' is not an ISO date"),
        ([{**RUTH, "other_names": "Ruthie"}], "'subjects[0].other_names' must be a list"),
        ([{**RUTH, "other_names": [""]}], "'subjects[0].other_names[0]' must be a non-empty"),
        ([{**RUTH, "nmae": "x"}], "'subjects[0]' has unknown key(s): nmae"),
        ([RUTH, RUTH], "'subjects[1].id' repeats the person id"),
        ([{**RUTH, "name": "x" * 201}], "'subjects[0].name' is longer than 200"),
        (
            [{**KERRY, "id": f"P-{i}"} for i in range(MAX_SUBJECTS + 1)],
            f"more than {MAX_SUBJECTS} people",
        ),
    ],
)
def test_bad_subjects_name_the_record_and_the_field(subjects: Any, field: str) -> None:
    with pytest.raises(RecordError) as caught:
        parse_record(_raw(subjects=subjects))
    assert "CASE-1042-017" in str(caught.value)
    assert field in str(caught.value)


def test_the_store_keeps_subjects_and_an_old_store_gains_the_table(tmp_path: Path) -> None:
    import sqlite3

    from indexer.pipeline import _document_of
    from retrieval.store import RecordStore

    path = tmp_path / "old.sqlite3"
    store = RecordStore(path)
    store.close()
    # a store from before the subjects table (and before migrations): the table is made when
    # it is opened again
    with sqlite3.connect(path) as old:
        old.execute("DROP TABLE subjects")
        old.execute("DROP TABLE alembic_version")
    store = RecordStore(path)
    try:
        doc = _document_of(parse_record(_raw(subjects=[RUTH, KERRY])))
        with store.transaction() as conn:
            generation = store.next_generation(conn)
            store.upsert_document(
                conn, doc, [], content_hash="h", acl_hash="a", source=None, generation=generation
            )
        stored = store.document("CASE-1042-017")
        assert stored is not None
        assert [s.name for s in stored.subjects] == ["Ruth Walker", "Kerry Walker"]
        assert stored.subjects[0].other_names == ("Ruthie",)
        assert stored.subjects[0].dob == dt.date(2015, 6, 1)
        assert [s.name for s in stored.children] == ["Ruth Walker"]
        with store.snapshot() as conn:
            rows = store.subject_rows(conn, "child")
        assert [(r.case_id, r.person_id) for r in rows] == [("CASE-1042", "P-1042-1")]
        with store.transaction() as conn:
            store.delete_document(conn, "CASE-1042-017", store.next_generation(conn))
        with store.snapshot() as conn:
            assert store.subject_rows(conn, "child") == []
    finally:
        store.close()
