"""How much of the synthetic case file's significant history the chronology finds.

A *placed significant event* is defined from how the generator wrote each document (its doc
type and topic tags, never its text):

- every document of an event type the generator schedules as a step in the case (referral,
  strategy discussion, assessment / s47 enquiry, initial and review conference minutes, CP /
  CIN / safety plans, police notifications, court reports, health and school contacts): found
  when the chronology has an event of the expected category quoting that document;
- every document tagged ``missing`` or ``exploitation.missing`` (a missing episode): found
  when the chronology has a ``missing`` event quoting that document;
- every document tagged ``school.concern`` (a school raising a concern, by call or email):
  found when the chronology has a ``school`` event quoting that document.

Every event is also checked for an exact citation: ``record.text[char_start:char_end]`` must
equal the quoted sentence. Events are read per record with ``record_events``, the function
``case_chronology`` applies to each visible record.

``python -m evaluation.chronology --seed 7 --cases 40`` prints the figures as sorted JSON.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from evaluation.synthetic import SyntheticDocument, build_collection
from retrieval.chronology import ChronologyEvent, record_events
from retrieval.models import Document

# generator doc type -> the chronology category a practitioner would file it under
EXPECTED_BY_DOC_TYPE: dict[str, str] = {
    "referral": "referral",
    "strategy_discussion": "strategy_discussion",
    "assessment": "assessment",
    "icpc_minutes": "conference",
    "rcpc_minutes": "conference",
    "cp_plan": "plan",
    "cin_plan": "plan",
    "safety_plan": "plan",
    "police_notification": "police",
    "court_report": "court",
    "health_contact": "health",
    "school_contact": "school",
}
EXPECTED_BY_TAG: dict[str, str] = {
    "missing": "missing",
    "exploitation.missing": "missing",
    "school.concern": "school",
}


@dataclass(frozen=True, slots=True)
class Placed:
    document_id: str
    kind: str  # the doc type or tag that placed it
    category: str


@dataclass(frozen=True, slots=True)
class ChronologyFigures:
    placed: int
    found: int
    by_kind: dict[str, tuple[int, int]]  # kind -> (placed, found)
    events: int
    exact_citations: int
    missed: tuple[str, ...]  # "document id: kind", the first 30

    @property
    def recall(self) -> float:
        return self.found / self.placed if self.placed else 1.0

    def as_json(self) -> dict[str, object]:
        return {
            "placed": self.placed,
            "found": self.found,
            "recall": round(self.recall, 4),
            "by_kind": {
                k: {"placed": p, "found": f, "recall": round(f / p, 4) if p else 1.0}
                for k, (p, f) in sorted(self.by_kind.items())
            },
            "events": self.events,
            "exact_citations": self.exact_citations,
            "all_citations_exact": self.exact_citations == self.events,
            "missed_examples": list(self.missed),
        }


def placed_events(documents: Iterable[SyntheticDocument]) -> list[Placed]:
    """The significant events the generator placed (see the module docstring)."""
    out: list[Placed] = []
    for doc in documents:
        if doc.doc_type in EXPECTED_BY_DOC_TYPE:
            out.append(Placed(doc.id, doc.doc_type, EXPECTED_BY_DOC_TYPE[doc.doc_type]))
        for tag, category in EXPECTED_BY_TAG.items():
            if tag in doc.tags:
                out.append(Placed(doc.id, f"tag:{tag}", category))
    return out


def as_document(doc: SyntheticDocument) -> Document:
    return Document(
        id=doc.id,
        text=doc.text,
        acl=doc.acl,
        deny=doc.deny,
        case_id=doc.case_id,
        doc_type=doc.doc_type,
        title=doc.title,
        created_at=doc.created_at,
        updated_at=doc.updated_at,
        source_uri=doc.source_uri,
    )


def evaluate(documents: Sequence[SyntheticDocument]) -> ChronologyFigures:
    texts = {d.id: d.text for d in documents}
    events: dict[str, list[ChronologyEvent]] = {
        d.id: record_events(as_document(d)) for d in documents
    }
    placed = placed_events(documents)
    by_kind: Counter[str] = Counter()
    found_by_kind: Counter[str] = Counter()
    missed: list[str] = []
    for p in placed:
        by_kind[p.kind] += 1
        if any(p.category in (e.category, *e.also) for e in events[p.document_id]):
            found_by_kind[p.kind] += 1
        elif len(missed) < 30:
            missed.append(f"{p.document_id}: {p.kind}")
    all_events = [e for es in events.values() for e in es]
    exact = sum(
        texts[e.citation.document_id][e.citation.char_start : e.citation.char_end] == e.sentence
        for e in all_events
    )
    return ChronologyFigures(
        placed=len(placed),
        found=sum(found_by_kind.values()),
        by_kind={k: (n, found_by_kind[k]) for k, n in by_kind.items()},
        events=len(all_events),
        exact_citations=exact,
        missed=tuple(missed),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cases", type=int, default=40)
    args = parser.parse_args(argv)
    collection = build_collection(seed=args.seed, n_cases=args.cases)
    figures = evaluate(collection.documents)
    result = {"seed": args.seed, "cases": args.cases, **figures.as_json()}
    print(json.dumps(result, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
