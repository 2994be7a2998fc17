"""The indicator library: safeguarding concerns, their names, and how records describe them.

``library.toml`` (beside this module) is the data, written from published guidance and cited
there; practitioners extend it without code. This module only reads and checks it:

- ``load_library()`` parses and validates the file once per process (``IndicatorLibraryError``
  names the category and field of any mistake);
- ``IndicatorLibrary.named_in(text)`` lists the categories a query names ("instances of
  neglect", "any DV call outs" once the abbreviation is expanded);
- each ``Category`` carries its record wordings (``indicators``, matched by BM25 as groups of
  nearby terms) and ``exemplars`` (sentences whose embeddings give the concept's direction);
- ``Category.evidence_wordings`` leaves out the ``topic_only`` wordings (they name the topic in
  a question, "school attendance", but a record holding them may show nothing: "In
  attendance:", "attendance 97 %"), and ``Category.measures`` read a stated figure instead
  ("attendance 84 %" is persistent absence; ``measured_below``).

Search, the pattern view and the chronology use it; nothing here ranks anything.
"""

from __future__ import annotations

import re
import tomllib
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, get_args

from retrieval import rulefiles
from retrieval.analysis import lemma, surface_tokens, terms
from retrieval.assertion import assess
from retrieval.errors import RetrievalError

LIBRARY_PATH = Path(__file__).with_name("library.toml")
_WORD = re.compile(r"[a-z0-9]+(?:[&'-][a-z0-9]+)*")
_ID = re.compile(r"[a-z][a-z0-9_]{0,47}")
Subject = Literal["family", "child"]
"""Whose concern a category is: ``family`` (a parent's conduct is the child's circumstance:
"Dad was drunk" shows parental substance misuse) or ``child`` (the child's own act or
experience: "Mum took an overdose" is not the child's self-harm)."""
SUBJECTS: tuple[str, ...] = get_args(Subject)


class IndicatorLibraryError(RetrievalError):
    """The indicator library file is malformed; the message names where."""


def words(text: str) -> tuple[str, ...]:
    """Lower-case words (surface forms: "missed" is not "missing")."""
    return tuple(_WORD.findall(text.lower()))


@lru_cache(maxsize=4096)
def lemmas(text: str) -> tuple[str, ...]:
    """The lemmas of ``words(text)``, as a category's names are matched ("went" → "go")."""
    return tuple(lemma(word) for word in words(text))


@dataclass(frozen=True, slots=True)
class Category:
    """One safeguarding concern (see ``library.toml`` for what each field means)."""

    id: str
    label: str
    definition: str
    sources: tuple[str, ...]
    names: tuple[str, ...]
    indicators: tuple[str, ...]
    exemplars: tuple[str, ...]
    topic_only: tuple[str, ...] = ()
    measures: tuple[Measure, ...] = ()
    subject: Subject = "family"

    @property
    def parents_are_others(self) -> bool:
        """Whether a parent's mention of the concern is someone else's ("Mum took an
        overdose" under the child's self-harm): the concern is the child's own."""
        return self.subject == "child"

    @property
    def mentions(self) -> tuple[str, ...]:
        """Its names and record wordings: what a mention of the concern is, in a record or a
        question, before the assertion detector reads how it is meant."""
        return (*self.names, *self.indicators)

    @property
    def evidence_names(self) -> tuple[str, ...]:
        """The names whose affirmed mention in a record shows the concern."""
        return tuple(n for n in self.names if n not in self.topic_only)

    @property
    def evidence_wordings(self) -> tuple[str, ...]:
        """The record wordings that count as evidence of the concern (``topic_only`` left out)."""
        return tuple(w for w in self.indicators if w not in self.topic_only)

    def named_by(self, query_lemmas: tuple[str, ...]) -> bool:
        """Whether one of the category's names stands in ``query_lemmas`` (``lemmas(query)``):
        word by word on lemmas, so "going missing" is "gone missing"; the last word may also
        take a plural "s" that the lemma table does not know ("DVs")."""
        for name in self.names:
            target = lemmas(name)
            n = len(target)
            if not n:
                continue
            for i in range(len(query_lemmas) - n + 1):
                window = query_lemmas[i : i + n]
                if window[:-1] == target[:-1] and window[-1] in (target[-1], target[-1] + "s"):
                    return True
        return False


WORDING_SLACK = 2
"""Other words allowed between two words of a wording, as BM25's groups allow
("missed appointments" matches "missed three dental appointments")."""


@dataclass(frozen=True, slots=True)
class WordingMatch:
    wording: str
    start: int  # character offsets in the text searched
    end: int


def find_wordings(text: str, wordings: Iterable[str]) -> list[WordingMatch]:
    """Every occurrence of each of ``wordings`` in ``text``, in text order.

    Words are compared by lemma with stop words kept, so "no food" needs the "no" and matches
    "no food" and "No foods"; at most ``WORDING_SLACK`` other words may stand between two words
    of a wording, in the wording's order. Unlike BM25's terms, nothing is dropped.
    """
    compiled = _compiled(tuple(dict.fromkeys(wordings)))
    starts, ends, keys = _indexed(text)
    positions = _positions(keys)
    found: list[WordingMatch] = []
    for wording, target in compiled:
        for i in positions.get(target[0], ()):
            position = i
            for wanted in target[1:]:
                window = keys[position + 1 : position + 2 + WORDING_SLACK]
                if wanted not in window:
                    break
                position += 1 + window.index(wanted)
            else:
                found.append(WordingMatch(wording, starts[i], ends[position]))
    found.sort(key=lambda m: (m.start, m.end, m.wording))
    return found


def distinct_signs(text: str, category: Category) -> int:
    """How many places of ``text`` hold one of ``category``'s evidence wordings (wordings
    that overlap, "older man" and "older men", are one place)."""
    places = 0
    last_end = -1
    for match in find_wordings(text, category.evidence_wordings):
        if match.start >= last_end:
            places += 1
        last_end = max(last_end, match.end)
    return places


@lru_cache(maxsize=256)
def _compiled(wordings: tuple[str, ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    out = [(w, tuple(lemma(x) for x in words(w))) for w in wordings]
    return tuple((w, keys) for w, keys in out if keys)


@lru_cache(maxsize=8192)
def _indexed(text: str) -> tuple[array[int], array[int], tuple[str, ...]]:
    """The text's tokens as start and end offsets and lemmas. Cached by text: search and the
    pattern view read the same records again and again. Kept compact (two arrays, and lemmas
    that are ``lemma``'s own cached strings): as tuples per token, with the lemma positions
    beside them, 8,192 records took 225 MiB."""
    surface = surface_tokens(text)
    starts = array("l", (start for start, _ in surface))
    ends = array("l", (start + len(word) for start, word in surface))
    return starts, ends, tuple(lemma(word) for _, word in surface)


def _positions(keys: tuple[str, ...]) -> dict[str, list[int]]:
    """Where each lemma stands in ``keys``."""
    positions: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        positions.setdefault(key, []).append(i)
    return positions


@dataclass(frozen=True, slots=True)
class Measure:
    """A figure a record states with ``wording`` ("attendance 84 %"): it shows the concern
    when below ``below`` (a percentage, as the cited guidance defines the threshold)."""

    wording: str
    below: float


# a percentage a few words after a measure's wording: "attendance has dropped to 71% this term"
_PERCENT = re.compile(r"[^.;%\d]{0,40}?(\d{1,3}(?:\.\d+)?)\s*(?:%|per ?cent\b)", re.IGNORECASE)


def measured_below(text: str, measures: Iterable[Measure]) -> list[tuple[WordingMatch, float]]:
    """Each place in ``text`` where a measure's wording is followed (within a few words, in
    the same clause) by a percentage under its bound, with that percentage, in text order.
    A figure at or above the bound, or no figure, is not a match."""
    out: list[tuple[WordingMatch, float]] = []
    for measure in measures:
        for match in find_wordings(text, [measure.wording]):
            figure = _PERCENT.match(text, match.end)
            if figure is None:
                continue
            value = float(figure.group(1))
            if value < measure.below:
                out.append((WordingMatch(measure.wording, match.start, figure.end()), value))
    out.sort(key=lambda m: (m[0].start, m[0].end))
    return out


def bm25_wording(wording: str) -> tuple[str, ...] | None:
    """The wording as a BM25 group of terms, or None when dropping stop words would change
    what it means: "no food" would become "food", "home alone" "home". Kept when no word
    was dropped or two terms or more remain ("not brought to appointments")."""
    group = tuple(terms(wording))
    if not group:
        return None
    if len(group) >= 2 or len(group) == len(words(wording)):
        return group
    return None


def parents_are_others(categories: Iterable[Category]) -> bool:
    """Whether a parent's mention is someone else's for a question about ``categories``: only
    when there is at least one and every one is the child's own (``Category.subject``)."""
    asked = tuple(categories)
    return bool(asked) and all(c.parents_are_others for c in asked)


def not_asked_of_parent(question: str, categories: Iterable[Category]) -> tuple[Category, ...]:
    """``categories`` less the child's own concerns (``Category.subject``) that ``question``
    asks about a parent (``asks_about_parent``): "parent took an overdose" is not the child's
    self-harm, whose wordings ("cutting", "CAMHS"), exemplars and reading of a parent's mention
    as someone else's all describe the child."""
    return tuple(
        c for c in categories if not (c.parents_are_others and asks_about_parent(question, c))
    )


def asks_about_parent(question: str, category: Category) -> bool:
    """Whether ``question`` puts a parent as the one ``category`` is about ("parent took an
    overdose", "mum went missing"), read by the rules that read a record's sentence: a parent
    word whose reach (``retrieval/assertion``: six words forward, ended by "said", "reported"
    ...) takes in one of the category's wordings in the question, or, when the question holds
    none (read by meaning), any of its words. "Mum reported him missing" and "self-harm by a
    child" do not."""
    targets: list[tuple[int, int] | None] = [
        (m.start, m.end) for m in find_wordings(question, category.mentions)
    ]
    for target in targets or [None]:
        reading = assess(question, target, parents_are_others=True)
        if any(cue.category == "parent_experiencer" for cue in reading.cues):
            return True
    return False


@dataclass(frozen=True, slots=True)
class IndicatorLibrary:
    categories: tuple[Category, ...]

    def get(self, category_id: str) -> Category | None:
        return next((c for c in self.categories if c.id == category_id), None)

    def described_in(self, text: str, signs: int) -> tuple[Category, ...]:
        """The one category of which ``text`` holds at least ``signs`` record wordings in
        separate places (evidence wordings only: "older men giving a child gifts" holds two
        of sexual exploitation's); none when no category, or more than one, has that many."""
        found = [c for c in self.categories if distinct_signs(text, c) >= signs]
        return (found[0],) if len(found) == 1 else ()

    def named_in(self, *texts: str) -> tuple[Category, ...]:
        """The categories any of ``texts`` names, in library order (a query is read as typed,
        with its added wordings, and with its misspellings corrected in place)."""
        readings = [lemmas(text) for text in texts]
        return tuple(c for c in self.categories if any(c.named_by(w) for w in readings))


def _measures(entry: dict[str, Any], where: str) -> tuple[Measure, ...]:
    value = entry.get("measures", [])
    if not isinstance(value, list):
        raise IndicatorLibraryError(f"{where}: 'measures' must be a list of tables")
    out: list[Measure] = []
    for item in value:
        wording = item.get("wording") if isinstance(item, dict) else None
        below = item.get("below") if isinstance(item, dict) else None
        if not isinstance(wording, str) or not words(wording):
            raise IndicatorLibraryError(f"{where}: each of 'measures' needs a 'wording'")
        if isinstance(below, bool) or not isinstance(below, int | float) or not 0 < below <= 100:
            raise IndicatorLibraryError(
                f"{where}: measure '{wording}' needs 'below', a percentage above 0"
            )
        out.append(Measure(wording.strip(), float(below)))
    return tuple(out)


def _strings(entry: dict[str, Any], field: str, where: str, *, required: bool) -> tuple[str, ...]:
    return rulefiles.strings(entry, field, where, IndicatorLibraryError, required=required)


def _text(entry: dict[str, Any], field: str, where: str) -> str:
    return rulefiles.text(entry, field, where, IndicatorLibraryError)


def parse_library(text: str, *, origin: str = "library.toml") -> IndicatorLibrary:
    """Parse and check a library file's text; raises ``IndicatorLibraryError``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise IndicatorLibraryError(f"{origin}: not valid TOML: {exc}") from None
    entries = data.get("category")
    if not isinstance(entries, list) or not entries:
        raise IndicatorLibraryError(f"{origin}: no [[category]] entries")
    categories: list[Category] = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        where = f"{origin}, category {number}"
        if not isinstance(entry, dict):
            raise IndicatorLibraryError(f"{where}: not a table")
        category_id = entry.get("id")
        if not isinstance(category_id, str) or not _ID.fullmatch(category_id):
            raise IndicatorLibraryError(f"{where}: 'id' must be lower-case letters, digits or _")
        if category_id in seen:
            raise IndicatorLibraryError(f"{where}: id '{category_id}' is used twice")
        seen.add(category_id)
        where = f"{origin}, category '{category_id}'"
        names = _strings(entry, "names", where, required=True)
        indicators = _strings(entry, "indicators", where, required=True)
        topic_only = _strings(entry, "topic_only", where, required=False)
        unknown = [w for w in topic_only if w not in names and w not in indicators]
        if unknown:
            raise IndicatorLibraryError(
                f"{where}: 'topic_only' lists '{unknown[0]}', which is not a name or indicator"
            )
        subject = entry.get("subject", "family")
        if subject not in SUBJECTS:
            raise IndicatorLibraryError(
                f"{where}: 'subject' must be one of {', '.join(SUBJECTS)}, not {subject!r}"
            )
        categories.append(
            Category(
                id=category_id,
                label=_text(entry, "label", where),
                definition=_text(entry, "definition", where),
                sources=_strings(entry, "sources", where, required=True),
                names=names,
                indicators=indicators,
                exemplars=_strings(entry, "exemplars", where, required=True),
                topic_only=topic_only,
                measures=_measures(entry, where),
                subject=subject,
            )
        )
    return IndicatorLibrary(tuple(categories))


@lru_cache(maxsize=4)
def load_library(path: Path = LIBRARY_PATH) -> IndicatorLibrary:
    """The library at ``path`` (default: the one shipped), parsed once per process."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise IndicatorLibraryError(f"cannot read {path}: {exc.strerror or exc}") from None
    return parse_library(text, origin=str(path))
