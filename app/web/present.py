"""How values read on the pages: record-type names, dates, highlighted text, "why it matched".

Everything here returns plain text or (text, marked) pieces; the templates escape it all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

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
        names = {"doc_type": "record type asked for", "recency": "most recent"}
        facts.append(
            Fact("Moved up for", ", ".join(names.get(str(k), str(k)) for k in sorted(boosts)))
        )
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
