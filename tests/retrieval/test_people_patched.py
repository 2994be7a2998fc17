"""The searcher's people directory follows the store by patches: after each change it reads
again only the records changed since (``HybridSearcher._patched_people``), and gives exactly
what a directory loaded whole from the store gives, for any caller."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from factories import make_record
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import retrieval.search as search_module
from connectors.record import Tombstone
from indexer import Indexer
from retrieval.access import visible_records
from retrieval.chunking import ChunkingConfig
from retrieval.embedding import Embedder
from retrieval.models import AccessScope, Subject
from retrieval.people import PeopleDirectory
from retrieval.search import HybridSearcher
from retrieval.store import RecordStore, SubjectRow

IDS = ("R1", "R2", "R3", "R4", "R5")
CASES = ("CASE-1", "CASE-2")
PEOPLE = (("P1", "Kai Campbell"), ("P1", "Kai Cambell"), ("P2", "Ruby Okafor"), ("P3", "Zoë Lane"))
SCOPES = (AccessScope.of("team:a"), AccessScope.of("team:b"), AccessScope.of("team:a", "team:b"))

_put = st.tuples(
    st.just("put"),
    st.sampled_from(IDS),
    st.sampled_from(CASES),
    st.sampled_from(PEOPLE),
    st.sampled_from(("team:a", "team:b")),
)
_delete = st.tuples(st.just("delete"), st.sampled_from(IDS))
_case_people = st.tuples(
    st.just("case people"), st.sampled_from(CASES), st.sampled_from((None, *PEOPLE))
)
operations = st.lists(st.one_of(_put, _delete, _case_people), min_size=1, max_size=8)


def _apply(store: RecordStore, indexer: Indexer, op: tuple[Any, ...]) -> None:
    if op[0] == "put":
        _, rid, case, (pid, name), team = op
        subjects = [{"id": pid, "name": name, "role": "child"}]
        record = make_record(
            id=rid, case_id=case, text=f"Visit note about {name}.", subjects=subjects, acl=[team]
        )
        indexer.apply([record], source="t")
    elif op[0] == "delete":
        indexer.apply([Tombstone(op[1])], source="t")
    else:
        _, case, person = op
        people = () if person is None else (Subject(person[0], person[1], "child"),)
        with store.transaction() as conn:
            store.replace_case_people(
                conn, {case: people}, store.next_generation(conn), complete=False
            )


def _whole(store: RecordStore, conn: Any) -> PeopleDirectory:
    return PeopleDirectory(store.iter_subject_rows(conn, "child"))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(ops=operations)
def test_a_patched_directory_equals_one_loaded_whole(
    store: RecordStore, embedder: Embedder, ops: list[tuple[Any, ...]]
) -> None:
    """On both backends; the store carries over from one example to the next, so each starts
    from whatever the last one left."""
    indexer = Indexer(store, embedder, ChunkingConfig(max_words=60))
    searcher = HybridSearcher(store, embedder)
    searcher.warm()  # loaded whole once: everything after is patches
    for op in ops:
        _apply(store, indexer, op)
        with store.snapshot() as conn:
            patched, _ = searcher._people_directory(conn)
            whole = _whole(store, conn)
            for scope in SCOPES:
                mask, _ = visible_records(conn, scope)
                assert list(patched.visible(mask)) == list(whole.visible(mask)), op


def test_a_busy_store_is_loaded_whole_again(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the records changed since the last full load reach a third of the directory's
    rows (at least of ``PEOPLE_PATCH_MIN_ROWS``), the next search loads it whole."""
    store = RecordStore(tmp_path / "store.sqlite3")
    try:
        indexer = Indexer(store, embedder, ChunkingConfig(max_words=60))
        searcher = HybridSearcher(store, embedder)
        searcher.warm()
        _apply(store, indexer, ("put", "R1", "CASE-1", PEOPLE[0], "team:a"))
        with store.snapshot() as conn:
            searcher._people_directory(conn)
        assert searcher._people is not None
        assert searcher._people[1].churn == 1  # patched, not loaded whole
        monkeypatch.setattr(search_module, "PEOPLE_PATCH_MIN_ROWS", 1)
        _apply(store, indexer, ("put", "R2", "CASE-1", PEOPLE[2], "team:a"))
        with store.snapshot() as conn:
            directory, _ = searcher._people_directory(conn)
            assert searcher._people[1].churn == 0  # loaded whole
            mask, _ = visible_records(conn, SCOPES[0])
            assert [p.name for p in directory.visible(mask)] == ["Kai Campbell", "Ruby Okafor"]
    finally:
        store.close()


def test_a_patch_leaves_the_directory_it_was_made_from_as_it_was() -> None:
    rows = [SubjectRow(1, "CASE-1", "P1", "Kai Campbell", (), None)]
    before = PeopleDirectory(rows)
    after = before.patched([1], [SubjectRow(1, "CASE-1", "P1", "Kai Cambell", ("Kai",), None)])
    everyone = np.ones(2, dtype=np.bool_)
    assert [p.name for p in before.visible(everyone)] == ["Kai Campbell"]
    assert [(p.name, p.other_names) for p in after.visible(everyone)] == [("Kai Cambell", ("Kai",))]


def _reference(directory: PeopleDirectory, mask: np.ndarray[Any, Any]) -> list[Any]:
    """What ``visible`` gives, row by row, as the rule says: per person (by id), the name
    on the newest visible record, every other name on them newest first, cases sorted."""
    rows = [
        (pk, directory._person_ids[person], directory._names[name], directory._other_names[o],
         directory._cases[case])
        for pk, person, name, o, case in zip(
            directory._pks.tolist(), directory._person.tolist(), directory._name.tolist(),
            directory._others.tolist(), directory._case.tolist(), strict=True,
        )
        if pk < mask.size and mask[pk]
    ]  # fmt: skip
    out = []
    for person in dict.fromkeys(r[1] for r in rows):
        mine = [r for r in rows if r[1] == person]
        every = dict.fromkeys(n for r in reversed(mine) for n in (*r[3], r[2]))
        every.pop(mine[-1][2], None)
        cases = tuple(sorted({r[4] for r in mine if r[4]}))
        out.append((person, mine[-1][2], tuple(every), cases))
    return out


_names = st.sampled_from(("Kai Campbell", "Kai Cambell", "Ruby Okafor", "Zoë Lane", "Ruby"))
_rows = st.lists(
    st.tuples(
        st.integers(1, 12),
        st.sampled_from(("CASE-1", "CASE-2", None)),
        st.sampled_from(("P1", "P2", "P3")),
        _names,
        st.lists(_names, max_size=2, unique=True).map(tuple),
    ),
    max_size=25,
    unique_by=lambda r: (r[0], r[2]),
)


@settings(max_examples=200, deadline=None)
@given(rows=_rows, visible=st.lists(st.booleans(), min_size=13, max_size=13))
def test_the_people_of_a_visible_set_follow_the_rule(
    rows: list[tuple[Any, ...]], visible: list[bool]
) -> None:
    """``visible`` (made by array operations over every row at once) gives each person as
    the rule, applied row by row, does."""
    directory = PeopleDirectory(
        SubjectRow(pk, case, person, name, others, None) for pk, case, person, name, others in rows
    )
    mask = np.array(visible, dtype=np.bool_)
    got = [(p.id, p.name, p.other_names, p.case_ids) for p in directory.visible(mask)]
    assert got == _reference(directory, mask)
