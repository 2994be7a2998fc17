"""The result of query understanding."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class QueryUnderstanding:
    """What a query asks for, split into the parts search uses.

    ``lexical_query`` is the text for the BM25 analyser: the query with date and recency phrases
    cut out, followed by every correction and expansion (misspelt words are kept). ``dense_query``
    is the text to embed: the same cut query with corrections in place and each abbreviation
    followed by its expansion. Both are empty when the query is only a date or recency phrase
    ("latest", "since March 2024"): search then ranks by date alone.

    ``doc_types`` (in query order) are for a boost, never a filter. ``date_from``/``date_to`` are
    inclusive; ``None`` is open. ``expansions`` are ``(found, added)`` and ``corrections``
    ``(as written, corrected)`` pairs in query order, for the "why" explanation. ``negated`` says
    the query itself asks for a negated statement ("was not brought", "no concerns").
    """

    original: str
    lexical_query: str
    dense_query: str
    doc_types: tuple[str, ...]
    recency: bool
    date_from: date | None
    date_to: date | None
    expansions: tuple[tuple[str, str], ...]
    corrections: tuple[tuple[str, str], ...]
    negated: bool
