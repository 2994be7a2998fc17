"""Tokens and phrase look-up with spaCy's English tokenizer and ``PhraseMatcher``.

Queries and phrases go through the same ``spacy.blank("en")`` tokenizer that the lexical
analyser uses, so "A&E", "s47" and "GP's" split the same way everywhere. Phrases match on
lowercased words; hyphens and dashes between words are ignored ("safety-plan" is "safety
plan"); a plural of the last word matches too ("plans", "GPs", "strategies"). A ``*`` in a
phrase stands for any one word ("keep * safe" matches "keep Inaya safe" and "keep them safe").
Where matches overlap, the longest wins, then the leftmost.

spaCy's ``Vocab`` is not safe to change from two threads at once and every new word changes it,
so callers hold :attr:`PhraseEngine.lock` around :meth:`tokens` and :meth:`PhraseTable.find`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from spacy.language import Language

T = TypeVar("T")

_JOINERS = frozenset("-‐‑–—")
ANY_WORD = "*"


@dataclass(frozen=True, slots=True)
class Token:
    """A non-space token of the query, with its character span."""

    text: str
    start: int
    end: int

    @property
    def is_joiner(self) -> bool:
        """A hyphen or dash between words, ignored by phrase matching."""
        return all(char in _JOINERS for char in self.text)


@dataclass(frozen=True, slots=True)
class PhraseHit(Generic[T]):
    """Phrase words ``start:end`` (indexes into the matched word sequence) and what they mean."""

    start: int
    end: int
    payloads: tuple[T, ...]


def plurals(word: str) -> list[str]:
    """The plural forms a phrase's last word also matches as: GPs, ICPCs, strategies."""
    lower = word.lower()
    if not lower[-1:].isalpha():
        return []
    if lower.endswith(("s", "x", "ch", "sh")):
        return [word + "es"]
    if len(lower) > 1 and lower.endswith("y") and lower[-2] not in "aeiou":
        return [word + "s", word[:-1] + "ies"]
    return [word + "s"]


class PhraseEngine:
    """The shared tokenizer; builds :class:`PhraseTable` objects over its vocabulary."""

    def __init__(self) -> None:
        import spacy

        self.nlp: Language = spacy.blank("en")
        self.lock = threading.Lock()

    def tokens(self, text: str) -> list[Token]:
        """Non-space tokens of ``text`` in order (hold :attr:`lock`)."""
        return [
            Token(token.text, token.idx, token.idx + len(token.text))
            for token in self.nlp.make_doc(text)
            if not token.is_space
        ]

    def words(self, phrase: str) -> tuple[str, ...]:
        """The words of ``phrase`` as matching sees them (case kept, joiners dropped)."""
        return tuple(token.text for token in self.tokens(phrase) if not token.is_joiner)


class PhraseTable(Generic[T]):
    """Finds listed phrases in a word sequence; immutable once built.

    ``entries`` are ``(phrase, payload, exact)``: with ``exact`` true the phrase matches only in
    the letter case written (plus a plural), otherwise in any case. A ``*`` word matches any
    one word made of letters (in any case, whatever ``exact`` says).
    """

    def __init__(self, engine: PhraseEngine, entries: Iterable[tuple[str, T, bool]]) -> None:
        from spacy.matcher import Matcher, PhraseMatcher
        from spacy.tokens import Doc

        self._engine = engine
        self._matcher = PhraseMatcher(engine.nlp.vocab, attr="ORTH")
        self._slots = Matcher(engine.nlp.vocab)  # the phrases with a * in them
        # lowercased words -> (payload, surface words required or None for any case)
        self._payloads: dict[tuple[str, ...], list[tuple[T, tuple[str, ...] | None]]] = {}
        for phrase, payload, exact in entries:
            words = engine.words(phrase)
            if not words:
                continue
            forms = [words, *((*words[:-1], plural) for plural in plurals(words[-1]))]
            for form in forms:
                key = tuple(word.lower() for word in form)
                self._payloads.setdefault(key, []).append((payload, form if exact else None))
        for key in self._payloads:
            if ANY_WORD in key:
                pattern = [{"IS_ALPHA": True} if w == ANY_WORD else {"ORTH": w} for w in key]
                self._slots.add(" ".join(key), [pattern])
            else:
                self._matcher.add(" ".join(key), [Doc(engine.nlp.vocab, words=list(key))])

    def find(self, words: Sequence[str], surfaces: Sequence[str]) -> list[PhraseHit[T]]:
        """Non-overlapping hits in ``words`` (lowercased), in order; ``surfaces`` are the same
        words as written, for case-exact phrases (hold the engine's lock)."""
        from spacy.tokens import Doc

        if not words:
            return []
        vocab = self._engine.nlp.vocab
        doc = Doc(vocab, words=list(words))
        hits: list[PhraseHit[T]] = []
        matches = list(self._matcher(doc))
        if len(self._slots):  # an empty Matcher warns on every call
            matches += self._slots(doc)
        for match_id, start, end in matches:
            key = tuple(vocab.strings[match_id].split(" "))
            surface = tuple(
                ANY_WORD if k == ANY_WORD else s
                for k, s in zip(key, surfaces[start:end], strict=True)
            )
            payloads = tuple(
                payload
                for payload, exact in self._payloads.get(key, ())
                if exact is None or exact == surface
            )
            if payloads:
                hits.append(PhraseHit(start, end, payloads))
        hits.sort(key=lambda hit: (hit.start - hit.end, hit.start))
        chosen: list[PhraseHit[T]] = []
        taken: set[int] = set()
        for hit in hits:
            span = range(hit.start, hit.end)
            if taken.isdisjoint(span):
                chosen.append(hit)
                taken.update(span)
        return sorted(chosen, key=lambda hit: hit.start)
