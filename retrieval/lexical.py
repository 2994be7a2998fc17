"""BM25 over the FTS5 chunk table, with statistics counted over the caller's own records.

FTS5 finds which candidate chunks match; the scores are computed here, with Okapi BM25 exactly
as FTS5's ``bm25()`` defines it (k1 = 1.2, b = 0.75, idf ``ln((N − n + 0.5) / (n + 0.5))``
floored at 1e-6, one summand per phrase of the query; SQLite FTS5 documentation), but with
``N``, ``n`` and the mean chunk length counted over the chunks of the records the caller may
see (the ``Population``), not over the whole index.

Why: with index-wide statistics a record the caller cannot see still moves the scores of the
records she can, so comparing the order of two of her own records answers "does any record
hidden from me contain this word?" (Büttcher & Clarke, "A security model for full-text file
system search in multi-user environments", FAST 2005, showed the attack and this remedy).
Scoped statistics make the ranking depend on the visible records alone; for a caller who
sees every record they are the index-wide statistics, so scores equal ``bm25()`` exactly
(``tests/retrieval/test_scoped_bm25.py``).

How: ``group_matches`` reads each group's matches from the whole index once; the caller's
masks (``Population``, candidates) narrow them in memory, and the term counts and offsets
are read for the remaining chunks only: re-made from their stored terms when they are few
(a search in one case costs what the case holds), else looked up in each term's occurrences
over the whole index. Long match, count and offset lists are kept between searches under the
store's ``chunks_version`` (docs/scale.md). What still depends on hidden records is time:
those index-wide matches are read whether or not the caller may see them (README, Security
model).
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from weakref import WeakKeyDictionary

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, Engine

from retrieval import pksets
from retrieval.store import data_version, int_column, is_postgresql, sqlite_connection

TermGroup = tuple[str, ...]
"""One query term, or the terms of a wording that must appear near each other to match."""

GROUP_SLACK = 2
"""Other terms allowed inside a group's match ("practice nurse" matches "nurse at the GP
practice"; stop words are not in the index, so they never count)."""

K1 = 1.2
B = 0.75
IDF_FLOOR = 1e-6
"""FTS5's constants: a term in more than half the chunks would get a negative idf."""


BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
Sparse = tuple[IntArray, npt.NDArray[np.float64]]
"""Places in a search's candidate chunks (ascending, unique) and a number for each."""


@dataclass(frozen=True, slots=True)
class Population:
    """The chunks BM25 takes its statistics from: those of the records the caller may see.

    Arrays are indexed by chunk pk (pks beyond their end are not in the population):
    ``visible`` marks the chunks that count, ``record_of`` gives their record's pk and
    ``length_of`` their length in FTS5 tokens.
    ``chunks`` is how many chunks count and ``terms`` their total length in FTS5 tokens;
    ``complete`` says that every live chunk of the index counts (a caller who sees everything),
    so counts over the population are counts over the index, which SQLite can make itself.
    The arrays are read-only: one population may serve several searches.
    """

    visible: BoolArray
    record_of: IntArray
    length_of: IntArray
    chunks: int
    terms: int
    complete: bool = False

    def within(self, chunk_pks: IntArray) -> BoolArray:
        """Which of ``chunk_pks`` are in the population."""
        return within(self.visible, chunk_pks)

    def restrict(self, records: BoolArray) -> BoolArray:
        """The population's chunks whose record ``records[record_pk]`` marks (by chunk pk)."""
        pks = np.flatnonzero(self.visible)
        owners = self.record_of[pks]
        keep = within(records, owners)
        out = np.zeros(len(self.visible), dtype=np.bool_)
        out[pks[keep]] = True
        return out


def within(mask: BoolArray, pks: IntArray) -> BoolArray:
    """``mask[pk]`` for each of ``pks``, False beyond the mask's end."""
    inside = pks < len(mask)
    out = np.zeros(len(pks), dtype=np.bool_)
    out[inside] = mask[pks[inside]]
    return out


def single_terms(terms: Sequence[str]) -> list[TermGroup]:
    """Each term as a group of its own (a plain bag-of-words query)."""
    return [(t,) for t in terms]


def match_expression(groups: Sequence[TermGroup]) -> str | None:
    """An FTS5 MATCH string OR-ing the distinct groups, or None if there are none.

    A one-term group is a quoted term; a longer one is an FTS5 ``NEAR`` group, which matches
    when all its terms occur in any order with at most ``GROUP_SLACK`` other terms among them.
    Terms come from ``retrieval.analysis`` and hold word characters only, so quoting is safe.
    """
    distinct = _distinct(groups)
    if not distinct:
        return None
    return " OR ".join(_group_expression(g) for g in distinct)


def _distinct(groups: Sequence[TermGroup]) -> list[TermGroup]:
    return list(dict.fromkeys(g for g in groups if g and all(g)))


def _group_expression(group: TermGroup) -> str:
    quoted = " ".join(f'"{t}"' for t in group)
    if len(group) == 1:
        return quoted
    return f"NEAR({quoted}, {_near_distance(group)})"


def _near_distance(group: TermGroup) -> int:
    # NEAR counts the terms between the first and the last of the group
    return len(group) - 2 + GROUP_SLACK


_tokenizer_lock = threading.Lock()
_tokenizer: sqlite3.Connection | None = None


_ASCII_TOKEN = re.compile(r"[a-z0-9]+")
_PLAIN_TERMS = re.compile(r"[a-z0-9 ]*")
"""Terms whose words are already FTS5's tokens: lower-case ASCII letters and digits between
spaces (nearly every chunk's stored terms)."""


def ascii_tokens(text: str) -> tuple[str, ...]:
    """FTS5's ``unicode61`` tokens of ASCII ``text``: its runs of letters and digits, folded
    to lower case (every other ASCII character separates tokens, underscores and apostrophes
    included); ``tests/retrieval/test_lexical_fast_paths.py`` checks it against SQLite."""
    return tuple(_ASCII_TOKEN.findall(text.lower()))


@lru_cache(maxsize=50_000)
def fts5_tokens(term: str) -> tuple[str, ...]:
    """The tokens FTS5's ``unicode61`` tokenizer makes of ``term`` (usually just one).

    ASCII text is split by ``ascii_tokens``, which gives what FTS5 gives; anything else is
    asked of SQLite itself, through a private in-memory FTS5 table, so case and diacritic
    folding ("zoë" → "zoe") and splitting ("snake_case" → "snake", "case") are FTS5's own.
    """
    if term.isascii():
        return ascii_tokens(term)
    global _tokenizer
    with _tokenizer_lock:
        if _tokenizer is None:
            _tokenizer = sqlite3.connect(":memory:", check_same_thread=False)
            _tokenizer.execute("CREATE VIRTUAL TABLE t USING fts5 (x, tokenize = 'unicode61')")
            _tokenizer.execute("CREATE VIRTUAL TABLE v USING fts5vocab (t, instance)")
        _tokenizer.execute("DELETE FROM t")
        _tokenizer.execute("INSERT INTO t (rowid, x) VALUES (1, ?)", (term,))
        rows = _tokenizer.execute("SELECT term, offset FROM v ORDER BY offset").fetchall()
    return tuple(str(token) for token, _ in rows)


@dataclass(frozen=True, slots=True)
class _Phrase:
    group: int
    tokens: tuple[str, ...]


def group_matches(conn: Connection, groups: Sequence[TermGroup]) -> dict[TermGroup, IntArray]:
    """The chunks (pks, ascending) each distinct group matches anywhere in the index.

    Index-wide on purpose: callers narrow them with the caller's masks in memory, so no SQL
    joins the permission tables per query.
    """
    return {group: _group_matching(conn, group) for group in _distinct(groups)}


def group_matches_within(
    conn: Connection, groups: Sequence[TermGroup], chunk_pks: IntArray
) -> dict[TermGroup, IntArray]:
    """What ``group_matches`` gives, narrowed to ``chunk_pks`` (ascending), found in those
    chunks' stored terms instead of the index: a search inside one case then reads what the
    case holds, not each word's matches over the whole store.

    The rules are FTS5's, as ``_occurrence_matches`` applies them to PostgreSQL's token table:
    a group matches where its one phrase starts, or where ``NEAR`` keeps an instance of its
    first phrase; a phrase FTS5 indexes nothing of matches nothing.
    """
    distinct = _distinct(groups)
    phrases = {group: [fts5_tokens(term) for term in group] for group in distinct}
    if not chunk_pks.size:
        return {group: np.zeros(0, dtype=np.int64) for group in distinct}
    tokens = list(dict.fromkeys(t for ps in phrases.values() for p in ps for t in p))
    found = _offsets_from_terms(conn, tokens, chunk_pks.tolist())
    offsets = {token: _packed(at, sorted(at)) for token, at in found.items()}
    return {
        group: _chunks_matching(
            group_phrases, offsets, _near_distance(group) if len(group_phrases) > 1 else None
        )
        for group, group_phrases in phrases.items()
    }


def _chunks_matching(
    phrases: Sequence[tuple[str, ...]], offsets: Mapping[str, IntArray], distance: int | None
) -> IntArray:
    """The chunks (ascending) where the one phrase starts, or, with ``distance``, where
    ``NEAR(…, distance)`` keeps an instance of the first phrase: FTS5's matching rule, over the
    packed ``offsets`` of each token (``chunk pk << COUNT_BITS | offset``). A phrase FTS5
    indexes nothing of matches nothing."""
    if not phrases or any(not p for p in phrases):
        return np.zeros(0, dtype=np.int64)
    starts = [phrase_starts(p, offsets) for p in phrases]
    if distance is not None:
        starts = near_kept(starts, [len(p) for p in phrases], distance)
    return pksets.distinct(starts[0] >> COUNT_BITS)


def _packed(offsets: Mapping[int, Sequence[int]], pks: Iterable[int]) -> IntArray:
    """``offsets`` (chunk pk → its offsets, ascending) of the chunks ``pks`` (ascending) as
    ``chunk pk << COUNT_BITS | offset``, ascending."""
    return np.fromiter(
        ((pk << COUNT_BITS) | offset for pk in pks for offset in offsets[pk]), dtype=np.int64
    )


KEPT_MIN_CHUNKS = 1_000
"""Match lists at least this long are kept between searches (common words: reading them is
most of a search's cost in a big store). Shorter ones, rare words such as names, are read
each time, so how fast a search answers says nothing of which rare words others asked for."""
KEPT_MAX_CHUNKS = 16_000_000
"""Values kept in all, per store (8 bytes each: at most 128 MB); the least recently used go
first. At a million chunks the 20 cross-case questions of the scale benchmark need more than
8M between them ("child" alone is 1.4M occurrences) and re-read each other's lists: with 16M
they took 10.4–10.7 s against 12.6–12.8 s the first time through and 7.2–7.3 s against
11.0–11.1 s the second, the process's peak RSS 2,834 against 2,813–2,818 MiB
(docs/scale.md)."""

_lock = threading.Lock()
_kept: WeakKeyDictionary[Engine, OrderedDict[tuple[int, str], IntArray]] = WeakKeyDictionary()


def _group_matching(conn: Connection, group: TermGroup) -> IntArray:
    """The chunks (pks, ascending, read-only) a group matches anywhere in the index."""
    distance = _near_distance(group) if len(group) > 1 else None
    return _matching(conn, _group_expression(group), [fts5_tokens(t) for t in group], distance)


def _phrase_matching(conn: Connection, tokens: tuple[str, ...]) -> IntArray:
    """The chunks (pks, ascending, read-only) holding the phrase anywhere in the index."""
    return _matching(conn, _phrase_expression(tokens), [tokens], None)


def _matching(
    conn: Connection, expression: str, phrases: Sequence[tuple[str, ...]], distance: int | None
) -> IntArray:
    """The chunks matching the FTS5 ``expression``: FTS5's own answer on SQLite; on
    PostgreSQL the same ``phrases`` (within ``NEAR(…, distance)``) found in the token table."""
    if len(phrases) == 1 and len(phrases[0]) == 1:
        # one token: the chunks of its counts, where an earlier search kept them
        version = data_version(conn, "chunks_version")
        counts = _kept_answer(conn, f"counts:{phrases[0][0]}", version)
        if counts is not None:
            return _chunks_of(counts)
    if is_postgresql(conn):
        return _kept_or_read(
            conn, f"match:{expression}", lambda: _occurrence_matches(conn, phrases, distance)
        )
    return _kept_or_read(conn, f"match:{expression}", lambda: _rowids(conn, expression))


def _occurrence_matches(
    conn: Connection, phrases: Sequence[tuple[str, ...]], distance: int | None
) -> IntArray:
    """What FTS5 would match, from the token occurrences PostgreSQL keeps (``chunk_tokens``):
    the chunks holding the one phrase, or all ``phrases`` within ``NEAR(…, distance)``.

    The chunks holding every token are found in SQL; where order or nearness matters they are
    checked with the rules ``bm25_search`` counts instances by (``_chunks_matching``), so both
    databases match the same chunks.
    """
    if not phrases or any(not p for p in phrases):
        return np.zeros(0, dtype=np.int64)  # a phrase FTS5 indexes nothing of matches nothing
    tokens = list(dict.fromkeys(t for p in phrases for t in p))
    holding = [
        int_column(conn, "SELECT DISTINCT chunk_pk FROM chunk_tokens WHERE term = ?", (t,))
        for t in tokens
    ]
    found = holding[0]
    for other in holding[1:]:
        found = np.intersect1d(found, other, assume_unique=True)
    if found.size == 0 or (len(phrases) == 1 and len(phrases[0]) == 1):
        return found
    positions: dict[str, dict[int, list[int]]] = {t: {} for t in tokens}
    for term, pk, pos in conn.exec_driver_sql(
        "SELECT term, chunk_pk, pos FROM chunk_tokens WHERE term = ANY(?) AND chunk_pk = ANY(?)"
        " ORDER BY chunk_pk, pos",
        (tokens, found.tolist()),
    ):
        positions[str(term)].setdefault(int(pk), []).append(int(pos))
    offsets = {token: _packed(at, sorted(at)) for token, at in positions.items()}
    return _chunks_matching(phrases, offsets, distance)


COUNT_BITS = 20
"""``_token_counts`` packs (chunk pk, count) as ``pk << COUNT_BITS | count``: no chunk holds a
million tokens."""


def _token_counts(conn: Connection, token: str) -> IntArray:
    """Each chunk of the whole index holding ``token``, with how often, packed (ascending).

    Counted here from the token's offsets (those kept, or read and not kept: most searches
    need no offsets): asking SQLite to count them (``GROUP BY doc`` over the vocabulary)
    took twice as long as reading them (a common word at a million chunks: 0.36 s against
    0.16 s).
    """

    def read() -> IntArray:
        kept = _kept_answer(conn, f"offsets:{token}", data_version(conn, "chunks_version"))
        return counted(kept if kept is not None else _read_offsets(conn, token))

    return _kept_or_read(conn, f"counts:{token}", read)


def _token_chunks(conn: Connection, token: str) -> IntArray:
    """The chunks of the whole index holding ``token`` (pks, ascending, read-only): those of
    its counts."""
    return _chunks_of(_token_counts(conn, token))


def _chunks_of(counts: IntArray) -> IntArray:
    """The chunks of packed counts (read-only; not kept apart from the counts, so that the
    kept lists hold twice the words)."""
    chunks = counts >> COUNT_BITS
    chunks.setflags(write=False)
    return chunks


def counted(offsets: IntArray) -> IntArray:
    """Packed offsets (``chunk pk << COUNT_BITS | offset``, ascending) as packed counts
    (``chunk pk << COUNT_BITS | how many``, ascending, one per chunk)."""
    if offsets.size == 0:
        return np.zeros(0, dtype=np.int64)
    pks = offsets >> COUNT_BITS
    first = np.flatnonzero(np.concatenate(([True], pks[1:] != pks[:-1])))
    sizes = np.diff(np.append(first, pks.size))
    return (pks[first] << COUNT_BITS) | sizes


def _token_offsets(conn: Connection, token: str) -> IntArray:
    """Every instance of ``token`` in the whole index as ``chunk pk << COUNT_BITS | offset``,
    ascending (offsets in FTS5 tokens: no chunk holds a million)."""
    return _kept_or_read(conn, f"offsets:{token}", lambda: _read_offsets(conn, token))


def _read_offsets(conn: Connection, token: str) -> IntArray:
    table, offset = _vocab(conn)
    sql = f"SELECT (doc << {COUNT_BITS}) | {offset} FROM {table} WHERE term = ?"
    return int_column(conn, sql, (token,))


def _vocab(conn: Connection) -> tuple[str, str]:
    """Where the token occurrences are, with their offset column: FTS5's ``instance``
    vocabulary on SQLite (``term``, ``doc``, ``offset``); ``chunk_tokens`` on PostgreSQL."""
    if is_postgresql(conn):
        return "(SELECT term, chunk_pk AS doc, pos FROM chunk_tokens) AS vocab", "pos"
    return "chunks_vocab", "offset"


def _kept_or_read(conn: Connection, what: str, read: Callable[[], IntArray]) -> IntArray:
    """``read()`` (made read-only), or the copy kept from an earlier search.

    Long answers are kept per store under its ``chunks_version`` (bumped inside every
    transaction that adds or removes chunks, read inside this snapshot), so a kept answer is
    exactly what SQLite would give now.
    """
    version = data_version(conn, "chunks_version")
    found = _kept_answer(conn, what, version)
    if found is not None:
        return found
    found = read()
    if found.size >= KEPT_MIN_CHUNKS:
        _keep(conn, what, version, found)
    else:
        found.setflags(write=False)
    return found


def _keep(conn: Connection, what: str, version: int | None, found: IntArray) -> None:
    """Keep ``found`` (made read-only) as the answer to ``what`` at ``version``, dropping
    the answers kept at other versions and the least recently used past the bound."""
    found.setflags(write=False)
    if version is None:
        return
    with _lock:
        kept = _kept.setdefault(conn.engine, OrderedDict())
        for stale in [k for k in kept if k[0] != version]:
            del kept[stale]
        kept[(version, what)] = found
        total = sum(a.size for a in kept.values())
        while total > KEPT_MAX_CHUNKS and len(kept) > 1:
            total -= kept.popitem(last=False)[1].size


def _kept_answer(conn: Connection, what: str, version: int | None) -> IntArray | None:
    """The answer to ``what`` kept from an earlier search of this store at ``version`` (of
    its chunks, as ``conn``'s snapshot sees them), or None."""
    if version is None:
        return None
    with _lock:
        kept = _kept.get(conn.engine)
        found = kept.get((version, what)) if kept is not None else None
        if found is not None and kept is not None:
            kept.move_to_end((version, what))
    return found


def bm25_search(
    conn: Connection,
    groups: Sequence[TermGroup],
    matches: Mapping[TermGroup, IntArray],
    candidates: BoolArray,
    population: Population,
    limit: int,
    *,
    matches_within_candidates: bool = False,
) -> list[tuple[int, int, float]]:
    """Top ``limit`` candidate chunks as ``(chunk_pk, record_pk, bm25)``, best first.

    ``matches`` comes from ``group_matches`` (it may hold more groups than ``groups``);
    ``candidates[chunk_pk]`` marks the chunks that may be returned, all of them in
    ``population``, whose statistics are used. Ties are broken by chunk pk. Higher is better.
    With ``matches_within_candidates`` the matches are only those among the candidates
    (``group_matches_within``). Each phrase's chunk count is then, for a ``population`` that is
    ``complete``, SQLite's over the whole index (which is that population); for any other, the
    population's share of the phrase's index-wide matches, read only for the phrases some
    candidate holds: a team's search in one case reads no index-wide list for a word its
    records lack.
    """
    distinct = _distinct(groups)
    if not distinct or limit <= 0 or population.chunks == 0:
        return []
    # narrowed to the candidates before merging: the merge then follows the caller's scope
    chunk_pks = pksets.union(
        [rows[within(candidates, rows)] for rows in (matches[g] for g in distinct)]
    )
    if chunk_pks.size == 0:
        return []
    phrases = [
        _Phrase(index, fts5_tokens(term)) for index, group in enumerate(distinct) for term in group
    ]
    tokens = list(dict.fromkeys(t for p in phrases for t in p.tokens))
    occurrences = _Occurrences(conn, tokens, chunk_pks)
    counts = {token: occurrences.counts(token) for token in tokens}
    frequencies = _frequencies(
        distinct, phrases, counts, occurrences, [matches[g] for g in distinct]
    )
    length = population.length_of[chunk_pks].astype(np.float64)
    average = population.terms / population.chunks
    idf: dict[tuple[str, ...], float] = {}
    for phrase, (at, _) in zip(phrases, frequencies, strict=True):
        # a phrase no candidate holds adds nothing to any score: its statistics are not
        # read (a search in one case asks for words its records do not hold)
        if at.size and phrase.tokens not in idf:
            group = distinct[phrase.group]
            if not phrase.tokens:  # nothing FTS5 would index
                containing = 0
            elif matches_within_candidates and population.complete:  # SQLite counts them
                containing = _phrase_count(conn, phrase.tokens)
            elif len(group) == 1:  # a one-term group's matches are its phrase's matches
                held = _group_matching(conn, group) if matches_within_candidates else matches[group]
                containing = int(np.count_nonzero(population.within(held)))
            elif len(phrase.tokens) == 1 and occurrences.slot is not None:
                # one token: the chunks holding it are those of its counts, already read
                held = _token_chunks(conn, phrase.tokens[0])
                containing = int(np.count_nonzero(population.within(held)))
            elif population.complete:  # every chunk counts: SQLite counts them
                containing = _phrase_count(conn, phrase.tokens)
            else:
                found = _phrase_matching(conn, phrase.tokens)
                containing = int(np.count_nonzero(population.within(found)))
            idf[phrase.tokens] = _idf(containing, population)
    scores = np.zeros(len(chunk_pks), dtype=np.float64)
    saturation = K1 * (1 - B + B * length / average)
    for phrase, (at, tf) in zip(phrases, frequencies, strict=True):
        # the same arithmetic, in the same order, as FTS5's bm25() (element by element);
        # only where the phrase occurs: elsewhere its summand is 0.0 and changes no score
        if not at.size:
            continue
        scores[at] += idf[phrase.tokens] * ((tf * (K1 + 1.0)) / (tf + saturation[at]))
    order = np.lexsort((chunk_pks, -scores))[:limit]
    return [
        (int(chunk_pks[i]), int(population.record_of[chunk_pks[i]]), float(scores[i]))
        for i in order
    ]


def _rowids(conn: Connection, expression: str) -> IntArray:
    return int_column(conn, "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ?", (expression,))


def _phrase_count(conn: Connection, tokens: tuple[str, ...]) -> int:
    """How many chunks of the whole index hold the phrase (counted inside SQLite).

    A count of at least ``KEPT_MIN_CHUNKS`` is kept like a long list, under the store's
    ``chunks_version``: a search inside one case by a QA officer counts each of its words
    over the whole index, and common words ("said", "police": 3–20 ms each at a million
    chunks) recur from one question to the next. Rarer counts are made each time, as rare
    words' lists are read each time.
    """
    version = data_version(conn, "chunks_version")
    what = f"count:{_phrase_expression(tokens)}"
    kept = _kept_answer(conn, what, version)
    if kept is not None:
        return int(kept[0])
    if is_postgresql(conn):
        count = int(_phrase_matching(conn, tokens).size)
    else:
        (found,) = (
            sqlite_connection(conn)
            .execute(
                "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?",
                (_phrase_expression(tokens),),
            )
            .fetchone()
        )
        count = int(found)
    if count >= KEPT_MIN_CHUNKS:
        _keep(conn, what, version, np.array([count], dtype=np.int64))
    return count


def _phrase_expression(tokens: tuple[str, ...]) -> str:
    return '"' + " ".join(tokens) + '"'


TEXT_PATH_MAX_CHUNKS = 2_000
"""Up to this many candidate chunks, term counts and offsets are re-made from the chunks' own
terms (cost follows the candidates: a search in one case); above it, each term's occurrences
in the whole index are read from ``chunks_vocab`` as one packed column, kept while the chunks
do not change, and looked up in memory (a search across cases)."""


class _Occurrences:
    """Where each of ``tokens`` occurs in each chunk of ``chunk_pks`` (ascending): FTS5's own
    token offsets, either re-made from the chunks' stored terms by FTS5's tokenizer or read
    from ``chunks_vocab`` (``TEXT_PATH_MAX_CHUNKS`` picks); both give the same numbers.

    With many chunks, a chunk's place in ``chunk_pks`` is looked up in an array indexed by chunk
    pk (``slot``), so each token's whole-index list is placed in one gather."""

    def __init__(self, conn: Connection, tokens: Sequence[str], chunk_pks: IntArray):
        self.conn = conn
        self.chunk_pks = chunk_pks
        self.from_text: dict[str, dict[int, list[int]]] | None = None
        self.slot: IntArray | None = None
        if chunk_pks.size <= TEXT_PATH_MAX_CHUNKS:
            self.from_text = _offsets_from_terms(conn, tokens, chunk_pks.tolist())
        else:
            self.slot = np.full(int(chunk_pks[-1]) + 1, -1, dtype=np.int64)
            self.slot[chunk_pks] = np.arange(chunk_pks.size)

    def places(self, pks: IntArray) -> IntArray:
        """Where each of ``pks`` stands in ``chunk_pks`` (−1 where it is not there)."""
        if self.slot is None:
            return _places_in(self.chunk_pks, pks)
        out = np.full(pks.size, -1, dtype=np.int64)
        inside = pks < self.slot.size
        out[inside] = self.slot[pks[inside]]
        return out

    def counts(self, token: str) -> Sparse:
        """Where ``token`` occurs among ``chunk_pks`` (places, ascending) and how often."""
        if self.from_text is not None:
            found = self.from_text[token]
            pks = np.fromiter(found, dtype=np.int64, count=len(found))
            at = np.searchsorted(self.chunk_pks, pks)
            tf = np.fromiter((len(v) for v in found.values()), dtype=np.float64, count=len(found))
            order = np.argsort(at, kind="stable")
            return at[order], tf[order]
        packed = _token_counts(self.conn, token)
        at = self.places(packed >> COUNT_BITS)
        held = at >= 0
        return at[held], (packed[held] & ((1 << COUNT_BITS) - 1)).astype(np.float64)

    def packed(self, token: str, chosen: BoolArray) -> IntArray:
        """Every instance of ``token`` in the chunks ``chosen`` marks (aligned with
        ``chunk_pks``), as ``chunk pk << COUNT_BITS | offset``, ascending."""
        if self.from_text is not None:
            found = self.from_text[token]
            return _packed(found, (pk for pk in self.chunk_pks[chosen].tolist() if pk in found))
        packed = _token_offsets(self.conn, token)
        at = self.places(packed >> COUNT_BITS)
        held = at >= 0
        held[held] = chosen[at[held]]
        return packed[held]


def _places_in(sorted_set: IntArray, values: IntArray) -> IntArray:
    """Where each of ``values`` stands in ``sorted_set`` (ascending, unique), −1 if absent."""
    if sorted_set.size == 0:
        return np.full(values.size, -1, dtype=np.int64)
    at = np.minimum(np.searchsorted(sorted_set, values), sorted_set.size - 1)
    return np.where(sorted_set[at] == values, at, -1)


def _offsets_from_terms(
    conn: Connection, tokens: Sequence[str], documents: list[int]
) -> dict[str, dict[int, list[int]]]:
    """token → chunk pk → offsets, from the terms stored with each chunk in ``documents``.

    The stored terms are words separated by spaces; FTS5's tokenizer makes tokens of each word
    on its own (a space always separates tokens), so a chunk's tokens are its words' tokens in
    order and a token's offset is its place in that sequence, as in ``chunks_vocab``.
    """
    wanted = set(tokens)
    out: dict[str, dict[int, list[int]]] = {token: {} for token in tokens}
    split: dict[str, tuple[str, ...]] = {}
    if is_postgresql(conn):
        rows: Any = conn.exec_driver_sql(
            "SELECT pk, terms FROM chunks WHERE pk = ANY(?)", (documents,)
        )
    else:
        rows = sqlite_connection(conn).execute(
            "SELECT rowid, terms FROM chunks_fts WHERE rowid IN (SELECT value FROM json_each(?))",
            (json.dumps(documents),),
        )
    for pk, terms in rows:
        text = str(terms)
        if text.isascii():
            # FTS5 splits ASCII words as ascii_tokens does, so the chunk's tokens are those of
            # the whole text: its words themselves when they are plain
            words = text.split() if _PLAIN_TERMS.fullmatch(text) else ascii_tokens(text)
            for token in wanted.intersection(words):
                out[token][int(pk)] = _places(words, token)
            continue
        offset = 0
        for word in text.split():
            made = split.get(word)
            if made is None:
                made = split[word] = fts5_tokens(word)
            for token in made:
                if token in wanted:
                    out[token].setdefault(int(pk), []).append(offset)
                offset += 1
    return out


def _places(words: Sequence[str], token: str) -> list[int]:
    """Where ``token`` is in ``words`` (at least once), ascending."""
    places = [words.index(token)]
    while True:
        try:
            places.append(words.index(token, places[-1] + 1))
        except ValueError:
            return places


def _idf(containing: int, population: Population) -> float:
    """FTS5's idf of a phrase found in ``containing`` of the population's chunks."""
    n = population.chunks
    idf = math.log((n - containing + 0.5) / (containing + 0.5))
    return idf if idf > 0 else IDF_FLOOR


def decode_varint(data: bytes) -> int:
    """The first SQLite varint in ``data`` (FTS5 stores a row's token count as one)."""
    value = 0
    for index, byte in enumerate(data[:9]):
        if index == 8:
            return (value << 8) | byte
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value
    return value


def _frequencies(
    groups: list[TermGroup],
    phrases: list[_Phrase],
    counts: dict[str, Sparse],
    occurrences: _Occurrences,
    matched: Sequence[IntArray],
) -> list[Sparse]:
    """Per phrase, the chunks where its instances count (places in ``chunk_pks``, ascending)
    and how many count there.

    A one-token phrase alone counts every instance (``counts``). A phrase of several tokens,
    or any phrase inside a NEAR group, is read from token offsets, and only in the chunks
    that hold every token of its group: inside a NEAR group only the instances that take part
    in a match of the group count (none where the group does not match), as in FTS5. A NEAR
    group of one-token phrases is read only in the chunks FTS5 says it matches (``matched``,
    per group, ascending): elsewhere it has no instance that counts, by the same rule.

    Offsets are packed with their chunk (``chunk pk << COUNT_BITS | offset``), so every chunk
    is read at once by array operations (``phrase_starts``, ``near_kept``): a question across
    cases reads tens of thousands of chunks, and a loop per chunk cost most of its time.
    """
    none: Sparse = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64))
    # a one-term group of one token counts every instance: its counts
    out = [counts[p.tokens[0]] if len(p.tokens) == 1 else none for p in phrases]
    for index, group in enumerate(groups):
        members = [i for i, p in enumerate(phrases) if p.group == index]
        tokens = list(dict.fromkeys(t for i in members for t in phrases[i].tokens))
        if len(group) == 1 and len(tokens) <= 1:
            continue
        for i in members:
            out[i] = none
        if not tokens:
            continue
        # the chunks holding every token of the group (masks: merging sorted places by
        # np.intersect1d sorted them again, a second a question at a million chunks)
        size = len(occurrences.chunk_pks)
        chosen = _marked(counts[tokens[0]][0], size)
        for token in tokens[1:]:
            chosen &= _marked(counts[token][0], size)
        if all(len(phrases[i].tokens) == 1 for i in members):
            at = occurrences.places(matched[index])
            chosen &= _marked(at[at >= 0], size)
        if not chosen.any():
            continue
        offsets = {t: occurrences.packed(t, chosen) for t in tokens}
        starts = [phrase_starts(phrases[i].tokens, offsets) for i in members]
        if len(group) > 1:
            starts = near_kept(
                starts, [len(phrases[i].tokens) for i in members], _near_distance(group)
            )
        for i, instances in zip(members, starts, strict=True):
            at, many = np.unique(occurrences.places(instances >> COUNT_BITS), return_counts=True)
            out[i] = (at, many.astype(np.float64))
    return out


def _marked(places: IntArray, size: int) -> BoolArray:
    """A mask of ``size`` true at ``places``."""
    out = np.zeros(size, dtype=np.bool_)
    out[places] = True
    return out


def phrase_starts(tokens: tuple[str, ...], offsets: Mapping[str, IntArray]) -> IntArray:
    """Where the phrase starts in every chunk at once (packed, ascending): its first token's
    instances followed by its other tokens at the next offsets.

    A packed instance less ``i`` stays inside its chunk unless its offset is under ``i``; it
    then lands near the previous chunk's millionth token, where no chunk has one.
    """
    if not tokens:
        return np.zeros(0, dtype=np.int64)
    found = offsets[tokens[0]]
    for i, token in enumerate(tokens[1:], start=1):
        found = np.intersect1d(found, offsets[token] - i, assume_unique=True)
    return found


def near_kept(starts: Sequence[IntArray], lengths: Sequence[int], distance: int) -> list[IntArray]:
    """FTS5's ``NEAR(…, distance)`` over every chunk at once: per phrase, its packed starts
    that take part in a match in their chunk (ascending).

    A start ``last`` of any phrase closes a match when every phrase has an instance in
    ``[last − its length − distance, last]`` of the same chunk; an instance counts when some
    such ``last`` lies in ``[instance, instance + its length + distance]``. A window never
    reaches into another chunk: the offsets in a chunk stay far below a million, so the packed
    keys of two chunks are a million apart.
    """
    if not starts or any(s.size == 0 for s in starts):
        return [s[:0] for s in starts]
    # each phrase's starts are ascending: a stable sort merges the runs (repeats do no harm)
    lasts = np.sort(np.concatenate(starts), kind="stable")
    closing = np.ones(lasts.size, dtype=np.bool_)
    for phrase, length in zip(starts, lengths, strict=True):
        lower = lasts - length - distance
        closing &= np.searchsorted(phrase, lasts, "right") > np.searchsorted(phrase, lower)
    ends = lasts[closing]
    kept: list[IntArray] = []
    for phrase, length in zip(starts, lengths, strict=True):
        upper = phrase + length + distance
        kept.append(phrase[np.searchsorted(ends, upper, "right") > np.searchsorted(ends, phrase)])
    return kept
