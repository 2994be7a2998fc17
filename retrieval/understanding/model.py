"""The result of query understanding."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class QueryUnderstanding:
    """What a query asks for, split into the parts search uses.

    ``lexical_base`` is the query with date and recency phrases cut out (misspelt words are kept);
    ``lexical_additions`` are the corrections and expansion wordings added to it, each once, in
    query order. BM25 matches a wording of several words as one group of nearby terms, so the
    added "general practitioner" does not match "General Hospital"; ``lexical_query`` is both
    as one text, for display. ``dense_query``
    is the text to embed: the same cut query with corrections in place and each abbreviation
    followed by its expansion. Both are empty when the query is only a date or recency phrase
    ("latest", "since March 2024"): search then ranks by date alone.

    ``doc_types`` (in query order) are for a boost, never a filter. ``date_from``/``date_to`` are
    inclusive; ``None`` is open. ``expansions`` are ``(found, added)`` and ``corrections``
    ``(as written, corrected)`` pairs in query order, for the "why" explanation. ``negated`` says
    the query itself asks for a negated statement ("was not brought", "no concerns").
    """

    original: str
    lexical_base: str
    lexical_additions: tuple[str, ...]
    dense_query: str
    doc_types: tuple[str, ...]
    recency: bool
    date_from: date | None
    date_to: date | None
    expansions: tuple[tuple[str, str], ...]
    corrections: tuple[tuple[str, str], ...]
    negated: bool

    @property
    def lexical_query(self) -> str:
        """``lexical_base`` followed by ``lexical_additions``, space-separated."""
        return " ".join([self.lexical_base, *self.lexical_additions]).strip()
