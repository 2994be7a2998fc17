"""How values read on the pages: record-type names, dates, highlighted text, "why it matched".

Everything here returns plain text or (text, marked) pieces; the templates escape it all.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from retrieval.indicators import load_library
from retrieval.understanding.dates import find_dates

# Record types DESIGN.md names, in the order a practitioner scans for them. Unknown types from a
# case-management system are shown too, with a name made from the code.
DOC_TYPE_LABELS: dict[str, str] = {
    "safety_plan": "Safety plan",
    "cp_plan": "Child protection plan",
    "cin_plan": "Child in need plan",
    "strategy_discussion": "Strategy discussion",
    "icpc_minutes": "Initial conference minutes (ICPC)",
    "rcpc_minutes": "Review conference minutes (RCPC)",
    "assessment": "Assessment",
    "referral": "Referral",
    "visit_note": "Visit note",
    "case_note": "Case note",
    "health_contact": "Health contact",
    "school_contact": "School contact",
    "police_notification": "Police notification",
    "letter": "Letter",
    "court_report": "Court report",
}

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def doc_type_label(doc_type: str | None) -> str:
    if not doc_type:
        return "Record"
    known = DOC_TYPE_LABELS.get(doc_type)
    if known:
        return known
    words = doc_type.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:] if words else "Record"


def long_date(value: dt.date | dt.datetime | None) -> str:
    """GOV.UK style: ``2 March 2024``; an empty string for no date."""
    if value is None:
        return ""
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def record_url(document_id: str) -> str:
    """The record page of ``document_id`` (ids may hold ``/``, ``#`` or spaces: all escaped)."""
    return "/records/" + quote(document_id, safe="")


def case_url(case_id: str) -> str:
    return "/cases/" + quote(case_id, safe="")


def search_url(params: Sequence[tuple[str, str]]) -> str:
    return "/?" + urlencode(list(params)) if params else "/"


@dataclass(frozen=True, slots=True)
class Piece:
    """A run of text, and whether it is highlighted."""

    text: str
    marked: bool


def pieces(text: str, spans: Iterable[Sequence[int]]) -> list[Piece]:
    """``text`` cut at the highlight ``spans`` (offsets into ``text``).

    Spans outside the text or empty are ignored; overlapping ones are merged. Joining the pieces
    gives back ``text`` exactly.
    """
    clean = sorted(
        (max(0, int(s[0])), min(len(text), int(s[1])))
        for s in spans
        if len(s) == 2 and int(s[0]) < int(s[1])
    )
    merged: list[tuple[int, int]] = []
    for start, end in clean:
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    out: list[Piece] = []
    cursor = 0
    for start, end in merged:
        if start > cursor:
            out.append(Piece(text[cursor:start], False))
        out.append(Piece(text[start:end], True))
        cursor = end
    if cursor < len(text) or not out:
        out.append(Piece(text[cursor:], False))
    return out


@dataclass(frozen=True, slots=True)
class Fact:
    label: str
    value: str


def _rank(value: Any) -> str:
    return f"{value}" if isinstance(value, int) and value > 0 else "not in the top matches"


def subject_names(subjects: Iterable[Any]) -> str:
    """The children a record is about, by name ("Ruth Walker"); others are left out."""
    names = [str(s.name) for s in subjects if getattr(s, "role", None) == "child"]
    return ", ".join(dict.fromkeys(names))


_BOOST_NAMES = {
    "doc_type": "record type asked for",
    "recency": "most recent",
    "not_asserted": "the concern only mentioned as negated, hypothetical or someone else's",
    "negated_mentions_only": "the words only in negated mentions",
    "case_evidence": "how strongly the rest of its case shows the concern",
}


def why_facts(why: Mapping[str, Any]) -> list[Fact]:
    """The ``why`` object of a hit as rows a practitioner can read.

    Tolerant of missing keys: the object is diagnostic, and its shape may grow.
    """
    facts: list[Fact] = []
    terms = why.get("matched_terms")
    if isinstance(terms, list) and terms:
        facts.append(Fact("Words found", ", ".join(str(t) for t in terms)))
    else:
        facts.append(Fact("Words found", "none: it matched on meaning"))
    facts.append(Fact("Word-match rank", _rank(why.get("bm25_rank"))))
    facts.append(Fact("Meaning-match rank", _rank(why.get("dense_rank"))))
    boosts = why.get("boosts")
    if isinstance(boosts, Mapping) and boosts:
        for label, sign in (("Moved up for", 1), ("Moved down for", -1)):
            moved = [
                _BOOST_NAMES.get(str(k), str(k))
                for k, v in sorted(boosts.items())
                if isinstance(v, int | float) and v * sign > 0
            ]
            if moved:
                facts.append(Fact(label, ", ".join(moved)))
    query = why.get("query")
    if isinstance(query, Mapping):
        facts.extend(_query_facts(query))
    scoped = why.get("scoped_to")
    if isinstance(scoped, str) and scoped:
        facts.append(Fact("Child named", scoped[:1].upper() + scoped[1:]))
    score = why.get("fused_score")
    if isinstance(score, int | float):
        facts.append(Fact("Combined score", f"{score:.4f}"))
    return facts


def _query_facts(query: Mapping[str, Any]) -> list[Fact]:
    facts: list[Fact] = []
    types = query.get("doc_types")
    if isinstance(types, list) and types:
        facts.append(Fact("Record types asked for", ", ".join(doc_type_label(t) for t in types)))
    if query.get("recency"):
        facts.append(Fact("Asked for", "the most recent record"))
    dates = [query.get("date_from"), query.get("date_to")]
    if any(dates):
        facts.append(Fact("Dates read from the search", " to ".join(str(d or "…") for d in dates)))
    expansions = query.get("expansions")
    if isinstance(expansions, list) and expansions:
        pairs = [f"{p[0]} = {p[1]}" for p in expansions if isinstance(p, list) and len(p) == 2]
        if pairs:
            facts.append(Fact("Also searched for", "; ".join(pairs)))
    corrections = query.get("corrections")
    if isinstance(corrections, list) and corrections:
        pairs = [f"{p[0]} → {p[1]}" for p in corrections if isinstance(p, list) and len(p) == 2]
        if pairs:
            facts.append(Fact("Spelling read as", "; ".join(pairs)))
    return facts


# -- what the search did ----------------------------------------------------------------------


def _pairs(value: Any) -> list[tuple[str, str]]:
    """``[[a, b], ...]`` from the search's ``query`` block as string pairs; anything else: none."""
    if not isinstance(value, list):
        return []
    return [(str(p[0]), str(p[1])) for p in value if isinstance(p, list | tuple) and len(p) == 2]


def corrected_query(query: str, corrections: Any) -> str:
    """``query`` with each misspelt word (as written) replaced by its correction.

    ``corrections`` are ``(as written, corrected)`` pairs in query order; each replaces the
    next whole-word occurrence after the previous one, so "saftey paln" with both corrected
    reads "safety plan". A pair whose word is not found is skipped.
    """
    out, cursor = query, 0
    for written, right in _pairs(corrections):
        found = re.compile(rf"(?<!\w){re.escape(written)}(?!\w)").search(out, cursor)
        if found is None:
            continue
        out = out[: found.start()] + right + out[found.end() :]
        cursor = found.start() + len(right)
    return out


def added_wordings(expansions: Any) -> list[str]:
    """The wordings search added, grouped by the words they were added for, in query order,
    each wording once: ``["GP as general practitioner, family doctor"]``."""
    by_found: dict[str, list[str]] = {}
    seen: set[str] = set()
    for found, added in _pairs(expansions):
        if added.lower() not in seen:
            seen.add(added.lower())
            by_found.setdefault(found, []).append(added)
    return [f"{found} as {', '.join(added)}" for found, added in by_found.items()]


CONCERN_READ_BY = {
    "name": "named in your search",
    "meaning": "read from its meaning",
    "signs": "one of its signs is in your search",
}
"""How search read the concern (``query.concepts_by``), as the results page says it."""


def concern_read(concepts: Any, concepts_by: Any) -> str:
    """ "neglect (one of its signs is in your search)"; "" when no concern was read. The
    labels come from the indicator library; an id it no longer holds is shown as it is."""
    if not isinstance(concepts, list) or not concepts:
        return ""
    library = load_library()
    labels = [(c.label if (c := library.get(str(cid))) else str(cid)).lower() for cid in concepts]
    how = CONCERN_READ_BY.get(str(concepts_by), "")
    named = " and ".join(labels)
    return f"{named} ({how})" if how else named


def date_range_text(date_from: dt.date | None, date_to: dt.date | None) -> str:
    """ "1 March 2024 to 31 March 2024", "from 1 March 2024", "up to 30 April 2024"."""
    if date_from is not None and date_to is not None:
        if date_from == date_to:
            return long_date(date_from)
        return f"{long_date(date_from)} to {long_date(date_to)}"
    if date_from is not None:
        return f"from {long_date(date_from)}"
    if date_to is not None:
        return f"up to {long_date(date_to)}"
    return ""


@dataclass(frozen=True, slots=True)
class DatePhraseView:
    """A date phrase of the query as typed ("since March 2024"), the dates it reads as, and the
    query without it (what removing it as a filter searches)."""

    text: str
    dates: str
    without: str


def date_phrases(query: str, today: dt.date) -> list[DatePhraseView]:
    """The date phrases search reads in ``query`` (``retrieval.understanding``'s rules), in
    query order."""
    views = []
    for phrase in find_dates(query, today).phrases:
        without = " ".join((query[: phrase.start] + " " + query[phrase.end :]).split())
        views.append(
            DatePhraseView(
                text=query[phrase.start : phrase.end].strip(),
                dates=date_range_text(phrase.date_from, phrase.date_to),
                without=without,
            )
        )
    return views


def iso_date(value: Any) -> dt.date | None:
    """An ISO date string from the search's ``query`` block, else ``None``."""
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


# -- the record in the case-management system -------------------------------------------------

SAFE_LINK_SCHEMES = ("http", "https")


def source_link(pattern: str | None, source_uri: str | None, document_id: str) -> str | None:
    """Where the record opens in the case-management system, or ``None`` for no link.

    With a configured ``pattern`` (an http(s) address with ``{source_uri}`` and ``{id}``
    placeholders) the record's source address and id are put in it percent-encoded, so they
    can never change the address's scheme or host; a pattern naming ``{source_uri}`` gives no
    link for a record without one. Without a pattern, only an http or https source address is
    a link: ``cms://...``, ``javascript:`` and the like stay text.
    """
    if pattern:
        if "{source_uri}" in pattern and not source_uri:
            return None
        return pattern.replace("{source_uri}", quote(source_uri or "", safe="")).replace(
            "{id}", quote(document_id, safe="")
        )
    if not source_uri:
        return None
    try:
        parts = urlsplit(source_uri)
    except ValueError:
        return None
    if parts.scheme.lower() in SAFE_LINK_SCHEMES and parts.netloc:
        return source_uri
    return None
