"""The lexical module's shortcuts give exactly what SQLite's FTS5 gives.

``fts5_tokens`` answers ASCII text without asking SQLite, and ``_offsets_from_terms`` finds
the offsets of query tokens in plain ASCII terms by string search: both are checked here
against FTS5 itself (a private ``unicode61`` table and its ``instance`` vocabulary), on
words with digits, mixed case, underscores, apostrophes, control characters and non-ASCII
letters.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from factories import make_record
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection

from connectors.record import Tombstone
from indexer import Indexer
from retrieval import lexical
from retrieval.chunking import ChunkingConfig
from retrieval.embedding import Embedder
from retrieval.lexical import ascii_tokens, fts5_tokens
from retrieval.store import RecordStore


def _sqlite_tokens(text: str) -> tuple[str, ...]:
    """FTS5's ``unicode61`` tokens of ``text``, asked of a fresh SQLite table."""
    db = sqlite3.connect(":memory:")
    try:
        db.execute("CREATE VIRTUAL TABLE t USING fts5 (x, tokenize = 'unicode61')")
        db.execute("CREATE VIRTUAL TABLE v USING fts5vocab (t, instance)")
        db.execute("INSERT INTO t (rowid, x) VALUES (1, ?)", (text,))
        rows = db.execute("SELECT term FROM v ORDER BY offset").fetchall()
    finally:
        db.close()
    return tuple(str(r[0]) for r in rows)


ASCII = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=127), max_size=40)
WORDISH = st.text(
    alphabet=st.sampled_from(list("abcXYZ019_'-. éëßŁıİ\u00a0ﬁЖ")), min_size=0, max_size=16
)


@settings(max_examples=400, deadline=None)
@given(ASCII)
def test_ascii_tokens_are_unicode61s(text: str) -> None:
    assert ascii_tokens(text) == _sqlite_tokens(text)


@settings(max_examples=400, deadline=None)
@given(st.one_of(ASCII, WORDISH, st.text(max_size=20)))
def test_fts5_tokens_are_sqlites(text: str) -> None:
    fts5_tokens.cache_clear()
    assert fts5_tokens(text) == _sqlite_tokens(text)


@pytest.mark.parametrize(
    ("word", "tokens"),
    [
        ("gp", ("gp",)),
        ("a1b2", ("a1b2",)),
        ("GP", ("gp",)),
        ("McDonald", ("mcdonald",)),
        ("snake_case", ("snake", "case")),
        ("o'brien", ("o", "brien")),
        ("12.5mg", ("12", "5mg")),
        ("zoë", ("zoe",)),
        ("", ()),
    ],
)
def test_fts5_tokens_examples(word: str, tokens: tuple[str, ...]) -> None:
    assert fts5_tokens(word) == tokens == _sqlite_tokens(word)


@pytest.fixture(scope="module")
def fts_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordStore]:
    store = RecordStore(Path(tmp_path_factory.mktemp("fast")) / "store.sqlite3")
    yield store
    store.close()


CHUNK_WORDS = st.lists(
    st.one_of(
        st.sampled_from(["a", "b", "ab", "gp"]),
        st.sampled_from(["nurse", "visit", "a1", "1", "x", "GP", "a_b", "b'a", "zoë"]),
        WORDISH.filter(lambda w: w.strip() != ""),
    ),
    max_size=40,
)
SEPARATORS = st.sampled_from([" ", "  ", "\t", " \n "])


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    chunks=st.lists(st.tuples(CHUNK_WORDS, SEPARATORS), min_size=1, max_size=6),
    query=st.lists(
        st.sampled_from(["gp", "nurse", "visit", "a", "b", "ab", "a1", "1", "x", "e", "zoe"]),
        min_size=1,
        max_size=5,
        unique=True,
    ),
)
def test_offsets_from_terms_are_fts5s(
    fts_store: RecordStore, chunks: list[tuple[list[str], str]], query: list[str]
) -> None:
    """Offsets re-made from the stored terms equal FTS5's own ``instance`` vocabulary."""
    texts = [separator.join(words) for words, separator in chunks]
    with fts_store.snapshot() as conn:
        _with_chunks(conn, texts)
        got = lexical._offsets_from_terms(conn, query, list(range(1, len(texts) + 1)))
        assert got == _vocab_offsets(conn, query)


def test_offsets_of_repeated_tokens(fts_store: RecordStore) -> None:
    texts = ["a a b a ab a a", "gp  nurse\tGP a_b gp", "zoë gp zoe a", "b", "x a1 a 1 a"]
    query = ["a", "gp", "zoe", "b", "1", "nurse"]
    with fts_store.snapshot() as conn:
        _with_chunks(conn, texts)
        got = lexical._offsets_from_terms(conn, query, list(range(1, len(texts) + 1)))
        assert got == _vocab_offsets(conn, query)
        assert got["a"][1] == [0, 1, 3, 5, 6]
        assert got["gp"][2] == [0, 2, 5]


def _with_chunks(conn: Connection, texts: Sequence[str]) -> sqlite3.Connection:
    """The FTS table holding ``texts`` alone (rowids from 1), through its SQLite driver."""
    raw = conn.connection.driver_connection
    assert isinstance(raw, sqlite3.Connection)
    raw.execute("DELETE FROM chunks_fts")
    raw.executemany(
        "INSERT INTO chunks_fts (rowid, terms) VALUES (?, ?)",
        [(pk, text) for pk, text in enumerate(texts, start=1)],
    )
    return raw


def _vocab_offsets(conn: Connection, tokens: Sequence[str]) -> dict[str, dict[int, list[int]]]:
    out: dict[str, dict[int, list[int]]] = {t: {} for t in tokens}
    raw = conn.connection.driver_connection
    assert isinstance(raw, sqlite3.Connection)
    for term, doc, offset in raw.execute(
        "SELECT term, doc, offset FROM chunks_vocab ORDER BY doc, offset"
    ):
        if term in out:
            out[term].setdefault(int(doc), []).append(int(offset))
    return out


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    chunks=st.lists(st.tuples(CHUNK_WORDS, SEPARATORS), min_size=1, max_size=6),
    token=st.sampled_from(["a", "b", "gp", "zoe", "1", "nurse", "absent"]),
)
def test_counts_and_chunks_from_offsets_are_sqlites(
    fts_store: RecordStore, chunks: list[tuple[list[str], str]], token: str
) -> None:
    """A token's counts and the chunks it matches, both made from the one read of its
    offsets, equal what SQLite counts itself and what FTS5's ``MATCH`` finds."""
    texts = [separator.join(words) for words, separator in chunks]
    with fts_store.snapshot() as conn:
        raw = _with_chunks(conn, texts)
        counted = raw.execute(
            "SELECT doc, count(*) FROM chunks_vocab WHERE term = ? GROUP BY doc ORDER BY doc",
            (token,),
        ).fetchall()
        matched = raw.execute(
            "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rowid",
            (f'"{token}"',),
        ).fetchall()
        packed = lexical._token_counts(conn, token)
        got_counts = [(int(p >> lexical.COUNT_BITS), int(p & 0xFFFFF)) for p in packed]
        assert got_counts == [(int(d), int(n)) for d, n in counted]
        assert lexical._token_chunks(conn, token).tolist() == [int(r) for (r,) in matched]


def test_a_kept_phrase_count_follows_the_store(
    store: RecordStore, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counts kept between searches are kept under the chunks' version: a write makes the
    next search count again (on both backends)."""
    monkeypatch.setattr(lexical, "KEPT_MIN_CHUNKS", 1)  # keep every count
    indexer = Indexer(store, embedder, ChunkingConfig(max_words=60))
    indexer.apply([make_record(id="R1", text="Home visit today.")], source="t")
    with store.snapshot() as conn:
        assert lexical._phrase_count(conn, ("home", "visit")) == 1
        assert lexical._phrase_count(conn, ("home", "visit")) == 1  # kept
    indexer.apply([make_record(id="R2", text="Another home visit.")], source="t")
    with store.snapshot() as conn:
        assert lexical._phrase_count(conn, ("home", "visit")) == 2
    indexer.apply([Tombstone("R1")], source="t")
    with store.snapshot() as conn:
        assert lexical._phrase_count(conn, ("home", "visit")) == 1
