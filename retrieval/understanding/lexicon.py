"""Practitioner-editable word lists: abbreviations, record-type phrases and domain words.

The lists are UTF-8 text files inside this package, read with :mod:`importlib.resources`, so
they travel with the installed package. The parsers are pure functions of the file text and
raise :class:`LexiconError` (naming the file and line) on a malformed file, so a bad edit fails
loudly at start-up rather than silently changing search results.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Literal, cast

from retrieval.errors import RetrievalError

CaseRule = Literal["any", "exact"]

ABBREVIATIONS_FILE = "abbreviations.tsv"
DOC_TYPES_FILE = "doc_types.tsv"
DOMAIN_WORDS_FILE = "domain_words.txt"

ABBREVIATIONS_HEADER = ("abbreviation", "expansion", "case", "variants")
DOC_TYPES_HEADER = ("phrase", "doc_types")
NO_DOC_TYPE = "-"

_DOC_TYPE_ID = re.compile(r"[a-z][a-z0-9_]*")


class LexiconError(RetrievalError, ValueError):
    """A data file of this package is malformed; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class Abbreviation:
    """One line of ``abbreviations.tsv``.

    ``expansions[0]`` is added to queries that use the short form; every expansion, written out
    in a query, adds ``short``. ``variants`` are other spellings of the short form.
    ``record_words`` (written ``>said`` in the file) are how records say it without naming it:
    added to the lexical query whenever the line matches, but they never match a query
    themselves ("what has the GP said" is not a question about the child's wishes).
    """

    short: str
    expansions: tuple[str, ...]
    case: CaseRule
    variants: tuple[str, ...] = ()
    record_words: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DocTypePhrase:
    """One line of ``doc_types.tsv``: words that name record types (empty: names none)."""

    phrase: str
    doc_types: tuple[str, ...]


def read_data_file(name: str) -> str:
    """The text of a data file shipped in this package."""
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _rows(
    text: str, source: str, header: tuple[str, ...], required: int
) -> Iterator[tuple[int, list[str]]]:
    """(line number, stripped fields) of each data row, after checking the header row."""
    seen_header = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip("\r\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = [field.strip() for field in line.split("\t")]
        while len(fields) > required and not fields[-1]:
            fields.pop()
        if not seen_header:
            if tuple(fields) != header[: len(fields)] or len(fields) < required:
                raise LexiconError(
                    f"{source}:{number}: expected the header row {'<TAB>'.join(header)!r}"
                )
            seen_header = True
            continue
        if not required <= len(fields) <= len(header):
            raise LexiconError(
                f"{source}:{number}: expected {required} to {len(header)} TAB-separated "
                f"columns ({', '.join(header)}), found {len(fields)}"
            )
        if any(not field for field in fields[:required]):
            raise LexiconError(f"{source}:{number}: an empty column in {line!r}")
        yield number, fields
    if not seen_header:
        raise LexiconError(f"{source}: no header row {'<TAB>'.join(header)!r}")


def _alternatives(field: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in field.split("|") if part.strip())


def parse_abbreviations(text: str, *, source: str = ABBREVIATIONS_FILE) -> tuple[Abbreviation, ...]:
    """Parse ``abbreviations.tsv`` text (format documented in the file's comment header).

    Raises :class:`LexiconError` on a bad header, column count or case rule, and when a short
    form or variant appears on two lines (which line would win would be a guess).
    """
    entries: list[Abbreviation] = []
    owner: dict[str, int] = {}
    for number, fields in _rows(text, source, ABBREVIATIONS_HEADER, required=3):
        short, expansion, case = fields[0], fields[1], fields[2].lower()
        if case not in ("any", "exact"):
            raise LexiconError(f"{source}:{number}: case must be 'any' or 'exact', not {case!r}")
        wordings = _alternatives(expansion)
        expansions = tuple(w for w in wordings if not w.startswith(">"))
        record_words = tuple(w[1:].strip() for w in wordings if w.startswith(">") and w[1:].strip())
        if not expansions:
            raise LexiconError(f"{source}:{number}: no expansion for {short!r}")
        variants = _alternatives(fields[3]) if len(fields) > 3 else ()
        for form in (short, *variants):
            key = form.lower()
            if key in owner:
                raise LexiconError(
                    f"{source}:{number}: {form!r} is already defined on line {owner[key]}"
                )
            owner[key] = number
        entries.append(
            Abbreviation(short, expansions, cast(CaseRule, case), variants, record_words)
        )
    return tuple(entries)


def parse_doc_type_phrases(text: str, *, source: str = DOC_TYPES_FILE) -> tuple[DocTypePhrase, ...]:
    """Parse ``doc_types.tsv`` text. ``-`` as the type list means "names no record type".

    Raises :class:`LexiconError` on a bad header, column count, type name or a repeated phrase.
    """
    entries: list[DocTypePhrase] = []
    owner: dict[str, int] = {}
    for number, fields in _rows(text, source, DOC_TYPES_HEADER, required=2):
        phrase, types_field = fields
        key = " ".join(phrase.lower().split())
        if key in owner:
            raise LexiconError(
                f"{source}:{number}: {phrase!r} is already listed on line {owner[key]}"
            )
        owner[key] = number
        if types_field == NO_DOC_TYPE:
            entries.append(DocTypePhrase(phrase, ()))
            continue
        doc_types = tuple(part.strip() for part in types_field.split(",") if part.strip())
        bad = [doc_type for doc_type in doc_types if not _DOC_TYPE_ID.fullmatch(doc_type)]
        if bad or not doc_types:
            raise LexiconError(
                f"{source}:{number}: record types must be snake_case names, got {types_field!r}"
            )
        entries.append(DocTypePhrase(phrase, doc_types))
    return tuple(entries)


def parse_word_list(text: str, *, source: str = DOMAIN_WORDS_FILE) -> frozenset[str]:
    """Parse a one-word-per-line list (``#`` comments, blank lines ignored), lowercased.

    Raises :class:`LexiconError` for a line holding more than one word.
    """
    words: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if len(line.split()) != 1:
            raise LexiconError(f"{source}:{number}: one word per line, got {line!r}")
        words.add(line.lower())
    return frozenset(words)
