"""A search scoped to one case costs what the case holds, and ranks as it always did.

Term counts and offsets of a few candidate chunks are re-made from their stored terms; many
candidates read ``chunks_vocab``. Both must give FTS5's own ``bm25()`` for a caller who sees
everything, inside one case as across cases; the population a search counts its statistics
over is kept between searches and must follow every change of the store.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retrieval import analysis, lexical
from retrieval.access import scope_masks, visible_records
from retrieval.dense import DenseIndex
from retrieval.lexical import TermGroup, bm25_search, group_matches, match_expression
from retrieval.models import AccessScope, ChunkRow, Document, SearchFilters
from retrieval.store import RecordStore

WORDS = ["plan", "safety", "zoë", "snake_case", "case", "gp", "visit", "mum", "police"]
_ZERO = bytes(4 * 384)
Doc = tuple[str, str, str, str]  # id, case, text, principal
# the occurrence path fixture only sets a module constant, the same for every example
KEPT_FIXTURE = HealthCheck.function_scoped_fixture


def _add(store: RecordStore, docs: Sequence[Doc]) -> None:
    with store.transaction() as conn:
        generation = store.next_generation(conn)
        for doc_id, case_id, text, principal in docs:
            store.upsert_document(
                conn,
                Document(id=doc_id, text=text, acl=(principal,), case_id=case_id),
                [ChunkRow(0, 0, len(text), " ".join(analysis.terms(text)), _ZERO)],
                content_hash=doc_id,
                acl_hash=principal,
                source="t",
                generation=generation,
            )


@contextmanager
def _store_with(
    docs: Sequence[tuple[str, str]], principals: Sequence[str] = ()
) -> Iterator[RecordStore]:
    """A scratch store holding ``docs`` (case, text), the i-th visible to ``principals[i]``
    (default: every record to "all")."""
    with tempfile.TemporaryDirectory() as folder:
        store = RecordStore(Path(folder) / "s.db")
        try:
            _add(
                store,
                [
                    (f"D{i}", case, text, principals[i] if i < len(principals) else "all")
                    for i, (case, text) in enumerate(docs)
                ],
            )
            yield store
        finally:
            store.close()


def _bm25(
    store: RecordStore, groups: Sequence[TermGroup], principal: str, case_id: str | None
) -> list[tuple[str, float]]:
    """Our BM25 as ``principal`` within ``case_id`` (None: every case), best first."""
    dense = DenseIndex(384)
    with store.snapshot() as conn:
        dense.sync(store, conn)
        visible, allowed = scope_masks(conn, AccessScope.of(principal), SearchFilters(case_id))
        population = dense.population(visible)
        matches = group_matches(conn, groups)
        hits = bm25_search(conn, groups, matches, population.restrict(allowed), population, 1000)
        ids = store.ids_by_pk(conn, [record for _, record, _ in hits])
    return [(ids[record], score) for _, record, score in hits]


def _fts5(store: RecordStore, groups: Sequence[TermGroup], case_id: str | None) -> list[str]:
    """FTS5's own ``bm25()`` ranking (index-wide statistics) of the case's records."""
    expression = match_expression(groups)
    assert expression is not None
    with store.snapshot() as conn:
        rows = conn.exec_driver_sql(
            "SELECT r.id FROM chunks_fts f JOIN chunks c ON c.pk = f.rowid"
            " JOIN records r ON r.pk = c.record_pk WHERE chunks_fts MATCH ?"
            " AND (? IS NULL OR r.case_id = ?) ORDER BY bm25(chunks_fts), f.rowid",
            (expression, case_id, case_id),
        ).all()
    return [str(r[0]) for r in rows]


@pytest.fixture(params=["from_terms", "from_vocab", "mixed"])
def occurrence_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Either way of reading term counts and offsets, for the whole test; "mixed": the way
    changes with the number of candidates from one search to the next."""
    limit = {"from_terms": 10_000, "from_vocab": 0, "mixed": 2}[str(request.param)]
    monkeypatch.setattr(lexical, "TEXT_PATH_MAX_CHUNKS", limit)
    return str(request.param)


@pytest.fixture
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        yield Path(folder)


_texts = st.lists(st.sampled_from(WORDS), min_size=1, max_size=12).map(" ".join)
_docs = st.lists(
    st.tuples(st.sampled_from(["CASE-1", "CASE-2", "CASE-3"]), _texts), min_size=1, max_size=12
)
_near = st.lists(st.sampled_from(["plan", "safety", "gp", "visit", "mum"]), min_size=2, max_size=3)
_groups = st.lists(
    st.one_of(
        st.sampled_from(WORDS).map(lambda w: tuple(analysis.terms(w))),
        _near.map(lambda words: tuple(dict.fromkeys(words))),
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[KEPT_FIXTURE])
@given(docs=_docs, groups=_groups, case_id=st.sampled_from([None, "CASE-1", "CASE-2"]))
def test_a_case_scoped_ranking_is_fts5s_for_a_caller_who_sees_everything(
    occurrence_path: str, docs: list[tuple[str, str]], groups: list[TermGroup], case_id: str | None
) -> None:
    """Counts re-made from the stored terms and counts read from chunks_vocab alike: the same
    records in the same order as FTS5's bm25(), with index-wide statistics."""
    groups = [g for g in groups if g]
    if match_expression(groups) is None:
        return
    with _store_with(docs) as store:
        ours = _bm25(store, groups, "all", case_id)
        assert [doc for doc, _ in ours] == _fts5(store, groups, case_id)


@settings(max_examples=40, deadline=None, suppress_health_check=[KEPT_FIXTURE])
@given(mine=_docs, hidden=_docs, groups=_groups)
def test_records_hidden_from_the_caller_change_no_case_scoped_score(
    occurrence_path: str,
    mine: list[tuple[str, str]],
    hidden: list[tuple[str, str]],
    groups: list[TermGroup],
) -> None:
    groups = [g for g in groups if g]
    if match_expression(groups) is None:
        return
    with tempfile.TemporaryDirectory() as folder:
        alone = RecordStore(Path(folder) / "alone.db")
        shared = RecordStore(Path(folder) / "shared.db")
        try:
            own = [(f"M{i}", case, text, "team:a") for i, (case, text) in enumerate(mine)]
            _add(alone, own)
            _add(shared, own)
            _add(shared, [(f"H{i}", c, text, "team:b") for i, (c, text) in enumerate(hidden)])
            assert _bm25(shared, groups, "team:a", "CASE-1") == _bm25(
                alone, groups, "team:a", "CASE-1"
            )
        finally:
            alone.close()
            shared.close()


def test_a_kept_population_follows_records_added_and_access_removed(scratch: Path) -> None:
    """The statistics of her next search count a record added since, and stop counting one
    whose access she lost, though the same index object served the earlier search."""
    store = RecordStore(scratch / "s.db")
    dense = DenseIndex(384)
    scope = AccessScope.of("team:a")

    def population_chunks() -> tuple[int, bool]:
        with store.snapshot() as conn:
            dense.sync(store, conn)
            visible, _ = visible_records(conn, scope)
            population = dense.population(visible)
        return population.chunks, population.complete

    try:
        _add(store, [("A", "CASE-1", "safety plan agreed", "team:a")])
        _add(store, [("B", "CASE-1", "gp visit", "team:b")])
        assert population_chunks() == (1, False)
        assert population_chunks() == (1, False)  # kept: the same answer
        _add(store, [("C", "CASE-2", "mum at the gp", "team:a")])
        assert population_chunks() == (2, False)
        with store.transaction() as conn:
            store.update_permissions(
                conn, "A", ["team:b"], [], acl_hash="b", generation=store.next_generation(conn)
            )
        assert population_chunks() == (1, False)
        _add(store, [("A", "CASE-1", "safety plan", "team:a"), ("B", "CASE-1", "gp", "team:a")])
        assert population_chunks() == (3, True)  # she now sees every record
    finally:
        store.close()


def test_kept_populations_cannot_be_changed_by_a_caller(scratch: Path) -> None:
    store = RecordStore(scratch / "s.db")
    dense = DenseIndex(384)
    try:
        _add(store, [("A", "CASE-1", "safety plan agreed", "team:a")])
        with store.snapshot() as conn:
            dense.sync(store, conn)
            visible, _ = visible_records(conn, AccessScope.of("team:a"))
            population = dense.population(visible)
        with pytest.raises(ValueError, match="read-only"):
            population.visible[0] = True
        assert np.count_nonzero(population.visible) == 1
    finally:
        store.close()


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 40),
    seed=st.integers(0, 2**32 - 1),
    allowed=st.one_of(
        st.just("all"),
        st.tuples(st.integers(0, 40), st.integers(0, 40)),
        st.lists(st.booleans(), min_size=40, max_size=40),
    ),
)
def test_dense_scores_are_the_same_whether_or_not_the_matrix_is_copied(
    n: int, seed: int, allowed: str | tuple[int, int] | list[bool]
) -> None:
    """Everything, one run of records or any mix: each chunk's cosine is the product of its
    own vector with the query exactly as a copy of the allowed rows would give it."""
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n, 384)).astype(np.float32)
    query = rng.standard_normal(384).astype(np.float32)
    if allowed == "all":
        mask = np.ones(n + 1, dtype=np.bool_)
    elif isinstance(allowed, tuple):
        mask = np.zeros(n + 1, dtype=np.bool_)
        mask[1 + min(allowed) : 1 + max(allowed)] = True
    else:
        mask = np.array([False, *allowed[:n]], dtype=np.bool_)
    with tempfile.TemporaryDirectory() as folder:
        store = RecordStore(Path(folder) / "s.db")
        try:
            with store.transaction() as conn:
                generation = store.next_generation(conn)
                for i in range(n):
                    store.upsert_document(
                        conn,
                        Document(id=f"D{i}", text="x", acl=("all",)),
                        [ChunkRow(0, 0, 1, "x", vectors[i].tobytes())],
                        content_hash="c",
                        acl_hash="a",
                        source="t",
                        generation=generation,
                    )
            dense = DenseIndex(384)
            with store.snapshot() as conn:
                dense.sync(store, conn)
            found = dense.search(query, mask, n)
        finally:
            store.close()
    rows = np.flatnonzero(mask[1 : n + 1])  # record pk i + 1 holds row i
    expected = vectors[rows] @ query
    order = np.lexsort((rows, -expected))
    assert found == [(int(rows[i]) + 1, int(rows[i]) + 1, float(expected[i])) for i in order]


def test_a_revoked_right_takes_effect_on_the_next_search_whatever_wrote_it(
    scratch: Path,
) -> None:
    """Rights kept between searches are dropped by any permission write, even one made
    without a new store generation (the store's triggers count every change)."""
    store = RecordStore(scratch / "s.db")
    scope = AccessScope.of("team:a")

    def seen() -> list[int]:
        with store.snapshot() as conn:
            mask, count = visible_records(conn, scope)
        assert count == np.count_nonzero(mask)
        return np.flatnonzero(mask).tolist()

    try:
        _add(store, [("A", "CASE-1", "safety plan", "team:a"), ("B", "CASE-1", "gp", "team:a")])
        assert seen() == [1, 2]
        assert seen() == [1, 2]
        with store.transaction() as conn:  # no next_generation: the version still moves
            store.update_permissions(conn, "B", ["team:a"], ["team:a"], acl_hash="x", generation=1)
        assert seen() == [1]
        with store.transaction() as conn:
            store.delete_document(conn, "A", generation=1)
        assert seen() == []
    finally:
        store.close()


def test_kept_match_lists_follow_chunks_added_and_removed(
    scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lexical, "KEPT_MIN_CHUNKS", 0)  # keep every list, however short
    store = RecordStore(scratch / "s.db")
    groups: list[TermGroup] = [("gp",), ("safety", "plan")]

    def matching() -> dict[TermGroup, list[int]]:
        with store.snapshot() as conn:
            return {g: rows.tolist() for g, rows in group_matches(conn, groups).items()}

    try:
        _add(store, [("A", "CASE-1", "safety plan with the gp", "team:a")])
        assert matching() == {("gp",): [1], ("safety", "plan"): [1]}
        assert matching() == {("gp",): [1], ("safety", "plan"): [1]}
        _add(store, [("B", "CASE-2", "gp visit", "team:b")])
        assert matching() == {("gp",): [1, 2], ("safety", "plan"): [1]}
        with store.transaction() as conn:
            store.delete_document(conn, "A", generation=1)
        assert matching() == {("gp",): [2], ("safety", "plan"): []}
    finally:
        store.close()


def _within_the_case_and_everywhere(
    docs: list[tuple[str, str]],
    groups: list[TermGroup],
    case_id: str,
    caller: str = "all",
    principals: Sequence[str] = (),
) -> None:
    """A case's matches read from its chunks' stored terms (``group_matches_within``) are
    the index-wide matches narrowed to the case, and BM25 over them, as ``caller``, gives the
    same scores to the last bit as over the index-wide matches."""
    groups = [g for g in groups if g]
    if match_expression(groups) is None:
        return
    with _store_with(docs, principals) as store:
        dense = DenseIndex(384)
        with store.snapshot() as conn:
            dense.sync(store, conn)
            visible, allowed = scope_masks(conn, AccessScope.of(caller), SearchFilters(case_id))
            population = dense.population(visible)
            candidates = population.restrict(allowed)
            everywhere = group_matches(conn, groups)
            inside = lexical.group_matches_within(conn, groups, np.flatnonzero(candidates))
            for group, rows in everywhere.items():
                assert inside[group].tolist() == rows[lexical.within(candidates, rows)].tolist()
            expected = bm25_search(conn, groups, everywhere, candidates, population, 1000)
            got = bm25_search(
                conn, groups, inside, candidates, population, 1000,
                matches_within_candidates=True,
            )  # fmt: skip
        assert got == expected


@settings(max_examples=60, deadline=None, suppress_health_check=[KEPT_FIXTURE])
@given(docs=_docs, groups=_groups, case_id=st.sampled_from(["CASE-1", "CASE-2"]))
def test_matches_found_in_the_cases_own_chunks_give_the_same_scores(
    occurrence_path: str, docs: list[tuple[str, str]], groups: list[TermGroup], case_id: str
) -> None:
    """For a caller who sees everything (NEAR groups and split terms included): each phrase's
    count is SQLite's over the whole index."""
    _within_the_case_and_everywhere(docs, groups, case_id)


@settings(max_examples=60, deadline=None, suppress_health_check=[KEPT_FIXTURE])
@given(
    docs=_docs,
    teams=st.lists(st.sampled_from(["team:a", "team:b"]), min_size=12, max_size=12),
    groups=_groups,
    case_id=st.sampled_from(["CASE-1", "CASE-2"]),
)
def test_a_teams_matches_found_in_the_cases_own_chunks_give_the_same_scores(
    occurrence_path: str,
    docs: list[tuple[str, str]],
    teams: list[str],
    groups: list[TermGroup],
    case_id: str,
) -> None:
    """For a caller who sees only her team's records: each phrase's count over her records
    is read from the index-wide matches, only for the phrases the case holds."""
    _within_the_case_and_everywhere(docs, groups, case_id, "team:a", teams)
