"""Loading a people source: who each case is about, supplied or corrected without re-indexing.

``load_people`` reads a people source (``connectors/people.py``) and stores its word per case in
one transaction. Every reader of a record's subjects (names on pages, name resolution in
queries, audit by person, subject access export, erasure) then sees, for each record of a case
the source names, the source's people in place of the record's own entries of the same person
id, and the source's other people added; records of cases the source does not name keep their
own subjects. Nothing is re-embedded: names are not part of the indexed text.

A bad line or row is a failure naming the file and line (or table and case) with the reason,
stored under the source like any indexing failure (``casesearch failures``); the rest is loaded.
When any line failed, the cases absent from the source keep what an earlier load supplied
(a failed line may have been one of them); otherwise the source is the whole snapshot and the
cases it no longer names lose what it supplied before.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from connectors.errors import RecordError
from connectors.people import CasePeople, read_people
from connectors.record import Subject as RecordSubject
from retrieval.models import Subject
from retrieval.store import RecordStore


@dataclass(slots=True)
class PeopleLoad:
    """What one load did."""

    source: str
    cases: int = 0
    people: int = 0
    changed_cases: int = 0
    complete: bool = True
    failures: list[tuple[str, str]] = field(default_factory=list)


def people_source_id(spec: str, table: str | None) -> str:
    """The name failures of this source are stored under."""
    return f"people:{spec}" + (f"#{table}" if table else "")


def load_people(store: RecordStore, spec: str, *, table: str | None = None) -> PeopleLoad:
    """Read the people source ``spec`` (``jsonl:PATH`` or ``sql:URL`` with ``table``) and store
    it. Raises ``FatalConnectorError`` when the source cannot be read at all (nothing changes).
    """
    source = people_source_id(spec, table)
    cases: dict[str, tuple[Subject, ...]] = {}
    failures: list[RecordError] = []
    for item in read_people(spec, table=table):
        if isinstance(item, CasePeople):
            cases[item.case_id] = tuple(_subject(s) for s in item.subjects)
        else:
            failures.append(item)
    load = PeopleLoad(source, cases=len(cases), complete=not failures)
    with store.transaction() as conn:
        generation = store.next_generation(conn)
        load.changed_cases, load.people = store.replace_case_people(
            conn, cases, generation, complete=load.complete
        )
        store.clear_failures_except(conn, source, {f.source_ref for f in failures})
        for failure in failures:
            store.record_failure(conn, source, failure.source_ref, failure.reason)
    load.failures = [(f.source_ref, f.reason) for f in failures]
    return load


def _subject(s: RecordSubject) -> Subject:
    return Subject(id=s.id, name=s.name, role=s.role, other_names=s.other_names, dob=s.dob)
