"""BM25 statistics are counted over the caller's own records.

For a caller who sees everything the scores are FTS5's ``bm25()`` to the last bit; for anyone
else, records hidden from them change nothing they get back (the ranking side channel of
index-wide statistics, Büttcher & Clarke 2005, is closed).
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from factories import make_record
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pg_schema import postgresql_schema
from sqlalchemy import Connection

from connectors.record import Record
from indexer import Indexer
from retrieval import analysis, lexical
from retrieval.access import visible_records
from retrieval.dense import DenseIndex
from retrieval.embedding import Embedder
from retrieval.errors import InvalidQueryError
from retrieval.lexical import (
    TermGroup,
    bm25_search,
    fts5_tokens,
    group_matches,
    match_expression,
    near_kept,
    single_terms,
)
from retrieval.models import (
    AccessScope,
    ChunkRow,
    Document,
    Mode,
    SearchFilters,
    SearchRequest,
)
from retrieval.search import HybridSearcher
from retrieval.store import RecordStore

MEDLINE = Path(__file__).resolve().parents[3] / "shared" / "eval-data" / "medline"
VOCABULARY = ["plan", "safety", "zoë", "zoe", "snake_case", "snake", "case", "gp", "visit", "mum"]
_ZERO = bytes(4 * 384)


def _add(store: RecordStore, docs: Sequence[tuple[str, str, str]]) -> None:
    """Index ``(id, text, principal)`` triples, one chunk each, in one transaction."""
    with store.transaction() as conn:
        for doc_id, text, principal in docs:
            store.upsert_document(
                conn,
                Document(id=doc_id, text=text, acl=(principal,)),
                [ChunkRow(0, 0, len(text), " ".join(analysis.terms(text)), _ZERO)],
                content_hash=doc_id,
                acl_hash=principal,
                source="t",
                generation=store.next_generation(conn),
            )


def _search(
    store: RecordStore, groups: Sequence[TermGroup], *principals: str
) -> list[tuple[str, float]]:
    """Our BM25 as a caller with ``principals``: ``(record id, score)`` best first."""
    scope = AccessScope.of(*principals)
    dense = DenseIndex(384)
    with store.snapshot() as conn:
        dense.sync(store, conn)
        visible, _ = visible_records(conn, scope)
        population = dense.population(visible)
        matches = group_matches(conn, groups)
        hits = bm25_search(conn, groups, matches, population.restrict(visible), population, 1000)
        ids = store.ids_by_pk(conn, [record for _, record, _ in hits])
    return [(ids[record], score) for _, record, score in hits]


def _fts5_scores(conn: Connection, groups: Sequence[TermGroup]) -> dict[int, float]:
    expression = match_expression(groups)
    assert expression is not None
    return {
        int(pk): float(score)
        for pk, score in conn.exec_driver_sql(
            "SELECT rowid, -bm25(chunks_fts) FROM chunks_fts WHERE chunks_fts MATCH ?",
            (expression,),
        )
    }


def _ours_against_fts5(
    store: RecordStore, groups: Sequence[TermGroup], embedded: RecordStore | None = None
) -> None:
    """Our scores on ``store`` equal FTS5's ``bm25()`` on ``embedded`` (an embedded store of
    the same records; ``store`` itself when it is one)."""
    ours = _search(store, groups, "all")
    embedded = embedded or store
    with embedded.snapshot() as conn:
        reference = _fts5_scores(conn, groups)
        ids = embedded.ids_by_pk(conn, reference)
    assert sorted(doc for doc, _ in ours) == sorted(ids.values())
    by_id = {ids[pk]: score for pk, score in reference.items()}
    for doc_id, score in ours:
        assert score == by_id[doc_id], (doc_id, score, by_id[doc_id])


def test_scores_are_fts5_bm25_exactly_for_a_caller_who_sees_everything(
    store: RecordStore, tmp_path: Path
) -> None:
    """On PostgreSQL too: its token table gives the scores FTS5 gives the same records."""
    if not (MEDLINE / "corpus.jsonl").exists():
        pytest.skip("shared/eval-data/medline is not present")
    with (MEDLINE / "corpus.jsonl").open() as fh:
        docs = [json.loads(line) for line, _ in zip(fh, range(300), strict=False)]
    with (MEDLINE / "queries.jsonl").open() as fh:
        queries = [json.loads(line)["text"] for line in fh]
    triples = [(d["_id"], d["text"], "all") for d in docs]
    _add(store, triples)
    embedded = RecordStore(tmp_path / "embedded.sqlite3") if store.postgresql else store
    if embedded is not store:
        _add(embedded, triples)
    for query in queries:
        terms = list(dict.fromkeys(analysis.terms(query)))
        # single terms and the NEAR groups the understanding step adds for wordings
        groups = single_terms(terms) + [tuple(terms[i : i + 2]) for i in range(len(terms) - 1)]
        _ours_against_fts5(store, groups, embedded)


_texts = st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=14).map(" ".join)
ONE_TOKEN = [word for word in VOCABULARY if len(fts5_tokens(word)) == 1]
# A term FTS5 splits ("snake_case") inside a NEAR group is where FTS5's own bm25() counts
# instances of groups that did not match ("case snake plan" for NEAR("snake case" "plan"));
# we keep to the documented NEAR rule there, so such groups are compared by rule, not score.
_groups = st.lists(
    st.one_of(
        st.sampled_from(VOCABULARY).map(lambda word: (word,)),
        st.lists(st.sampled_from(ONE_TOKEN), min_size=2, max_size=3, unique=True).map(tuple),
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=150, deadline=None)
@given(texts=st.lists(_texts, min_size=1, max_size=12), groups=_groups)
def test_scores_match_fts5_on_random_chunks_and_groups(
    texts: list[str], groups: list[TermGroup]
) -> None:
    """NEAR groups, repeated terms, folded ("zoë") and split ("snake_case") terms included;
    offsets re-made from the chunks' terms (a few candidates) and read from FTS5's vocabulary
    (many candidates: forced here with a limit of 0) give the same scores."""
    with tempfile.TemporaryDirectory() as folder:
        store = RecordStore(Path(folder) / "s.db")
        try:
            _add(store, [(f"D{i}", text, "all") for i, text in enumerate(texts)])
            wanted = [tuple(analysis.terms(" ".join(g))) for g in groups]
            _ours_against_fts5(store, wanted)
            with mock.patch.object(lexical, "TEXT_PATH_MAX_CHUNKS", 0):
                _ours_against_fts5(store, wanted)
        finally:
            store.close()


@settings(max_examples=60, deadline=None)
@given(texts=st.lists(_texts, min_size=1, max_size=12), groups=_groups)
def test_postgresql_scores_equal_fts5_on_random_chunks_and_groups(
    texts: list[str], groups: list[TermGroup]
) -> None:
    """The scale-out store's token table matches and scores as FTS5 does, group by group."""
    query = [tuple(analysis.terms(" ".join(g))) for g in groups]
    triples = [(f"D{i}", text, "all") for i, text in enumerate(texts)]
    with tempfile.TemporaryDirectory() as folder, postgresql_schema() as url:
        embedded, scale_out = RecordStore(Path(folder) / "s.db"), RecordStore(url)
        try:
            _add(embedded, triples)
            _add(scale_out, triples)
            _ours_against_fts5(scale_out, query, embedded)
            assert _search(scale_out, query, "all") == _search(embedded, query, "all")
        finally:
            embedded.close()
            scale_out.close()


@settings(max_examples=100, deadline=None)
@given(
    visible=st.lists(_texts, min_size=1, max_size=8),
    hidden=st.lists(_texts, min_size=1, max_size=8),
    groups=_groups,
)
def test_records_hidden_from_the_caller_change_no_score(
    visible: list[str], hidden: list[str], groups: list[TermGroup]
) -> None:
    query = [tuple(analysis.terms(" ".join(g))) for g in groups]
    with tempfile.TemporaryDirectory() as folder:
        alone = RecordStore(Path(folder) / "alone.db")
        shared = RecordStore(Path(folder) / "shared.db")
        try:
            mine = [(f"V{i}", text, "team:a") for i, text in enumerate(visible)]
            _add(alone, mine)
            _add(shared, mine)
            _add(shared, [(f"H{i}", text, "team:b") for i, text in enumerate(hidden)])
            assert _search(shared, query, "team:a") == _search(alone, query, "team:a")
        finally:
            alone.close()
            shared.close()


def test_fts5_tokens_are_fts5s_own() -> None:
    assert fts5_tokens("zoë") == ("zoe",)
    assert fts5_tokens("snake_case") == ("snake", "case")
    assert fts5_tokens("gp") == ("gp",)


def near_instances(
    starts: Sequence[Sequence[int]], lengths: Sequence[int], distance: int
) -> list[set[int]]:
    """FTS5's NEAR rule in one chunk, written plainly (the reference for ``near_kept``): a
    choice of one instance per phrase matches when, for the instance that starts last, no
    phrase ends more than ``distance`` tokens before it starts; an instance counts when some
    match includes it; a phrase with no instance matches nothing."""
    kept: list[set[int]] = [set() for _ in starts]
    if not starts or any(not s for s in starts):
        return kept
    for last in sorted({s for phrase in starts for s in phrase}):
        windows = [
            [s for s in phrase if last - length - distance <= s <= last]
            for phrase, length in zip(starts, lengths, strict=True)
        ]
        if all(windows):
            for into, window in zip(kept, windows, strict=True):
                into.update(window)
    return kept


@given(
    starts=st.lists(
        st.lists(st.integers(0, 30), min_size=1, max_size=5, unique=True).map(sorted),
        min_size=2,
        max_size=3,
    ),
    distance=st.integers(0, 4),
)
def test_a_kept_near_instance_is_part_of_a_match(starts: list[list[int]], distance: int) -> None:
    kept = near_instances(starts, [1] * len(starts), distance)
    for phrase, instances in enumerate(kept):
        for instance in instances:
            # some choice of the other phrases' instances lies within the window with it
            window = [
                [s for s in other if abs(s - instance) <= distance + 1]
                for i, other in enumerate(starts)
                if i != phrase
            ]
            assert all(window)


_chunk_starts = st.lists(
    st.lists(st.integers(0, 30), max_size=5, unique=True).map(sorted), min_size=2, max_size=3
)


@given(
    chunks=st.lists(_chunk_starts, min_size=1, max_size=4),
    lengths=st.lists(st.integers(1, 3), min_size=3, max_size=3),
    distance=st.integers(0, 4),
)
def test_near_over_all_chunks_at_once_keeps_what_each_chunk_keeps(
    chunks: list[list[list[int]]], lengths: list[int], distance: int
) -> None:
    """The array form bm25_search uses, over several chunks packed together, keeps exactly
    the instances the per-chunk rule keeps in each chunk (offsets near 0 included)."""
    phrases = min(len(c) for c in chunks)
    packed = [
        np.array(
            [(pk << lexical.COUNT_BITS) | s for pk, c in enumerate(chunks, 1) for s in c[p]],
            dtype=np.int64,
        )
        for p in range(phrases)
    ]
    kept = near_kept(packed, lengths[:phrases], distance)
    for pk, chunk in enumerate(chunks, 1):
        expected = near_instances(chunk[:phrases], lengths[:phrases], distance)
        got = [
            {int(k) & ((1 << lexical.COUNT_BITS) - 1) for k in a if k >> lexical.COUNT_BITS == pk}
            for a in kept
        ]
        assert got == expected


def test_hidden_records_do_not_reorder_a_users_results(
    store: RecordStore, indexer: Indexer, searcher: HybridSearcher
) -> None:
    """The attack: two of her own records, one per name; hidden records naming Jordan.

    With index-wide statistics the hidden records lower "jordan"'s idf and so the score of
    her record about Jordan against her record about Kai: the order she sees answers "does a
    record I cannot see mention Jordan?". Now her results do not move at all.
    """
    indexer.apply(
        [
            make_record(id="MINE-1", text="Jordan attended the review meeting.", acl=["team:a"]),
            make_record(id="MINE-2", text="Kai attended the review meeting.", acl=["team:a"]),
            make_record(id="MINE-3", text="The family moved house in May.", acl=["team:a"]),
        ],
        source="t",
    )
    requests = [
        SearchRequest(text="Jordan Kai", scope=AccessScope.of("team:a"), mode=mode)
        for mode in ("bm25", "hybrid")
    ]
    before = [_seen(searcher, request) for request in requests]
    index_wide_before = _index_wide_scores(store)
    indexer.apply(
        [
            make_record(id=f"HIDDEN-{i}", text=f"Jordan was seen at school {i}.", acl=["team:b"])
            for i in range(4)
        ],
        source="t2",
    )
    index_wide_after = _index_wide_scores(store)
    assert index_wide_after != {
        pk: index_wide_before[pk] for pk in index_wide_after if pk in index_wide_before
    }, "the fixture must exercise the channel: index-wide scores do move"
    assert [_seen(searcher, request) for request in requests] == before


def _index_wide_scores(store: RecordStore) -> dict[str, float]:
    """BM25 of "jordan kai" with statistics over every record (the channel's source): FTS5's
    own on the embedded store; ours for a caller who sees everything on PostgreSQL."""
    groups: list[TermGroup] = [("jordan",), ("kai",)]
    if store.postgresql:
        return dict(_search(store, groups, "team:a", "team:b"))
    with store.snapshot() as conn:
        scores = _fts5_scores(conn, groups)
        ids = store.ids_by_pk(conn, scores)
    return {ids[pk]: score for pk, score in scores.items()}


def _seen(searcher: HybridSearcher, request: SearchRequest) -> list[tuple[object, ...]]:
    """Everything a result shows its reader."""
    return [
        (h.document_id, h.score, h.snippet, h.why, h.chunk_id)
        for h in searcher.search(request).hits
    ]


NAMES = ["Jordan", "Kai", "Ruby", "Oisin"]
SENTENCES = [
    "{n} was seen at home by the social worker.",
    "Police attended after an incident involving {n}'s mother.",
    "The GP saw {n} for a cough; no concerns.",
    "Safety plan agreed: {n} will not be left alone with the ex-partner.",
    "School reports {n} arrived hungry and tired.",
    "No concerns about neglect were raised for {n}.",
]


@pytest.fixture(scope="module")
def two_stores(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> tuple[HybridSearcher, HybridSearcher]:
    """The caller's records alone, and the same records beside many she may not see."""
    from retrieval.chunking import ChunkingConfig

    def records(prefix: str, principal: str, count: int, shift: int) -> list[Record]:
        return [
            make_record(
                id=f"{prefix}-{i}",
                case_id=f"CASE-{i % 3}",
                doc_type=["visit_note", "police_notification", "safety_plan"][i % 3],
                title=f"Record {i}",
                text=" ".join(
                    SENTENCES[(i + j + shift) % len(SENTENCES)].format(n=NAMES[(i + j) % 4])
                    for j in range(2)
                ),
                created_at=f"2024-0{1 + i % 9}-1{i % 10}",
                acl=[principal],
            )
            for i in range(count)
        ]

    mine = records("MINE", "team:a", 18, 0)
    searchers = []
    for name, extra in (("alone", []), ("shared", records("HIDDEN", "team:b", 40, 3))):
        store = RecordStore(tmp_path_factory.mktemp(name) / "s.db")
        Indexer(store, embedder, ChunkingConfig(max_words=60)).apply(mine, source="mine")
        if extra:
            Indexer(store, embedder, ChunkingConfig(max_words=60)).apply(extra, source="other")
        searchers.append(HybridSearcher(store, embedder))
    return searchers[0], searchers[1]


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    words=st.lists(
        st.sampled_from(
            [*NAMES, "police", "safety", "plan", "current", "neglect", "GP", "hungry", "home"]
        ),
        min_size=1,
        max_size=4,
    ),
    case=st.sampled_from([None, "CASE-0", "CASE-2"]),
    mode=st.sampled_from(["bm25", "hybrid"]),
)
def test_no_search_result_depends_on_records_the_caller_cannot_see(
    two_stores: tuple[HybridSearcher, HybridSearcher],
    words: list[str],
    case: str | None,
    mode: Mode,
) -> None:
    alone, shared = two_stores
    request = SearchRequest(
        text=" ".join(words),
        scope=AccessScope.of("team:a"),
        filters=SearchFilters(case_id=case),
        mode=mode,
        top_k=20,
        today=dt.date(2025, 1, 1),
    )
    assert _outcome(shared, request) == _outcome(alone, request)


def _outcome(searcher: HybridSearcher, request: SearchRequest) -> object:
    try:
        return _seen(searcher, request)
    except InvalidQueryError as exc:  # "current" alone: nothing left to search in bm25 mode
        return str(exc)
