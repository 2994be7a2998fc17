"""Spelling correction of query words against the domain lexicon and the index vocabulary.

A word is *known*, and never corrected, when it is in the domain lexicon, is an English word
(spaCy's English lemma tables from spacy-lookups-data), or occurs in the index vocabulary. An
unknown word gets the closest candidate within optimal-string-alignment (restricted
Damerau-Levenshtein) distance 1, or 2 for words of 8 letters or more; ties prefer domain words,
then words in more indexed chunks, then alphabetical order, so the answer is deterministic.

Candidates come from two places. Lexicon words are found through a deletion index (the SymSpell
idea) built once, so distance 2 costs no more than distance 1. Index words can only be probed
through the ``vocabulary`` callable, so they are found among the distance-1 edits of the word
(about 54 probes per letter): ``vocabulary`` must be a cheap in-memory lookup.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable

from retrieval.analysis import is_english_word

Vocabulary = Callable[[str], int]
"""Number of indexed chunks containing a lowercase term (0: unknown)."""

MIN_WORD_LENGTH = 4
LONG_WORD_LENGTH = 8
_ALPHABET = string.ascii_lowercase


def max_distance(word: str) -> int:
    """How far a correction of ``word`` may be: 1 edit, 2 for words of 8 letters or more."""
    return 2 if len(word) >= LONG_WORD_LENGTH else 1


def osa_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions, and swaps of
    adjacent letters each cost 1 (a swapped pair is not edited again)."""
    if a == b:
        return 0
    if not a or not b:
        return len(a) + len(b)
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, start=1):
            cost = 0 if char_a == char_b else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                value = min(value, previous2[j - 2] + 1)
            current[j] = value
        previous2, previous = previous, current
    return previous[-1]


def _deletes(word: str, depth: int) -> set[str]:
    """Every string made from ``word`` by deleting 1..``depth`` letters."""
    found: set[str] = set()
    frontier = {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))} - found
        found |= frontier
    return found


def _edits1(word: str) -> set[str]:
    """Every lowercase ASCII string at distance 1 from ``word`` (Norvig's edit generator)."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = {left + right[1:] for left, right in splits if right}
    swaps = {left + right[1] + right[0] + right[2:] for left, right in splits if len(right) > 1}
    replaces = {left + c + right[1:] for left, right in splits if right for c in _ALPHABET}
    inserts = {left + c + right for left, right in splits for c in _ALPHABET}
    return (deletes | swaps | replaces | inserts) - {word}


def match_case(template: str, word: str) -> str:
    """``word`` in the letter case of ``template``: ``("Saftey", "safety") -> "Safety"``."""
    if template.isupper() and len(template) > 1:
        return word.upper()
    if template[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


class Speller:
    """Corrects unknown words; immutable after construction and safe to share between threads."""

    def __init__(self, lexicon: Iterable[str], is_english: Callable[[str], bool]) -> None:
        self._lexicon = frozenset(word.lower() for word in lexicon if word.isalpha())
        self._is_english = is_english
        index: dict[str, set[str]] = {}
        for word in self._lexicon:
            for key in {word} | _deletes(word, 2):
                index.setdefault(key, set()).add(word)
        self._index = {key: tuple(sorted(words)) for key, words in index.items()}

    @property
    def lexicon(self) -> frozenset[str]:
        return self._lexicon

    def is_known(self, word: str, vocabulary: Vocabulary | None) -> bool:
        """Whether lowercase ``word`` is a domain, English or indexed word."""
        return (
            word in self._lexicon
            or self._is_english(word)
            or (vocabulary is not None and vocabulary(word) > 0)
        )

    def suggest(
        self, word: str, vocabulary: Vocabulary | None, *, domain_only: bool = False
    ) -> str | None:
        """The correction of lowercase ``word``, or ``None`` when it is known or has none close.

        Calls ``vocabulary`` for ``word``, each lexicon candidate and (ASCII words only, unless
        ``domain_only``) each distance-1 edit; exceptions from ``vocabulary`` propagate. With
        ``domain_only`` only domain words are offered: for a word that may be a name.
        """
        if len(word) < MIN_WORD_LENGTH or not word.isalpha() or self.is_known(word, vocabulary):
            return None
        limit = max_distance(word)
        # (distance, 0 for a domain word else 1, -chunk count) per candidate; smallest wins.
        ranked: dict[str, tuple[int, int, int]] = {}
        probes = {word} | _deletes(word, limit)
        for candidate in {c for probe in probes for c in self._index.get(probe, ())}:
            distance = osa_distance(word, candidate)
            if distance <= limit:
                count = vocabulary(candidate) if vocabulary is not None else 0
                ranked[candidate] = (distance, 0, -count)
        if vocabulary is not None and word.isascii() and not domain_only:
            for candidate in _edits1(word):
                if candidate in ranked:
                    continue
                count = vocabulary(candidate)
                if count > 0:
                    ranked[candidate] = (1, 1, -count)
        if not ranked:
            return None
        return min(ranked.items(), key=lambda item: (item[1], item[0]))[0]


def english_words() -> Callable[[str], bool]:
    """Membership test for English words: the analyser's list (spaCy's English lemma lookup
    table, its lemma index and stop words), shared so it is loaded once per process."""
    return is_english_word
