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

What still depends on hidden records: the time FTS5 takes to walk a term's posting list.
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection

TermGroup = tuple[str, ...]
"""One query term, or the terms of a wording that must appear near each other to match."""

GROUP_SLACK = 2
"""Other terms allowed inside a group's match ("practice nurse" matches "nurse at the GP
practice"; stop words are not in the index, so they never count)."""

K1 = 1.2
B = 0.75
IDF_FLOOR = 1e-6
"""FTS5's constants: a term in more than half the chunks would get a negative idf."""


@dataclass(frozen=True, slots=True)
class Population:
    """The chunks BM25 takes its statistics from: those of the records the caller may see.

    ``visible[chunk_pk]`` says whether a chunk counts (chunks beyond the array's end do not);
    ``chunks`` is how many do and ``terms`` their total length in FTS5 tokens.
    """

    visible: npt.NDArray[np.bool_]
    chunks: int
    terms: int

    def count(self, chunk_pks: Iterable[int]) -> int:
        """How many of ``chunk_pks`` are in the population."""
        pks = np.fromiter(chunk_pks, dtype=np.int64)
        pks = pks[pks < len(self.visible)]
        return int(np.count_nonzero(self.visible[pks]))


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


@lru_cache(maxsize=50_000)
def fts5_tokens(term: str) -> tuple[str, ...]:
    """The tokens FTS5's ``unicode61`` tokenizer makes of ``term`` (usually just one).

    Asked of SQLite itself, through a private in-memory FTS5 table, so case and diacritic
    folding ("zoë" → "zoe") and splitting ("snake_case" → "snake", "case") are FTS5's own.
    """
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


def bm25_search(
    conn: Connection,
    groups: Sequence[TermGroup],
    candidate_sql: str,
    candidate_params: Sequence[Any],
    population: Population,
    limit: int,
) -> list[tuple[int, int, float]]:
    """Top ``limit`` candidate chunks as ``(chunk_pk, record_pk, bm25)``, best first.

    Candidates are the chunks of the records ``candidate_sql`` selects; statistics come from
    ``population``, which must include them. Ties are broken by chunk pk. Higher is better.
    """
    expression = match_expression(groups)
    if expression is None or limit <= 0 or population.chunks == 0:
        return []
    matched = {
        int(pk): int(record_pk)
        for pk, record_pk in conn.exec_driver_sql(
            "SELECT f.rowid, c.record_pk FROM chunks_fts f JOIN chunks c ON c.pk = f.rowid"
            f" WHERE chunks_fts MATCH ? AND c.record_pk IN ({candidate_sql})",
            (expression, *candidate_params),
        )
    }
    if not matched:
        return []
    distinct = _distinct(groups)
    phrases = [
        _Phrase(index, fts5_tokens(term)) for index, group in enumerate(distinct) for term in group
    ]
    chunk_pks = np.fromiter(matched, dtype=np.int64, count=len(matched))
    documents = json.dumps(chunk_pks.tolist())
    positions = {
        token: _positions(conn, token, documents)
        for token in dict.fromkeys(t for p in phrases for t in p.tokens)
    }
    frequencies = _frequencies(distinct, phrases, positions, chunk_pks)
    lengths = _lengths(conn, documents)
    length = np.fromiter((lengths.get(int(pk), 0) for pk in chunk_pks), dtype=np.float64)
    average = population.terms / population.chunks
    idf = {tokens: _idf(conn, tokens, population) for tokens in {p.tokens for p in phrases}}
    scores = np.zeros(len(chunk_pks), dtype=np.float64)
    for phrase, frequency in zip(phrases, frequencies, strict=True):
        # the same arithmetic, in the same order, as FTS5's bm25() (element by element)
        scores += idf[phrase.tokens] * (
            (frequency * (K1 + 1.0)) / (frequency + K1 * (1 - B + B * length / average))
        )
    order = np.lexsort((chunk_pks, -scores))[:limit]
    return [(int(chunk_pks[i]), matched[int(chunk_pks[i])], float(scores[i])) for i in order]


def _positions(conn: Connection, token: str, documents: str) -> dict[int, list[int]]:
    """Offsets of ``token`` in each of the chunks listed in ``documents`` (a JSON array)."""
    out: dict[int, list[int]] = defaultdict(list)
    for doc, offset in conn.exec_driver_sql(
        "SELECT doc, offset FROM chunks_vocab WHERE term = ?"
        " AND doc IN (SELECT value FROM json_each(?)) ORDER BY doc, offset",
        (token, documents),
    ):
        out[int(doc)].append(int(offset))
    return out


def _idf(conn: Connection, tokens: tuple[str, ...], population: Population) -> float:
    """FTS5's idf of a phrase, its document frequency counted in the population only."""
    if not tokens:
        return IDF_FLOOR
    phrase = '"' + " ".join(tokens) + '"'
    containing = population.count(
        int(pk)
        for (pk,) in conn.exec_driver_sql(
            "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ?", (phrase,)
        )
    )
    n = population.chunks
    idf = math.log((n - containing + 0.5) / (containing + 0.5))
    return idf if idf > 0 else IDF_FLOOR


def _lengths(conn: Connection, documents: str) -> dict[int, int]:
    """FTS5's own length (in tokens) of each chunk listed in ``documents``."""
    return {
        int(pk): decode_varint(bytes(size))
        for pk, size in conn.exec_driver_sql(
            "SELECT id, sz FROM chunks_fts_docsize WHERE id IN (SELECT value FROM json_each(?))",
            (documents,),
        )
    }


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


def _phrase_starts(
    tokens: tuple[str, ...], positions: dict[str, dict[int, list[int]]], chunk_pk: int
) -> list[int]:
    """Where the phrase starts in the chunk: its tokens at consecutive offsets."""
    if not tokens:
        return []
    first = positions[tokens[0]].get(chunk_pk, [])
    if len(tokens) == 1:
        return first
    rest = [set(positions[t].get(chunk_pk, ())) for t in tokens[1:]]
    return [s for s in first if all(s + i in later for i, later in enumerate(rest, start=1))]


def _frequencies(
    groups: list[TermGroup],
    phrases: list[_Phrase],
    positions: dict[str, dict[int, list[int]]],
    chunk_pks: npt.NDArray[np.int64],
) -> list[npt.NDArray[np.float64]]:
    """Per phrase, its instances that count in each chunk (aligned with ``chunk_pks``).

    A phrase alone counts every instance; inside a NEAR group, only the instances that take
    part in a match of the group (none where the group does not match), as in FTS5.
    """
    row_of = {int(pk): row for row, pk in enumerate(chunk_pks.tolist())}
    out = []
    for phrase in phrases:
        counts = np.zeros(len(chunk_pks), dtype=np.float64)
        for pk in positions[phrase.tokens[0]] if phrase.tokens else ():
            counts[row_of[pk]] = len(_phrase_starts(phrase.tokens, positions, pk))
        out.append(counts)
    for index, group in enumerate(groups):
        if len(group) < 2:
            continue
        members = [i for i, p in enumerate(phrases) if p.group == index]
        lengths = [len(phrases[i].tokens) for i in members]
        present = np.logical_and.reduce([out[i] > 0 for i in members])
        for i in members:
            out[i][~present] = 0.0
        for row in np.flatnonzero(present).tolist():
            pk = int(chunk_pks[row])
            starts = [_phrase_starts(phrases[i].tokens, positions, pk) for i in members]
            kept = near_instances(starts, lengths, _near_distance(group))
            for i, instances in zip(members, kept, strict=True):
                out[i][row] = len(instances)
    return out


def near_instances(
    starts: Sequence[Sequence[int]], lengths: Sequence[int], distance: int
) -> list[set[int]]:
    """The instances of each phrase that take part in a match of ``NEAR(…, distance)``.

    A choice of one instance per phrase matches when, for the instance that starts last, no
    phrase ends more than ``distance`` tokens before it starts (FTS5's NEAR rule). An
    instance counts when some match includes it; a phrase with no instance matches nothing.
    """
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
