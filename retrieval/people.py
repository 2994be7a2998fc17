"""Children by name: find the child a query names ("Ruth's safety plan") among those the caller
may see.

People come from the ``subjects`` of records (DESIGN.md, "Record"). ``PeopleDirectory`` holds
every child row of the store; ``visible`` keeps only rows of records the caller may see, so
the name, other names and cases of a person are read from visible records alone, and a child
known only from hidden records does not exist for the caller: her name is an unknown word.

Matching (``resolve_names``):

- **Which query words can be names.** A word that is capitalised or possessive ("Ruth",
  "Ruth's"), or one that is not a common English word in any case ("kai", "alfie", "ruth").
  A lower-case common word is never read as a name: some names are also words ("grace",
  "summer", "ruby"), and "summer holiday" must not open Summer's case. When nothing else in
  the query names a child, such a word that is exactly a visible child's given name is
  *offered* instead ("any merlins for ruby": search Ruby Hill's case?): the search runs
  unscoped and the page lists the child to choose, as for a name several children share; the
  user decides, so a gemstone or a grace period costs one line on the page (stop words, "will"
  or "may", are never offered). Common words are
  spaCy's English lookup lemmas and the forms they inflect, plus stop words: unlike a
  dictionary, that list holds few names (WordNet's "david" or "elijah" are not in it).
- **Against what.** Each visible child's given names (every word of ``name`` but the last, the
  parts of a hyphenated name, every word of ``other_names``) and surname (the last word).
- **How close.** Exact (case-insensitive) matches always count. A word that is not a common
  word also matches a name within ``MIN_SIMILARITY`` (0.75) of rapidfuzz's normalised
  optimal-string-alignment similarity: one typo or transposed pair in a name of four to seven
  letters ("Ruht", "Rby" for Ruby), two in one of eight or more. A name under
  ``MIN_FUZZY_LENGTH`` letters matches a typo only when the typo is written as a name and is
  longer ("Avva" for Ava, but "Kia" is not "Kai"); common words match exactly only
  ("Plan" is not "Alan") and words in capitals ("CSE", "LAC": abbreviations).
- A word that is not English and ends in "s" is also tried without it ("Ruths plan").
- **Who wins.** A child needs a given-name match, or (with none anywhere) a surname match.
  When any child matches exactly, fuzzy-only matches drop out. Each child scores the sum of
  its best similarities (given names 1.0, surname 0.5 per word); the best score wins, and
  equal best scores mean the user must choose.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA
from spacy.lang.en.stop_words import STOP_WORDS
from spacy.lookups import Table, load_lookups

from retrieval.store import SubjectRow

MIN_SIMILARITY = 0.75
MIN_FUZZY_LENGTH = 4
# A common English word capitalised inside the query ("Tummy", "Reeve") may be a typo of a
# name: capitalisation mid-sentence marks a proper noun. Such a word is at least this long and
# matches a name only within one edit in five letters (two in ten).
MIN_PROPER_TYPO_LENGTH = 5
MIN_PROPER_TYPO_SIMILARITY = 0.8
SURNAME_WEIGHT = 0.5
_WORD = re.compile(r"[^\W\d_][^\W\d_'’\-]*(?:-[^\W\d_]+)*(?:['’]s?)?")


@dataclass(frozen=True, slots=True)
class Person:
    """A child the caller may see: the name on the newest visible record naming them, every
    other name on those records, and the cases of those records (sorted)."""

    id: str
    name: str
    other_names: tuple[str, ...]
    case_ids: tuple[str, ...]

    def as_json(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "case_ids": list(self.case_ids)}


@dataclass(frozen=True, slots=True)
class NameResolution:
    """What ``resolve_names`` found.

    ``people``: the children the query names (best first; empty when none). ``text``: the
    query with the name's words removed when exactly one child matched, else the query as
    given. ``words``: the query words read as the name.
    """

    people: tuple[Person, ...]
    text: str
    words: tuple[str, ...] = ()
    offered: bool = False  # read from lower-case common words only: offered, never applied

    @property
    def person(self) -> Person | None:
        """The one child the query names, or None (no name, several children, or a child only
        offered)."""
        return self.people[0] if len(self.people) == 1 and not self.offered else None


@dataclass(frozen=True, slots=True)
class _QueryWord:
    start: int
    end: int
    word: str  # without a possessive ending, lower case
    strong: bool  # capitalised or possessive
    english: bool  # a common English word (never fuzzy, and a name only when strong)
    capitals: bool  # "CSE": an abbreviation, never fuzzy
    proper: bool = False  # capitalised and not the query's first word: written as a name


_Places = tuple[dict[str, int], dict[str, int], dict[tuple[str, ...], int], dict[str | None, int]]


def _intern(rows: Iterable[SubjectRow], places: _Places) -> list[array[int]]:
    """The rows as columns (pk, person, name, other names, case), each value by its place in
    its table of ``places`` (a new value is added at the end)."""
    columns = [array("q") for _ in range(5)]
    person_ids, names, other_names, cases = places
    for r in rows:  # one row object at a time: the rows may come straight from the store
        columns[0].append(r.record_pk)
        columns[1].append(person_ids.setdefault(r.person_id, len(person_ids)))
        columns[2].append(names.setdefault(r.name, len(names)))
        columns[3].append(other_names.setdefault(r.other_names, len(other_names)))
        columns[4].append(cases.setdefault(r.case_id, len(cases)))
    return columns


class PeopleDirectory:
    """Every child row of the store, ready to be narrowed to what one caller may see.

    Held as columns: per row its record pk and the places of its person id, name, other names
    and case in tables where each distinct value is kept once. A child is named by every
    record about them, so a store of a million records holds hundreds of thousands of rows
    that repeat a few values each: as Python objects they took 430 MiB at a million chunks,
    the largest part of a server's memory after the vectors.
    """

    def __init__(self, rows: Iterable[SubjectRow]) -> None:
        # each table: its distinct values, each value's place among them (first seen, first)
        places: _Places = ({}, {}, {}, {})
        pks, person, name, others, case = (
            np.frombuffer(c, dtype=np.int64) for c in _intern(rows, places)
        )
        self._arrange(places, pks, person, name, others, case)

    def patched(self, record_pks: Iterable[int], rows: Iterable[SubjectRow]) -> PeopleDirectory:
        """A new directory: this one with every row of ``record_pks`` replaced by ``rows``
        (their rows now: none for a record no longer naming anyone). This one is unchanged,
        so a search reading it meanwhile is unaffected.

        Rows of a record deleted from the store may be left in: no caller may see a deleted
        record, so ``visible`` never reads them (``everyone`` would; the auditor builds her
        own directory). A pk the store gives again to a new record comes as a changed record
        and is replaced."""
        out = PeopleDirectory.__new__(PeopleDirectory)
        # the tables made again from their values (kept as lists only: the dicts would hold
        # tens of MiB more at a million records)
        tables = (self._person_ids, self._names, self._other_names, self._cases)
        places = cast(_Places, tuple({v: i for i, v in enumerate(t)} for t in tables))
        columns = _intern(rows, places)
        changed = np.fromiter((int(pk) for pk in record_pks), dtype=np.int64)
        keep = ~np.isin(self._pks, changed)
        old: list[np.ndarray[Any, Any]] = [
            self._pks,
            self._person,
            self._name,
            self._others,
            self._case,
        ]
        pks, person, name, others, case = (
            np.concatenate([column[keep].astype(np.int64), np.frombuffer(new, np.int64)])
            for column, new in zip(old, columns, strict=True)
        )
        out._arrange(places, pks, person, name, others, case)
        return out

    @property
    def rows(self) -> int:
        return int(self._pks.size)

    @property
    def record_pks(self) -> np.ndarray[Any, np.dtype[np.int64]]:
        """The record pk of each row (by person id, then record pk)."""
        return self._pks

    def _arrange(
        self,
        places: _Places,
        pks: np.ndarray[Any, np.dtype[np.int64]],
        person: np.ndarray[Any, np.dtype[np.int64]],
        name: np.ndarray[Any, np.dtype[np.int64]],
        others: np.ndarray[Any, np.dtype[np.int64]],
        case: np.ndarray[Any, np.dtype[np.int64]],
    ) -> None:
        """Keep the tables' values and the rows, by person id, then record pk (newest last)."""
        self._person_ids: list[str] = list(places[0])
        self._names: list[str] = list(places[1])
        self._other_names: list[tuple[str, ...]] = list(places[2])
        self._cases: list[str | None] = list(places[3])
        by_id = np.empty(len(self._person_ids), dtype=np.int64)
        by_id[sorted(range(len(self._person_ids)), key=self._person_ids.__getitem__)] = np.arange(
            len(self._person_ids)
        )
        order = np.lexsort((pks, by_id[person])) if pks.size else np.zeros(0, dtype=np.intp)
        self._pks = pks[order]
        self._person = person[order].astype(np.int32)
        self._name = name[order].astype(np.int32)
        self._others = others[order].astype(np.int32)
        self._case = case[order].astype(np.int32)

    def everyone(self) -> list[Person]:
        """Every child of the store, by person id, whoever may see their records (for the
        auditor, whose duty is to answer "who looked at this child?")."""
        return self._people(np.arange(self._pks.size))

    def visible(self, mask: np.ndarray[tuple[int], np.dtype[np.bool_]]) -> VisiblePeople:
        """The children named by records where ``mask[record_pk]`` is true, by person id."""
        if not self._pks.size or mask.size == 0:
            return VisiblePeople()
        inside = self._pks < mask.size
        seen = np.zeros(self._pks.size, dtype=np.bool_)
        seen[inside] = mask[self._pks[inside]]
        return self._people(np.flatnonzero(seen))

    def _people(self, rows: np.ndarray[Any, np.dtype[np.intp]]) -> VisiblePeople:
        """The people of ``rows`` (ascending row numbers), each from their rows alone: the
        name on the newest record (indexed last), every other name on any of them, newest
        first (names on older records, before a correction, and every other name find the
        child), their cases sorted.

        Made by array operations over all the rows at once, then one step per person over
        the names they hold: a step per row cost 0.36 s for the 766,334 rows of the
        benchmark's million-chunk store, paid by the first search across cases after each
        change of the store (docs/scale.md).
        """
        n = rows.size
        if not n:
            return VisiblePeople()
        persons = self._person[rows]
        starts = np.flatnonzero(np.r_[True, persons[1:] != persons[:-1]])
        segment = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, n]))
        # what each row gives, in its order: its other names (one value), then its name
        place = np.tile(np.arange(n), 2)
        kind = np.repeat(np.arange(2), n)
        value = np.concatenate([self._others[rows], self._name[rows]]).astype(np.int64)
        owner = np.tile(segment, 2)
        # each distinct value of a person once, at its newest row; then newest first, a
        # row's other names before its name (one int64 key per sort: lexsort on four keys
        # took most of the time)
        width = max(len(self._names), len(self._other_names), 1)
        key = (owner * 2 + kind) * width + value
        order = np.lexsort((-place, key))
        first = np.r_[True, np.diff(key[order]) != 0]
        kept = order[first]
        kept = kept[np.argsort((owner[kept] * n + (n - 1 - place[kept])) * 2 + kind[kept])]
        bounds = np.searchsorted(owner[kept], np.arange(starts.size + 1))
        per = max(len(self._cases), 1)
        cases = np.unique(segment.astype(np.int64) * per + self._case[rows])
        case_bounds = np.searchsorted(cases // per, np.arange(starts.size + 1))
        newest = self._name[rows[np.r_[starts[1:], n] - 1]].tolist()
        ids = persons[starts].tolist()
        kinds, values = kind[kept].tolist(), value[kept].tolist()
        case_ids = (cases % per).tolist()
        people = VisiblePeople()
        for index in range(starts.size):
            name = self._names[newest[index]]
            every: dict[str, None] = {}
            for at in range(int(bounds[index]), int(bounds[index + 1])):
                if kinds[at] == 0:
                    every.update(dict.fromkeys(self._other_names[values[at]]))
                else:
                    every[self._names[values[at]]] = None
            every.pop(name, None)
            held = {
                c
                for i in case_ids[int(case_bounds[index]) : int(case_bounds[index + 1])]
                if (c := self._cases[i])
            }
            people.append(
                Person(self._person_ids[ids[index]], name, tuple(every), tuple(sorted(held)))
            )
        return people


class VisiblePeople(list[Person]):
    """The children a caller may see (``PeopleDirectory.visible``), read-only, with their
    name words indexed on first use and kept: search keeps one such list per visible set,
    and every search across cases resolves its words against all of them."""

    _tokens: tuple[dict[str, set[int]], dict[str, set[int]]] | None = None

    def name_tokens(self) -> tuple[dict[str, set[int]], dict[str, set[int]]]:
        """``_name_tokens`` of this list, made once."""
        if self._tokens is None:
            self._tokens = _name_tokens(self)
        return self._tokens


def resolve_names(query: str, people: Iterable[Person]) -> NameResolution:
    """The visible child (or children) ``query`` names; see the module docstring for the rules.

    ``people`` must already be narrowed to what the caller may see
    (``PeopleDirectory.visible``). Pure: nothing is read or written.
    """
    everyone = people if isinstance(people, VisiblePeople) else VisiblePeople(people)
    words = _query_words(query)
    if not everyone or not words:
        return NameResolution((), query)
    given, surnames = everyone.name_tokens()
    # per person: query word index -> (similarity, exact, is_given)
    hits: dict[int, dict[int, tuple[float, bool, bool]]] = {}
    offers: dict[int, set[int]] = {}  # person -> lower-case common words that are her name
    for w_index, word in enumerate(words):
        if not word.strong and word.english:
            # "summer holiday", "grace period": the word, not the child (offered at most;
            # a stop word, "will" or "may", is grammar, never offered)
            if word.word not in STOP_WORDS:
                for p_index in given.get(word.word, ()):
                    offers.setdefault(p_index, set()).add(w_index)
            continue
        # a three-letter word may be a four-letter name missing a letter ("Rby"), but only
        # when written as a name: lower-case "cin" is an abbreviation, not Cian
        short = len(word.word) == MIN_FUZZY_LENGTH - 1 and word.strong
        # a common word capitalised inside the query is written as a name ("is Tummy at
        # school"): it may be a typo of one, held to a closer match and a longer word
        proper_typo = word.english and word.proper and len(word.word) >= MIN_PROPER_TYPO_LENGTH
        fuzzy = (not word.english or proper_typo) and not word.capitals
        fuzzy = fuzzy and (len(word.word) >= 4 or short)
        cutoff = MIN_PROPER_TYPO_SIMILARITY if word.english else MIN_SIMILARITY
        forms = [word.word]
        if not word.english and word.word.endswith("s") and len(word.word) > 3:
            forms.append(word.word[:-1])  # a possessive typed without its apostrophe
        for tokens, is_given in ((given, True), (surnames, False)):
            found = [
                m
                for form in forms
                for m in _matches(form, list(tokens), fuzzy, word.strong, cutoff)
            ]
            for token, similarity in found:
                exact = similarity >= 1.0
                for p_index in tokens[token]:
                    mine = hits.setdefault(p_index, {})
                    old = mine.get(w_index)
                    if old is None or (similarity, is_given) > (old[0], old[2]):
                        mine[w_index] = (similarity, exact, is_given)
    candidates = {p: h for p, h in hits.items() if any(g for _, _, g in h.values())}
    if not candidates:
        candidates = {p: h for p, h in hits.items() if any(words[w].strong for w in h)}
    if not candidates:
        return _offer(query, words, everyone, offers)
    if any(e for h in candidates.values() for _, e, _ in h.values()):
        candidates = {p: h for p, h in candidates.items() if any(e for _, e, _ in h.values())}
    scores = {
        p: sum(s * (1.0 if g else SURNAME_WEIGHT) for s, _, g in h.values())
        for p, h in candidates.items()
    }
    best = max(scores.values())
    winners = sorted(
        (p for p, s in scores.items() if s >= best - 1e-9),
        key=lambda p: (everyone[p].name, everyone[p].id),
    )
    chosen = tuple(everyone[p] for p in winners)
    used = sorted({w for p in winners for w in candidates[p]})
    if len(chosen) != 1:
        return NameResolution(chosen, query, tuple(words[w].word for w in used))
    return NameResolution(
        chosen, _without(query, [words[w] for w in used]), tuple(words[w].word for w in used)
    )


def _offer(
    query: str, words: Sequence[_QueryWord], everyone: Sequence[Person], offers: dict[int, set[int]]
) -> NameResolution:
    """The children whose given name is a lower-case common word of the query, offered (the
    most such words first, then by name); nobody when there is none."""
    if not offers:
        return NameResolution((), query)
    most = max(len(w) for w in offers.values())
    chosen = sorted(
        (p for p, w in offers.items() if len(w) == most),
        key=lambda p: (everyone[p].name, everyone[p].id),
    )
    used = sorted({w for p in chosen for w in offers[p]})
    return NameResolution(
        tuple(everyone[p] for p in chosen), query, tuple(words[w].word for w in used), offered=True
    )


def _query_words(query: str) -> list[_QueryWord]:
    out: list[_QueryWord] = []
    for match in _WORD.finditer(query):
        raw = match.group()
        possessive = raw[-1] in "'’" or raw.lower().endswith(("'s", "’s"))
        word = re.sub(r"['’]s?$", "", raw)
        if not word:
            continue
        out.append(
            _QueryWord(
                start=match.start(),
                end=match.end(),
                word=word.lower(),
                strong=possessive or word[0].isupper(),
                english=is_common_word(word),
                capitals=len(word) > 1 and word.isupper(),
                proper=word[0].isupper() and not word.isupper() and bool(out),
            )
        )
    return out


def is_common_word(word: str) -> bool:
    """``word`` (any case) is a stop word, one of spaCy's English lookup lemmas or a form it
    inflects ("doctors")."""
    lower = word.lower()
    table = _lemmas()
    return lower in STOP_WORDS or lower in _lemma_values() or table.get(lower) is not None


@lru_cache(maxsize=1)
def _lemmas() -> Table:
    return load_lookups("en", ["lemma_lookup"]).get_table("lemma_lookup")


@lru_cache(maxsize=1)
def _lemma_values() -> frozenset[str]:
    return frozenset(str(v).lower() for v in _lemmas().values())


def _name_tokens(people: Sequence[Person]) -> tuple[dict[str, set[int]], dict[str, set[int]]]:
    """Lower-case given-name and surname words → indexes into ``people``."""
    given: dict[str, set[int]] = {}
    surnames: dict[str, set[int]] = {}
    for index, person in enumerate(people):
        for n, full in enumerate((person.name, *person.other_names)):
            parts = full.lower().split()
            if n == 0 and len(parts) > 1:
                surnames.setdefault(parts[-1], set()).add(index)
                parts = parts[:-1]
            for part in parts:
                for piece in {part, *part.split("-")}:
                    if piece:
                        given.setdefault(piece, set()).add(index)
    return given, surnames


def _matches(
    word: str, tokens: list[str], fuzzy: bool, strong: bool, cutoff: float = MIN_SIMILARITY
) -> list[tuple[str, float]]:
    """Name tokens equal to ``word`` or (``fuzzy``) within ``cutoff`` of it. A three-letter
    name matches fuzzily only a word written as a name ("Avva" for Ava)."""
    if not fuzzy:
        return [(word, 1.0)] if word in tokens else []
    found = process.extract(
        word,
        tokens,
        scorer=OSA.normalized_similarity,
        # rapidfuzz turns the cutoff into a distance and 1 − 1/5 lands a hair under 0.8; no
        # name is long enough for a step of similarity below 1e-4
        score_cutoff=cutoff - 1e-4,
        limit=None,
    )
    return [
        (token, float(score))
        for token, score, _ in found
        if score >= 1.0
        or len(token) >= MIN_FUZZY_LENGTH
        or (strong and len(token) == MIN_FUZZY_LENGTH - 1 and len(word) >= MIN_FUZZY_LENGTH)
    ]


def _without(query: str, words: Sequence[_QueryWord]) -> str:
    """``query`` with ``words`` (and their possessive endings) cut out, spaces tidied."""
    kept: list[str] = []
    position = 0
    for word in sorted(words, key=lambda w: w.start):
        kept.append(query[position : word.start])
        position = word.end
    kept.append(query[position:])
    return " ".join("".join(kept).split())


def children_by_case(people: Iterable[Person]) -> dict[str, list[Person]]:
    """case id → its children, by name."""
    out: dict[str, list[Person]] = {}
    for person in sorted(people, key=lambda p: (p.name, p.id)):
        for case_id in person.case_ids:
            out.setdefault(case_id, []).append(person)
    return out


def case_label(case_id: str, children: Sequence[Person]) -> str:
    """ "Ruth Walker (CASE-1042)", or the case id alone when no child is named."""
    if not children:
        return case_id
    return f"{' and '.join(p.name for p in children)} ({case_id})"
