"""Patterns across cases: which cases show a concern, how often, since when, on what evidence.

For a QA officer's question ("which cases show neglect?"): an indicator category, or free text
that may name categories. Over the records the caller may see that pass the filters, and
nothing else:

1. **Evidence by wording.** Each sentence holding one of the category's names or record
   wordings (``retrieval.indicators``; all words of a wording in one sentence) is a mention,
   except the wordings that only name the topic (``topic_only``: "In attendance:"); a stated
   figure under a measure's bound ("attendance 84 %") is a mention as strong as a name.
   Its reading (``retrieval.assertion``: negated, historical, hypothetical, someone else) is
   attached. Only *affirmed* mentions count; negated, hypothetical and other-person mentions
   are kept apart and never counted. A historical mention counts (it is still history of the
   concern) and says so, and so does a negation that presupposes an earlier occurrence
   ("there have been no further missing episodes", "Mum no longer drinks": the assertion's
   ``prior``): it denies the concern now and takes it as given before.
2. **Evidence by meaning.** Each chunk whose vector is close to the concern's direction (the
   mean of its exemplar sentences, plus the question's own meaning for free text) supports its
   record even without the words; the record's quoted sentence is then the chunk's sentence
   with most of the concern's words, else its first.
3. **Strength.** A record is a *strong* match when it has an affirmed mention of a name or a
   figure under a measure's bound, two distinct affirmed wordings, or a chunk at least
   ``strong_cosine`` from the direction; any other support makes it a *weak* match. Cases are
   ordered by strong records, then all records; the default answer lists only the cases that
   ``shows`` accepts (``include_weak`` lists the rest). The thresholds are calibrated in
   README.md ("Patterns across cases").

Counts (records, cases, months, teams) are over supporting records only, so the numbers never
include a record the caller cannot see.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from retrieval import analysis
from retrieval.access import scope_masks
from retrieval.assertion import Assertion, assess
from retrieval.errors import InvalidQueryError
from retrieval.indicators import (
    Category,
    Measure,
    WordingMatch,
    find_wordings,
    load_library,
    measured_below,
    parents_are_others,
)
from retrieval.lexical import TermGroup, group_matches, within
from retrieval.models import AccessScope, Document, SearchFilters
from retrieval.search import HybridSearcher
from retrieval.understanding import understand


@dataclass(frozen=True, slots=True)
class PatternQuery:
    scope: AccessScope
    text: str | None = None
    category: str | None = None
    filters: SearchFilters = field(default_factory=SearchFilters)
    include_weak: bool = False
    evidence_per_case: int = 3
    today: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Evidence:
    """One quoted sentence: ``record.text[char_start:char_end] == text``."""

    document_id: str
    case_id: str | None
    created_at: dt.date | None
    chunk_id: str
    source_uri: str | None
    text: str
    char_start: int
    char_end: int
    assertion: str  # affirmed, historical, negated, hypothetical, other person
    cues: tuple[str, ...]
    via: str  # "wording" or "meaning"
    wording: str | None  # the name or record wording found, for "wording"
    strong: bool


@dataclass(frozen=True, slots=True)
class CasePattern:
    case_id: str
    records: int
    strong_records: int
    first: dt.date | None
    last: dt.date | None
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True, slots=True)
class PatternResult:
    categories: tuple[str, ...]
    # how ``categories`` were read: "category" (asked by id), "name", "meaning" or "signs"
    # (``HybridSearcher.read_concerns``); None when the text reads as no concern
    categories_by: str | None
    cases: tuple[CasePattern, ...]
    histogram: tuple[tuple[str, int], ...]  # ("YYYY-MM", supporting records), by month
    teams: tuple[tuple[str, int], ...]  # (team principal, supporting records)
    total_cases: int
    total_records: int
    set_apart: tuple[Evidence, ...]  # negated, hypothetical or other-person mentions
    set_apart_records: int
    strong_cosine: float
    took_ms: float = 0.0


@dataclass(slots=True)
class _RecordSupport:
    doc: Document
    evidence: list[Evidence] = field(default_factory=list)
    set_apart: list[Evidence] = field(default_factory=list)
    names: set[str] = field(default_factory=set)
    wordings: set[str] = field(default_factory=set)
    measured: bool = False  # an affirmed figure under a measure's bound
    best_cosine: float = -1.0

    def strong(self, strong_cosine: float) -> bool:
        return bool(self.names) or len(self.wordings) >= 2 or self.best_cosine >= strong_cosine


class PatternFinder:
    """Answers pattern questions over one searcher's store and vectors. Thread-safe."""

    def __init__(
        self,
        searcher: HybridSearcher,
        *,
        meaning_cosine: float = 0.5,
        strong_cosine: float = 0.6,
        min_strong_records: int = 2,
        min_strong_share: float = 0.08,
        max_meaning_chunks: int = 5000,
        topic_only: bool = True,
        measures: bool = True,
        measures_show: bool = True,
        presupposed: bool = True,
    ) -> None:
        self.searcher = searcher
        self.meaning_cosine = meaning_cosine
        self.strong_cosine = strong_cosine
        self.min_strong_records = min_strong_records
        self.min_strong_share = min_strong_share
        self.max_meaning_chunks = max_meaning_chunks
        # switches for the evaluation's ablation: False counts topic-only wordings as
        # evidence, ignores stated figures, lets a figure make a strong record but not
        # show a case by itself, or sets apart every negated mention, presupposing or not,
        # as the pattern view did before each existed
        self.topic_only = topic_only
        self.measures = measures
        self.measures_show = measures_show
        self.presupposed = presupposed

    def shows(self, strong_records: int, case_records: int, *, measured: bool = False) -> bool:
        """The "strong matches only" rule: a case shows the concern when at least
        ``min_strong_records`` of its records are strong matches and they are at least
        ``min_strong_share`` of the case's records the caller may see (a pattern recurs; one
        mention in a long file is not one), or when one of its records states a figure under
        a measure's bound (``measured``: "attendance 84 %" already counts a term's sessions).
        Calibrated in README.md ("Pattern view")."""
        return measured or (
            strong_records >= self.min_strong_records
            and strong_records >= self.min_strong_share * case_records
        )

    def find(self, query: PatternQuery) -> PatternResult:
        """The cases showing the concern. Raises ``InvalidQueryError`` for an unknown
        category or a blank question (a question with no word to match is looked for
        by meaning alone)."""
        started = time.perf_counter()
        categories, own_groups, direction, read_by = self._concern(query)
        names = [w for c in categories for w in (c.evidence_names if self.topic_only else c.names)]
        names += [" ".join(g) for g in own_groups]
        wordings = [
            w
            for c in categories
            for w in (c.evidence_wordings if self.topic_only else c.indicators)
        ]
        measures = [m for c in categories for m in c.measures] if self.measures else []
        # candidates: chunks holding the content words of any name, wording or measure (a
        # superset; each sentence is then matched exactly, stop words included)
        lookups = [*names, *wordings, *(m.wording for m in measures)]
        groups = list(dict.fromkeys(g for w in lookups if (g := _group(w))))
        store = self.searcher.store
        support: dict[int, _RecordSupport] = {}
        with store.snapshot() as conn:
            self.searcher.dense.sync(store, conn)
            visible, allowed = scope_masks(conn, query.scope, query.filters)
            population = self.searcher.dense.population(visible)
            in_scope = population.restrict(allowed)
            matches = group_matches(conn, groups) if groups else {}
            lexical_chunks: set[int] = set()
            for rows in matches.values():
                lexical_chunks.update(int(pk) for pk in rows[within(in_scope, rows)])
            meaning: dict[int, float] = {}
            if direction is not None:
                found, _, _ = self.searcher.dense.search_above(
                    direction, allowed, self.max_meaning_chunks, self.meaning_cosine
                )
                meaning = {chunk: score for chunk, _record, score in found}
            chunk_pks = sorted(lexical_chunks | set(meaning))
            spans = store.chunk_spans(conn, chunk_pks)
            docs = store.documents_by_pk(conn, {span[0] for span in spans.values()})
            cases = {d.case_id for d in docs.values() if d.case_id}
            sizes = {
                case: int(np.count_nonzero(within(allowed, np.asarray(pks, dtype=np.int64))))
                for case, pks in store.case_record_pks(conn, cases).items()
            }
        others = parents_are_others(categories)
        for chunk_pk in chunk_pks:
            record_pk, ordinal, start, end = spans[chunk_pk]
            doc = docs.get(record_pk)
            if doc is None:
                continue
            entry = support.setdefault(record_pk, _RecordSupport(doc))
            cosine = meaning.get(chunk_pk)
            if cosine is not None:
                entry.best_cosine = max(entry.best_cosine, cosine)
            found_wording = self._wordings(
                entry, ordinal, start, end, names, wordings, measures, others=others
            )
            if cosine is not None and not found_wording:
                entry.evidence.append(
                    self._meaning_evidence(doc, ordinal, start, end, cosine, others=others)
                )
        return self._summarise(query, categories, read_by, support, sizes, started)

    # -- the concern ------------------------------------------------------------------------

    def _concern(
        self, query: PatternQuery
    ) -> tuple[tuple[Category, ...], list[TermGroup], np.ndarray[Any, Any] | None, str | None]:
        """The concern asked about, the query's own word groups, the direction evidence is
        compared with, and how the concern was read: ``"category"`` when asked for by id,
        else as search reads it (``HybridSearcher.read_concerns``: by name, meaning or signs;
        None when the text reads as no concern and only its own words and meaning count)."""
        library = load_library()
        if query.category is not None:
            category = library.get(query.category)
            if category is None:
                known = ", ".join(c.id for c in library.categories)
                raise InvalidQueryError(f"unknown category '{query.category}' (known: {known})")
            return (category,), [], self._direction(None, (category,)), "category"
        text = (query.text or "").strip()
        if not text:
            raise InvalidQueryError("give a query or a category")
        reading = understand(
            text, today=query.today or dt.date.today(), vocabulary=analysis.english_vocabulary
        )
        vector = self.searcher.embedder.embed([reading.dense_query or text])[0]
        categories, read_by = self.searcher.read_concerns(reading, text, vector)
        own: list[TermGroup] = [(t,) for t in analysis.terms(reading.lexical_base)]
        own += [g for w in reading.lexical_additions if (g := _group(w))]
        return categories, own, self._direction(vector, categories), read_by

    def _direction(
        self, vector: np.ndarray[Any, Any] | None, categories: tuple[Category, ...]
    ) -> np.ndarray[Any, Any] | None:
        parts: list[np.ndarray[Any, Any]] = [self.searcher.concept_direction(c) for c in categories]
        if vector is not None:
            parts.append(vector / max(float(np.linalg.norm(vector)), 1e-12))
        if not parts:
            return None
        mean = np.mean(parts, axis=0)
        out: np.ndarray[Any, Any] = (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(
            np.float32
        )
        return out

    # -- evidence ---------------------------------------------------------------------------

    def _wordings(
        self,
        entry: _RecordSupport,
        ordinal: int,
        start: int,
        end: int,
        names: Sequence[str],
        wordings: Sequence[str],
        measures: Sequence[Measure] = (),
        *,
        others: bool = False,
    ) -> bool:
        """Add the chunk's sentences that hold a name, wording or a measure under its bound;
        whether any did. A measure's match counts as a name."""
        doc = entry.doc
        found = False
        year = doc.created_at.year if doc.created_at else None
        chunk = doc.text[start:end]
        measured = [
            WordingMatch(f"{m.wording} under {bound:g} %", m.start, m.end)
            for m, bound in _bounds(measured_below(chunk, measures), measures)
        ]
        measure_set = {m.wording for m in measured}
        name_set = {*names, *measure_set}
        in_chunk = sorted(
            [*find_wordings(chunk, [*names, *wordings]), *measured],
            key=lambda m: (m.start, m.end, m.wording),
        )
        if not in_chunk:
            return False
        for sentence in _sentences(chunk):
            hits = [h for h in in_chunk if sentence.start <= h.start and h.end <= sentence.end]
            if not hits:
                continue
            s_start, s_end = start + sentence.start, start + sentence.end
            text = doc.text[s_start:s_end]
            hit = next((h for h in hits if h.wording in name_set), hits[0])
            is_name = hit.wording in name_set
            target = (hit.start - sentence.start, hit.end - sentence.start)
            reading = assess(text, target, record_year=year, parents_are_others=others)
            asserted = reading.temporality != "hypothetical" and reading.experiencer != "other"
            earlier = self.presupposed and reading.negated and reading.prior and asserted
            evidence = self._evidence(
                doc,
                ordinal,
                s_start,
                s_end,
                reading,
                "wording",
                hit.wording,
                strong=is_name,
                label="historical" if earlier else None,
            )
            found = True
            if not earlier and (reading.negated or not asserted):
                entry.set_apart.append(evidence)
                continue
            entry.names.update(h.wording for h in hits if h.wording in name_set)
            entry.measured = entry.measured or any(h.wording in measure_set for h in hits)
            entry.wordings.update(h.wording for h in hits if h.wording not in name_set)
            entry.evidence.append(evidence)
        return found

    def _meaning_evidence(
        self, doc: Document, ordinal: int, start: int, end: int, cosine: float, *, others: bool
    ) -> Evidence:
        sentences = _sentences(doc.text[start:end])
        first = sentences[0] if sentences else analysis.Sentence(0, end - start)
        s_start, s_end = start + first.start, start + first.end
        reading = assess(doc.text[s_start:s_end], None, parents_are_others=others)
        strong = cosine >= self.strong_cosine
        return self._evidence(doc, ordinal, s_start, s_end, reading, "meaning", None, strong=strong)

    def _evidence(
        self,
        doc: Document,
        ordinal: int,
        start: int,
        end: int,
        reading: Assertion,
        via: str,
        wording: str | None,
        *,
        strong: bool,
        label: str | None = None,
    ) -> Evidence:
        """``label`` overrides the reading's own (a presupposing negation shows as history)."""
        return Evidence(
            document_id=doc.id,
            case_id=doc.case_id,
            created_at=doc.created_at,
            chunk_id=f"{doc.id}#{ordinal}",
            source_uri=doc.source_uri,
            text=doc.text[start:end],
            char_start=start,
            char_end=end,
            assertion=label or reading.label,
            cues=tuple(dict.fromkeys(c.text for c in reading.cues)),
            via=via,
            wording=wording,
            strong=strong,
        )

    # -- summary ----------------------------------------------------------------------------

    def _summarise(
        self,
        query: PatternQuery,
        categories: Sequence[Category],
        read_by: str | None,
        support: dict[int, _RecordSupport],
        sizes: dict[str, int],
        started: float,
    ) -> PatternResult:
        supporting = [s for s in support.values() if s.evidence]
        set_apart = [s for s in support.values() if not s.evidence and s.set_apart]
        by_case: dict[str, list[_RecordSupport]] = defaultdict(list)
        for s in supporting:
            by_case[s.doc.case_id or s.doc.id].append(s)
        cases: list[CasePattern] = []
        for case_id, records in by_case.items():
            strong = [r for r in records if r.strong(self.strong_cosine)]
            size = max(sizes.get(case_id, len(records)), len(records))
            measured = self.measures_show and any(r.measured for r in records)
            if not query.include_weak and not self.shows(len(strong), size, measured=measured):
                continue
            dates = [r.doc.created_at for r in records if r.doc.created_at]
            ordered = sorted(
                (e for r in records for e in r.evidence),
                key=lambda e: (
                    not e.strong,
                    e.via != "wording",
                    -(e.created_at or dt.date.min).toordinal(),
                ),
            )
            cases.append(
                CasePattern(
                    case_id=case_id,
                    records=len(records),
                    strong_records=len(strong),
                    first=min(dates, default=None),
                    last=max(dates, default=None),
                    evidence=tuple(_one_per_record(ordered, query.evidence_per_case)),
                )
            )
        cases.sort(key=lambda c: (-c.strong_records, -c.records, c.case_id))
        shown = {c.case_id for c in cases}
        counted = [s for s in supporting if (s.doc.case_id or s.doc.id) in shown]
        months = Counter(s.doc.created_at.strftime("%Y-%m") for s in counted if s.doc.created_at)
        teams = Counter(p for s in counted for p in set(s.doc.acl) if p.startswith("team:"))
        return PatternResult(
            categories=tuple(c.id for c in categories),
            categories_by=read_by,
            cases=tuple(cases),
            histogram=tuple(sorted(months.items())),
            teams=tuple(sorted(teams.items(), key=lambda kv: (-kv[1], kv[0]))),
            total_cases=len(cases),
            total_records=len(counted),
            set_apart=tuple(e for s in set_apart for e in s.set_apart[:1])[:20],
            set_apart_records=len(set_apart),
            strong_cosine=self.strong_cosine,
            took_ms=(time.perf_counter() - started) * 1000,
        )


@lru_cache(maxsize=4096)
def _sentences(text: str) -> tuple[analysis.Sentence, ...]:
    return analysis.sentences(text)


def _bounds(
    found: list[tuple[WordingMatch, float]], measures: Sequence[Measure]
) -> list[tuple[WordingMatch, float]]:
    """Each measured match with its measure's bound (what the evidence says it was under)."""
    bound = {m.wording: m.below for m in measures}
    return [(match, bound[match.wording]) for match, _value in found]


def _group(wording: str) -> TermGroup:
    return tuple(analysis.terms(wording))


def _one_per_record(evidence: Sequence[Evidence], limit: int) -> list[Evidence]:
    out: list[Evidence] = []
    seen: set[str] = set()
    for e in evidence:
        if e.document_id in seen:
            continue
        seen.add(e.document_id)
        out.append(e)
        if len(out) >= limit:
            break
    return out
