"""Negated mentions: "no concerns about neglect" does not report neglect.

A negation cue (no, not, n't, never, without, none, nothing, nobody, neither, nor, absence
of, ruled out, free from) opens a scope that runs to the end of its clause:
the next sentence or clause punctuation, a contrastive conjunction (but, however, although,
though, yet, whereas), or ``MAX_SCOPE`` words, whichever comes first. Terms inside a scope
are negated mentions. "Mum denied hitting him" is not a negation: in a case record a denial
is reported speech, not an absence. The rules are deliberately simple and documented, in the
spirit of NegEx (Chapman et al., 2001); "home conditions were good" is a positive statement.
"""

from __future__ import annotations

from collections.abc import Sequence, Set
from functools import lru_cache

from retrieval import analysis

MAX_SCOPE = 8
_CUES = frozenset(
    {"no", "not", "n't", "never", "without", "none", "nothing", "nobody", "neither", "nor"}
)
_TWO_WORD_CUES = frozenset({("ruled", "out"), ("free", "from"), ("absence", "of")})
_CLAUSE_ENDS = frozenset({".", ";", ":", "!", "?", ",", "(", ")", "\n"})
_CONTRAST = frozenset({"but", "however", "although", "though", "yet", "whereas", "except"})


def negated_offsets(text: str) -> frozenset[int]:
    """Start offsets of the words of ``text`` that lie inside a negation scope."""
    words = analysis.surface_tokens(text)
    inside = _in_scope([surface for _, surface in words])
    return frozenset(start for (start, _), negated in zip(words, inside, strict=True) if negated)


def _in_scope(surfaces: Sequence[str]) -> list[bool]:
    """For each token (``analysis.surface_tokens``' texts), whether a negation scope holds it."""
    out = [False] * len(surfaces)
    remaining = 0
    for i, surface in enumerate(surfaces):
        lower = surface.lower()
        if lower in _CLAUSE_ENDS or lower in _CONTRAST or "\n" in surface:
            remaining = 0
            continue
        nxt = surfaces[i + 1].lower() if i + 1 < len(surfaces) else ""
        if lower in _CUES or (lower, nxt) in _TWO_WORD_CUES:
            remaining = MAX_SCOPE
            continue
        if remaining:
            out[i] = True
            remaining -= 1
    return out


def mentions_only_negated(text: str, query_terms: Set[str]) -> bool:
    """True when ``text`` mentions some query term, and every mention is negated."""
    polarity = term_polarity(text)
    found = [polarity[t] for t in query_terms if t in polarity]
    return bool(found) and not any(found)


@lru_cache(maxsize=16384)
def term_polarity(text: str) -> dict[str, bool]:
    """Each term of ``text`` → whether it occurs at least once outside a negation scope.

    Cached by text (search asks about the same top records again and again); treat the
    returned mapping as read-only. Words, scopes and terms come from one spaCy pass: search
    reads up to ``negation_window`` whole records a query when they are not cached.
    """
    words = analysis.surface_terms(text)
    inside = _in_scope([surface for _, surface, _ in words])
    polarity: dict[str, bool] = {}
    for (_, _, terms), negated in zip(words, inside, strict=True):
        for term in terms:
            polarity[term] = polarity.get(term, False) or not negated
    return polarity
