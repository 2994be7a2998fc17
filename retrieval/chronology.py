"""A child's chronology: dated significant events of one case, each a verbatim cited sentence.

The columns are those practice guidance asks of a chronology (Research in Practice,
"Chronologies"; Working Together 2023): date, event, source (document reference) and
significance. What counts as an event is data (``chronology.toml`` beside this module, with
its sources), in two rules:

1. **Event records.** A record whose type maps to a category (a referral, strategy discussion,
   conference minutes, a plan, a police notification, a health or school contact...) is an
   event. Its quoted sentence is the first holding the category's most preferred cue found
   ("decision" for conference minutes, "arrested" for a police notification), else the first
   holding an outcome cue ("agreed", "no further action"), else its first sentence of five
   words or more, else its first sentence.
2. **Indicator sentences.** A sentence holding a name or record wording of an indicator
   category (``retrieval.indicators``) is an event when ``retrieval.assertion`` reads it as
   affirmed or historical; negated, hypothetical and other-person mentions are never events.
   Injuries (``physical_abuse``) and missing episodes (``missing``) come this way. One event per
   record and indicator category (the first such sentence), and none on a sentence rule 1
   already quoted.

**Dates.** A date the sentence states ("on 3 March", "03/03/2024", "last week", "in January")
is resolved against the record's date (``retrieval.understanding.dates``) and used when it
names one day, week, month or year not after the record's date; the precision says which
(``relative`` for "yesterday", "last week", "3 days ago"). Otherwise the record's date is the
event's date, ``date_source = "record"``.

Only records the caller may see are read (the search's candidate clause), so a case with
nothing visible and a case that does not exist both answer an empty chronology.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from retrieval import analysis, rulefiles
from retrieval.access import candidate_clause
from retrieval.assertion import assess
from retrieval.errors import InvalidQueryError, RetrievalError
from retrieval.indicators import find_wordings, load_library
from retrieval.models import AccessScope, Document, SearchFilters
from retrieval.store import RecordStore
from retrieval.understanding.dates import find_dates

RULES_PATH = Path(__file__).with_name("chronology.toml")

Precision = Literal["day", "week", "month", "year", "relative"]
DateSource = Literal["text", "record"]

_RELATIVE = re.compile(
    r"\b(?:today|yesterday|ago|last|past|previous|this|earlier)\b", re.IGNORECASE
)
_MIN_WORDS = 5


class ChronologyRulesError(RetrievalError):
    """The chronology rules file is malformed; the message names where."""


@dataclass(frozen=True, slots=True)
class EventCategory:
    id: str
    label: str
    doc_types: tuple[str, ...]
    indicators: tuple[str, ...]
    cues: tuple[str, ...]
    significance: str


@dataclass(frozen=True, slots=True)
class ChronologyRules:
    categories: tuple[EventCategory, ...]
    outcome_cues: tuple[str, ...]
    not_events: tuple[str, ...] = ()  # sentence openings that are never an indicator event

    def get(self, category_id: str) -> EventCategory | None:
        return next((c for c in self.categories if c.id == category_id), None)

    def for_doc_type(self, doc_type: str | None) -> EventCategory | None:
        if not doc_type:
            return None
        return next((c for c in self.categories if doc_type in c.doc_types), None)


@dataclass(frozen=True, slots=True)
class Citation:
    """Where the sentence is: ``record.text[char_start:char_end] == event.sentence``."""

    document_id: str
    chunk_id: str | None
    char_start: int
    char_end: int
    source_uri: str | None


@dataclass(frozen=True, slots=True)
class ChronologyEvent:
    date: dt.date | None
    precision: Precision
    date_source: DateSource
    date_text: str | None  # the phrase the date was read from, when from the text
    category: str
    label: str
    sentence: str
    citation: Citation
    also: tuple[str, ...]  # other categories the same sentence is an event of (an indicator)
    doc_type: str | None
    title: str
    record_date: dt.date | None
    significance: str
    assertion: str  # "affirmed" or "historical" for indicator sentences; "record" for rule 1


@dataclass(frozen=True, slots=True)
class Chronology:
    case_id: str
    events: tuple[ChronologyEvent, ...]
    records_read: int
    categories: tuple[EventCategory, ...]


# -- rules ------------------------------------------------------------------------------------


def _strings(entry: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    return rulefiles.strings(entry, key, where, ChronologyRulesError)


def _text(entry: dict[str, Any], key: str, where: str) -> str:
    return rulefiles.text(entry, key, where, ChronologyRulesError)


def parse_rules(text: str, *, origin: str = "chronology.toml") -> ChronologyRules:
    """Parse and check a rules file; raises ``ChronologyRulesError`` naming the mistake."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ChronologyRulesError(f"{origin}: not valid TOML: {exc}") from None
    outcome = data.get("outcome", {})
    if not isinstance(outcome, dict):
        raise ChronologyRulesError(f"{origin}: [outcome] must be a table")
    entries = data.get("category")
    if not isinstance(entries, list) or not entries:
        raise ChronologyRulesError(f"{origin}: no [[category]] entries")
    known = {c.id for c in load_library().categories}
    categories: list[EventCategory] = []
    seen_ids: set[str] = set()
    seen_types: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        where = f"{origin}, category {number}"
        if not isinstance(entry, dict):
            raise ChronologyRulesError(f"{where}: not a table")
        category_id = _text(entry, "id", where)
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,47}", category_id) or category_id in seen_ids:
            raise ChronologyRulesError(f"{where}: id '{category_id}' is not a new short name")
        seen_ids.add(category_id)
        where = f"{origin}, category '{category_id}'"
        doc_types = _strings(entry, "doc_types", where)
        if twice := seen_types.intersection(doc_types):
            raise ChronologyRulesError(f"{where}: doc types {sorted(twice)} are mapped twice")
        seen_types.update(doc_types)
        indicators = _strings(entry, "indicators", where)
        if unknown := set(indicators) - known:
            raise ChronologyRulesError(f"{where}: unknown indicator categories {sorted(unknown)}")
        categories.append(
            EventCategory(
                id=category_id,
                label=_text(entry, "label", where),
                doc_types=doc_types,
                indicators=indicators,
                cues=tuple(c.lower() for c in _strings(entry, "cues", where)),
                significance=_text(entry, "significance", where),
            )
        )
    cues = tuple(c.lower() for c in _strings(outcome, "cues", f"{origin}, [outcome]"))
    sentences = data.get("sentences", {})
    if not isinstance(sentences, dict):
        raise ChronologyRulesError(f"{origin}: [sentences] must be a table")
    not_events = _strings(sentences, "not_events", f"{origin}, [sentences]")
    return ChronologyRules(tuple(categories), cues, tuple(s.lower() for s in not_events))


@lru_cache(maxsize=4)
def load_rules(path: Path = RULES_PATH) -> ChronologyRules:
    """The rules at ``path`` (default: the ones shipped), parsed once per process."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ChronologyRulesError(f"cannot read {path}: {exc.strerror or exc}") from None
    return parse_rules(text, origin=str(path))


# -- dates ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatedDate:
    date: dt.date
    precision: Precision
    text: str


def stated_date(sentence: str, record_date: dt.date | None) -> StatedDate | None:
    """The first date ``sentence`` states that names one day, week, month or year not after
    ``record_date`` (a review date or a deadline is not when the event happened). Relative
    phrases are resolved against ``record_date``; without a record date none is read."""
    if record_date is None:
        return None
    for phrase in find_dates(sentence, record_date).phrases:
        first, last = phrase.date_from, phrase.date_to
        if first is None or last is None or first > record_date:
            continue
        words = sentence[phrase.start : phrase.end]
        precision = _precision(first, last)
        if precision is None:
            continue  # a window ("the past three months"), not a date
        if _RELATIVE.search(words):
            precision = "relative"
        return StatedDate(first, precision, words)
    return None


def _precision(first: dt.date, last: dt.date) -> Precision | None:
    if first == last:
        return "day"
    if (last - first).days == 6 and first.weekday() == 0:
        return "week"
    next_day = last + dt.timedelta(days=1)
    if first.day == 1 and next_day.day == 1 and first.month == last.month:
        return "month"
    if (first.month, first.day, last.month, last.day) == (1, 1, 12, 31) and (
        first.year == last.year
    ):
        return "year"
    return None


# -- events -----------------------------------------------------------------------------------


def _has_cue(sentence_lower: str, cues: Sequence[str]) -> str | None:
    for cue in cues:
        if re.search(rf"(?<![\w]){re.escape(cue)}(?![\w])", sentence_lower):
            return cue
    return None


def record_events(doc: Document, rules: ChronologyRules | None = None) -> list[ChronologyEvent]:
    """The significant events of one record, in text order (chunk ids not yet attached)."""
    rules = rules or load_rules()
    spans = analysis.sentences(doc.text)
    if not spans:
        return []
    events: list[ChronologyEvent] = []
    category = rules.for_doc_type(doc.doc_type)
    if category is not None:
        chosen, significance = _record_sentence(doc.text, spans, category, rules)
        events.append(_event(doc, chosen.start, chosen.end, category, significance, "record"))
    library = load_library()
    for event_category in rules.categories:
        for indicator_id in event_category.indicators:
            indicator = library.get(indicator_id)
            if indicator is None:
                continue
            found = _indicator_sentence(
                doc,
                spans,
                indicator.mentions,
                rules.not_events,
                others=indicator.parents_are_others,
            )
            if found is None:
                continue
            start, end, reading = found
            significance = f"indicator: {indicator.label.lower()} ({reading})"
            same = next((e for e in events if e.citation.char_start == start), None)
            if same is not None:  # one row per sentence: the first rule names it, others add
                if event_category.id != same.category and event_category.id not in same.also:
                    events[events.index(same)] = replace(
                        same,
                        also=(*same.also, event_category.id),
                        significance=f"{same.significance}; {significance}",
                    )
                continue
            events.append(_event(doc, start, end, event_category, significance, reading))
    events.sort(key=lambda e: e.citation.char_start)
    return events


def _record_sentence(
    text: str,
    spans: Sequence[analysis.Sentence],
    category: EventCategory,
    rules: ChronologyRules,
) -> tuple[analysis.Sentence, str]:
    """The record's most informative sentence: the first holding the category's first cue
    found (cues are in order of preference), else the first holding an outcome cue, else the
    first of five words or more, else the first. An outcome cue in it makes it an outcome."""
    pairs = [(span, text[span.start : span.end].lower()) for span in spans]
    chosen: analysis.Sentence | None = None
    for cue in category.cues:
        chosen = next((span for span, low in pairs if _has_cue(low, (cue,))), None)
        if chosen is not None:
            break
    if chosen is None:
        chosen = next((span for span, low in pairs if _has_cue(low, rules.outcome_cues)), None)
    if chosen is None:
        long_enough = (span for span, low in pairs if len(low.split()) >= _MIN_WORDS)
        chosen = next(long_enough, spans[0])
    if _has_cue(text[chosen.start : chosen.end].lower(), rules.outcome_cues):
        return chosen, f"outcome: {category.significance}"
    return chosen, category.significance


def _indicator_sentence(
    doc: Document,
    spans: Sequence[analysis.Sentence],
    wordings: Sequence[str],
    skip: Sequence[str],
    *,
    others: bool = False,
) -> tuple[int, int, str] | None:
    """The first sentence with an affirmed or historical mention of one of ``wordings``
    (sentences starting with one of ``skip``, lists of who attended, are not events); with
    ``others``, a parent's mention is someone else's (the concern is the child's own)."""
    hits = find_wordings(doc.text, wordings)
    if not hits:
        return None
    year = doc.created_at.year if doc.created_at else None
    for span in spans:
        if doc.text[span.start : span.end].lower().startswith(tuple(skip)):
            continue
        inside = [h for h in hits if span.start <= h.start and h.end <= span.end]
        for hit in inside:
            sentence = doc.text[span.start : span.end]
            reading = assess(
                sentence,
                (hit.start - span.start, hit.end - span.start),
                record_year=year,
                parents_are_others=others,
            )
            if reading.negated or reading.experiencer == "other":
                continue
            if reading.temporality == "hypothetical":
                continue
            return span.start, span.end, reading.label
    return None


def _event(
    doc: Document,
    start: int,
    end: int,
    category: EventCategory,
    significance: str,
    assertion: str,
) -> ChronologyEvent:
    sentence = doc.text[start:end]
    stated = stated_date(sentence, doc.created_at)
    return ChronologyEvent(
        date=stated.date if stated else doc.created_at,
        precision=stated.precision if stated else "day",
        date_source="text" if stated else "record",
        date_text=stated.text if stated else None,
        category=category.id,
        label=category.label,
        sentence=sentence,
        citation=Citation(doc.id, None, start, end, doc.source_uri),
        also=(),
        doc_type=doc.doc_type,
        title=doc.title,
        record_date=doc.created_at,
        significance=significance,
        assertion=assertion,
    )


# -- the case ---------------------------------------------------------------------------------


def case_chronology(
    store: RecordStore,
    scope: AccessScope,
    case_id: str,
    *,
    categories: Sequence[str] | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    rules: ChronologyRules | None = None,
) -> Chronology:
    """The case's significant events from the records ``scope`` may see, oldest first (ties
    by record date, record id, then position in the record); an event without any date last.

    ``categories`` keeps events of those categories; ``date_from``/``date_to`` keep events
    dated within (inclusive; an undated event is dropped by either). Raises
    ``InvalidQueryError`` for an unknown category and ``AccessCheckError`` for a scope that
    cannot be evaluated. Reads inside one snapshot; mutates nothing.
    """
    rules = rules or load_rules()
    wanted: set[str] | None = None
    if categories:
        unknown = sorted(set(categories) - {c.id for c in rules.categories})
        if unknown:
            known = ", ".join(c.id for c in rules.categories)
            raise InvalidQueryError(f"unknown chronology category {unknown} (known: {known})")
        wanted = set(categories)
    # An event's date is never after its record's date: older records cannot reach date_from.
    sql, params = candidate_clause(scope, SearchFilters(case_id=case_id, date_from=date_from))
    with store.snapshot() as conn:
        docs = store.documents_by_pk(conn, store.selected_pks(conn, sql, params))
        chunks = store.chunk_spans_of(conn, sql, params)
    events: list[ChronologyEvent] = []
    for pk, doc in docs.items():
        if not scope.permits(doc.acl, doc.deny):
            continue
        for event in record_events(doc, rules):
            if wanted is not None and wanted.isdisjoint((event.category, *event.also)):
                continue
            if (date_from or date_to) and event.date is None:
                continue
            if date_from and event.date and event.date < date_from:
                continue
            if date_to and event.date and event.date > date_to:
                continue
            events.append(_with_chunk(event, doc.id, chunks.get(pk, [])))
    events.sort(
        key=lambda e: (
            e.date is None,
            e.date or dt.date.min,
            e.record_date or dt.date.min,
            e.citation.document_id,
            e.citation.char_start,
        )
    )
    return Chronology(case_id, tuple(events), len(docs), rules.categories)


def _with_chunk(
    event: ChronologyEvent, document_id: str, chunks: Sequence[tuple[int, int, int]]
) -> ChronologyEvent:
    start, end = event.citation.char_start, event.citation.char_end
    ordinal = next((o for o, s, e in chunks if s <= start and end <= e), None)
    if ordinal is None:  # a sentence across a chunk boundary: the chunk where it starts
        ordinal = next((o for o, s, e in chunks if s <= start < e), None)
    chunk_id = None if ordinal is None else f"{document_id}#{ordinal}"
    return replace(event, citation=replace(event.citation, chunk_id=chunk_id))
