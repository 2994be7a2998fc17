"""Lexical analysis shared by indexing and querying.

Terms are spaCy tokens of ``spacy.blank("en")``, lowercased, mapped through the English lookup
lemmatizer of spacy-lookups-data, with stop words and punctuation removed. The same function
runs at index time and at query time, so BM25 sees identical terms on both sides.

Each term is reduced to word characters only, so SQLite FTS5's ``unicode61`` tokenizer splits
our space-joined terms exactly as we produced them (nothing is re-tokenised differently).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.lookups import Table

# Bump when terms change: a store built with other terms is rebuilt (see indexer).
ANALYSIS_VERSION = "terms-v3"

_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
# Initials joined by "&" are one abbreviation (A&E, W&F, D&A): one term, not stray letters.
_AMPERSAND_INITIALS = re.compile(r"[a-z0-9]{1,3}(?:&[a-z0-9]{1,3})+")
_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class Token:
    """A lexical term with its character span in the analysed text."""

    term: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Sentence:
    start: int
    end: int


@lru_cache(maxsize=1)
def _pipeline() -> Language:
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.max_length = 20_000_000
    return nlp


@lru_cache(maxsize=1)
def _lemma_table() -> Table:
    """spaCy's English lookup lemmas (keys are stored hashed: query it with ``get``)."""
    from spacy.lookups import load_lookups

    return load_lookups("en", ["lemma_lookup"]).get_table("lemma_lookup")


@lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS)


@lru_cache(maxsize=200_000)
def lemma(word: str) -> str:
    """The lowercased lookup lemma of one surface word, stop words included ("went" → "go")."""
    lower = word.lower()
    return str(_lemma_table().get(lower, lower))


@lru_cache(maxsize=200_000)
def normalise(word: str) -> tuple[str, ...]:
    """Terms for one surface word: lowercased lemma, split on non-word characters, no stops.

    Cached by word: a record's words are mostly a few thousand common ones, and search reads
    the texts of its top records (negation, snippets) when they are not cached themselves.

    ``"Mothers'"`` → ``("mother",)``; ``"s.47"`` → ``("s", "47")``; ``"the"`` → ``()``;
    ``"A&E"`` → ``("aande",)`` (one term for the initials, so "a" and "e" are not terms).
    """
    lower = word.lower()
    if _AMPERSAND_INITIALS.fullmatch(lower):
        return (lower.replace("&", "and"),)
    if lower in _stop_words():
        return ()
    lemma = str(_lemma_table().get(lower, lower))
    if lemma == lower and _is_bare_possessive(lower):
        lemma = lower[:-1]  # "childs school": a possessive typed without its apostrophe
    parts = [p for p in _NON_WORD.split(lemma) if p and p != "_"]
    stops = _stop_words()
    return tuple(p for p in parts if p not in stops)


def _is_bare_possessive(word: str) -> bool:
    return (
        len(word) > 3
        and word.endswith("s")
        and not word.endswith("ss")
        and word not in _english_words()
        and word[:-1] in _english_words()
    )


@lru_cache(maxsize=8192)
def tokens(text: str) -> tuple[Token, ...]:
    """Lexical terms of ``text`` with character offsets, in order.

    Cached by text: search re-reads the same chunks and records (snippets, negation checks),
    and a record's text only changes with a new content hash. A record's tokens take about
    9 KB: 8,192 of them are about 75 MiB, a bound a long-running server reaches.
    """
    return tuple(
        Token(term, start, start + len(word))
        for start, word, word_terms in surface_terms(text)
        for term in word_terms
    )


def terms(text: str) -> list[str]:
    """Lexical terms of ``text`` (see module docstring), in order, duplicates kept."""
    return [t.term for t in tokens(text)]


@lru_cache(maxsize=16384)
def sentences(text: str) -> tuple[Sentence, ...]:
    """Sentence spans of ``text`` (spaCy sentencizer plus blank-line breaks), covering it.

    Spans are contiguous and non-overlapping; leading/trailing whitespace is trimmed from each.
    Paragraph breaks (a blank line) always end a sentence: case notes use them as structure.
    """
    spans: list[Sentence] = []
    for para_start, para_end in _paragraphs(text):
        with _lock:
            doc = _pipeline()(text[para_start:para_end])
        for sent in doc.sents:
            start = para_start + sent.start_char
            end = para_start + sent.end_char
            start, end = _trim(text, start, end)
            if end > start:
                spans.append(Sentence(start, end))
    return tuple(spans)


def _paragraphs(text: str) -> Iterator[tuple[int, int]]:
    pos = 0
    for match in re.finditer(r"\n\s*\n", text):
        yield pos, match.start()
        pos = match.end()
    yield pos, len(text)


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def english_vocabulary(word: str) -> int:
    """1 when ``word`` is a known English word form (spaCy's lemma lookup table), else 0.

    Spelling correction consults this public word list, never the index vocabulary: whether a
    query word gets "corrected" must not reveal which words occur in records the caller may
    not see.
    """
    return 1 if is_english_word(word) else 0


def is_english_word(word: str) -> bool:
    """``word`` (any case) is an English word form: spaCy's lemma tables or a stop word."""
    lower = word.lower()
    return lower in _english_words() or lower in _lemma_table()


@lru_cache(maxsize=1)
def _english_words() -> frozenset[str]:
    from spacy.lookups import load_lookups

    index = load_lookups("en", ["lemma_index"]).get_table("lemma_index")
    words: set[str] = set(_stop_words())
    for forms in index.values():
        words.update(w.lower() for w in forms if "_" not in w)
    words.update(str(v) for v in _lemma_table().values())
    return frozenset(words)


def surface_tokens(text: str) -> list[tuple[int, str]]:
    """Every spaCy token of ``text`` (punctuation included) as ``(start offset, text)``."""
    with _lock:
        doc = _pipeline().make_doc(text)
    return [(tok.idx, tok.text) for tok in doc if not tok.is_space or "\n" in tok.text]


def surface_terms(text: str) -> list[tuple[int, str, tuple[str, ...]]]:
    """``surface_tokens`` with each token's lexical terms (none for punctuation and spaces),
    from one spaCy pass: ``tokens`` is made from it, and negation reads both at once."""
    with _lock:
        doc = _pipeline().make_doc(text)
    return [
        (tok.idx, tok.text, () if tok.is_punct or tok.is_space else normalise(tok.text))
        for tok in doc
        if not tok.is_space or "\n" in tok.text
    ]
