"""ConText over one sentence: is a mention negated, historical, hypothetical, someone else's?

The algorithm is ConText (Harkema et al. 2009), itself NegEx (Chapman et al. 2001) widened to
time and experiencer:

1. The sentence is split with the spaCy tokenizer of :mod:`retrieval.analysis`; trigger phrases
   from ``triggers.tsv`` are matched left to right, longest first, case-insensitively. A
   pseudo-trigger ("not only", "no increase", "history taking") is matched like any phrase and
   so stops the shorter triggers inside it; it does nothing else.
2. Each trigger opens a scope: forward to the end of the sentence, backward up to 5 words (as in
   NegEx), or both, unless its line gives a smaller window. A termination phrase of the
   trigger's category ("but", "however", ";", "which" ...; "currently", "now" end only
   history) closes the scope before it. Triggers inside the mention itself are ignored.
3. A mention is negated when a negation scope reaches it; hypothetical when a hypothetical
   scope does, else historical when a historical scope does, else recent; someone other than
   the child when an other-experiencer scope does. Apart from these, a *prior* scope ("no
   further", "no longer", "any more", "again") says the sentence presupposes that the mention
   happened before: "no further missing episodes" denies new episodes and takes earlier ones
   as given (Levinson 1983, iterative and change-of-state presupposition triggers).

Reported denials follow ConText: "Mum denied hitting him" reads as negated, because the
published evaluation data are annotated that way. A case record often records a denial as a
claim to be weighed, not an absence; callers who rank by it should show the cue ("denied"),
which every :class:`Assertion` carries.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from retrieval import analysis

from .lexicon import (
    PLACEHOLDERS,
    ContextCategory,
    Lexicon,
    Rule,
    TrieNode,
    default_lexicon,
    normalise_token,
)

Temporality = Literal["recent", "historical", "hypothetical"]
Experiencer = Literal["subject", "other"]

BACKWARD_WINDOW = 5
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_WORDLESS = re.compile(r"\W+")


@dataclass(frozen=True, slots=True)
class Cue:
    """A trigger that decided an assertion: its words and where they are (character offsets)."""

    category: ContextCategory
    text: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Assertion:
    """How one mention reads, and the cues that made it so (in text order)."""

    negated: bool
    temporality: Temporality
    experiencer: Experiencer
    cues: tuple[Cue, ...]
    prior: bool = False  # the sentence presupposes an earlier occurrence ("no further ...")

    @property
    def label(self) -> str:
        """One word for display: negated > other person > hypothetical > historical > affirmed."""
        if self.negated:
            return "negated"
        if self.experiencer == "other":
            return "other person"
        if self.temporality != "recent":
            return self.temporality
        return "affirmed"


AFFIRMED = Assertion(negated=False, temporality="recent", experiencer="subject", cues=())


@dataclass(frozen=True, slots=True)
class _Token:
    start: int
    end: int
    key: str
    is_word: bool


@dataclass(frozen=True, slots=True)
class _Match:
    first: int  # token index
    stop: int  # token index past the last
    rules: tuple[Rule, ...]


@dataclass(frozen=True, slots=True)
class _Scope:
    category: ContextCategory
    match: _Match
    first: int
    stop: int


def assess(
    sentence: str,
    target: tuple[int, int] | None = None,
    *,
    record_year: int | None = None,
    lexicon: Lexicon | None = None,
    parents_are_others: bool = False,
) -> Assertion:
    """How the mention at ``target`` (character span in ``sentence``) reads in its sentence.

    ``target`` None asks about the sentence as a whole: a cue counts when its scope reaches any
    word that is not itself a trigger. ``record_year`` (the year the record was written) keeps a
    year phrase from reading as history when it names that year or a later one.
    ``parents_are_others``: a mention a parent or another adult of the household reaches
    ("Mum took an overdose") is someone other than the child's, as for a concern that is the
    child's own (``Category.subject == "child"``); otherwise a parent's mention is the child's
    circumstance and reads as the child's. Cue offsets are offsets in ``sentence``. Pure and
    cached by sentence; raises ``ValueError`` only for a target outside the sentence or ending
    before it starts.
    """
    if target is not None:
        start, end = target
        if not 0 <= start <= end <= len(sentence):
            raise ValueError(f"target {target} is not a span of a {len(sentence)}-char sentence")
    lex = lexicon or default_lexicon()
    tokens, scopes = _analyse(sentence, lex)
    if not parents_are_others:
        scopes = tuple(s for s in scopes if s.category != "parent_experiencer")
    if not scopes:
        return AFFIRMED
    if target is None:
        trigger_tokens = {i for s in scopes for i in range(s.match.first, s.match.stop)}
        wanted = {i for i, t in enumerate(tokens) if t.is_word and i not in trigger_tokens}
    else:
        wanted = {i for i, t in enumerate(tokens) if t.start < target[1] and t.end > target[0]}
        if not wanted:
            return AFFIRMED
    hits: list[_Scope] = []
    for scope in scopes:
        if target is not None:
            first = tokens[scope.match.first].start
            last = tokens[scope.match.stop - 1].end
            if first < target[1] and last > target[0]:
                continue  # a trigger inside the mention is part of the mention
        if not any(scope.first <= i < scope.stop for i in wanted):
            continue
        if scope.category == "historical" and record_year is not None:
            text = sentence[tokens[scope.match.first].start : tokens[scope.match.stop - 1].end]
            if any(int(y) >= record_year for y in _YEAR.findall(text)):
                continue
        hits.append(scope)
    return _decide(sentence, tokens, hits)


def assess_spans(
    text: str,
    spans: list[tuple[int, int]],
    *,
    record_year: int | None = None,
    lexicon: Lexicon | None = None,
    parents_are_others: bool = False,
) -> list[Assertion]:
    """Assess each span of ``text`` within its sentence (spaCy sentencizer), in input order.

    A span that crosses a sentence break is read in the sentences it touches, joined. Cue
    offsets are offsets in ``text``; ``parents_are_others`` as for ``assess``. Raises
    ``ValueError`` for a span outside ``text``.
    """
    bounds = analysis.sentences(text) if spans else ()
    out: list[Assertion] = []
    for start, end in spans:
        if not 0 <= start <= end <= len(text):
            raise ValueError(f"span {(start, end)} is not inside a {len(text)}-char text")
        touching = [s for s in bounds if s.start <= max(start, end - 1) and s.end >= start]
        lo = min((s.start for s in touching), default=start)
        hi = max((s.end for s in touching), default=end)
        lo, hi = min(lo, start), max(hi, end)
        found = assess(
            text[lo:hi],
            (start - lo, end - lo),
            record_year=record_year,
            lexicon=lexicon,
            parents_are_others=parents_are_others,
        )
        cues = tuple(Cue(c.category, c.text, c.start + lo, c.end + lo) for c in found.cues)
        out.append(
            Assertion(
                negated=found.negated,
                temporality=found.temporality,
                experiencer=found.experiencer,
                cues=cues,
                prior=found.prior,
            )
        )
    return out


def _decide(sentence: str, tokens: tuple[_Token, ...], hits: list[_Scope]) -> Assertion:
    by_category = {s.category for s in hits}
    other = bool(by_category & {"other_experiencer", "parent_experiencer"})
    temporality: Temporality = "recent"
    if "hypothetical" in by_category:
        temporality = "hypothetical"
    elif "historical" in by_category:
        temporality = "historical"
    deciding = {"negated", "other_experiencer", "parent_experiencer", "prior", temporality}
    cues = sorted(
        {
            Cue(
                s.category,
                sentence[tokens[s.match.first].start : tokens[s.match.stop - 1].end],
                tokens[s.match.first].start,
                tokens[s.match.stop - 1].end,
            )
            for s in hits
            if s.category in deciding
        },
        key=lambda c: (c.start, c.end, c.category),
    )
    return Assertion(
        negated="negated" in by_category,
        temporality=temporality,
        experiencer="other" if other else "subject",
        cues=tuple(cues),
        prior="prior" in by_category,
    )


@lru_cache(maxsize=16384)
def _analyse(sentence: str, lexicon: Lexicon) -> tuple[tuple[_Token, ...], tuple[_Scope, ...]]:
    """Tokens of ``sentence`` and the scope of every trigger in it (cached: assessing several
    mentions of one sentence tokenises it once)."""
    surface = analysis.surface_tokens(sentence)
    tokens = tuple(_tokens(surface))
    matches = _matches(tokens, lexicon.root)
    starting = {m.first: m for m in matches}
    scopes: list[_Scope] = []
    for match in matches:
        for rule in match.rules:
            if rule.category == "pseudo" or rule.category == "termination":
                continue
            category: ContextCategory = rule.category
            if rule.direction in ("forward", "both"):
                stop = _forward_stop(tokens, starting, match.stop, category, rule.window)
                scopes.append(_Scope(category, match, match.stop, stop))
            if rule.direction in ("backward", "both"):
                window = rule.window or BACKWARD_WINDOW
                first = _backward_start(tokens, matches, match.first, category, window)
                scopes.append(_Scope(category, match, first, match.first))
    return tokens, tuple(scopes)


def _tokens(surface: list[tuple[int, str]]) -> Iterator[_Token]:
    """Word tokens as spaCy splits them; a run of punctuation ("):", "?!") split into its
    characters, so a phrase ":" or ";" ends scopes wherever the mark stands."""
    for start, text in surface:
        if text.isspace():
            continue
        if _WORDLESS.fullmatch(text) is None:
            yield _Token(start, start + len(text), normalise_token(text), True)
            continue
        for offset, char in enumerate(text):
            if not char.isspace():
                yield _Token(start + offset, start + offset + 1, normalise_token(char), False)


def _matches(tokens: tuple[_Token, ...], root: TrieNode) -> list[_Match]:
    """Longest trigger phrase at each position, left to right, without overlaps."""
    out: list[_Match] = []
    i = 0
    while i < len(tokens):
        stop, rules = _longest(tokens, i, root)
        if rules:
            out.append(_Match(i, stop, rules))
            i = stop
        else:
            i += 1
    return out


def _longest(tokens: tuple[_Token, ...], i: int, node: TrieNode) -> tuple[int, tuple[Rule, ...]]:
    best: tuple[int, tuple[Rule, ...]] = (i, node.rules)
    if i >= len(tokens):
        return best
    key = tokens[i].key
    steps = [node.children[key]] if key in node.children else []
    steps += [
        child
        for name, child in node.children.items()
        if name in PLACEHOLDERS and PLACEHOLDERS[name].fullmatch(key)
    ]
    for child in steps:
        stop, rules = _longest(tokens, i + 1, child)
        if rules and stop > best[0]:
            best = (stop, rules)
    return best


def _ends(match: _Match | None, category: str) -> bool:
    return match is not None and any(
        r.category == "termination" and category in r.ends for r in match.rules
    )


def _forward_stop(
    tokens: tuple[_Token, ...],
    starting: dict[int, _Match],
    begin: int,
    category: str,
    window: int | None,
) -> int:
    words = 0
    i = begin
    while i < len(tokens):
        if _ends(starting.get(i), category):
            return i
        if tokens[i].is_word:
            if window is not None and words >= window:
                return i
            words += 1
        i += 1
    return i


def _backward_start(
    tokens: tuple[_Token, ...], matches: list[_Match], end: int, category: str, window: int
) -> int:
    ending = {m.stop: m for m in matches}
    words = 0
    i = end
    while i > 0:
        before = ending.get(i)
        if before is not None and _ends(before, category):
            return i
        if tokens[i - 1].is_word:
            if words >= window:
                return i
            words += 1
        i -= 1
    return i
