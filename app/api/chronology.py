"""``GET /v1/cases/{case_id}/chronology``: the child's chronology as JSON or CSV.

Columns follow practice guidance for chronologies (date, event, source / document reference,
significance); see ``retrieval/chronology.py``. The route only translates: the access rule
and the audit event are in ``app.actions.case_chronology_for``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from app import actions
from app.api.deps import CallerDep, ServicesDep
from app.api.routes import _ERRORS, _error
from app.api.schemas import IsoDate
from app.csv_export import csv_text
from retrieval.chronology import Chronology, ChronologyEvent, load_rules

router = APIRouter()

CSV_COLUMNS: tuple[str, ...] = (
    "date",
    "precision",
    "date_source",
    "event",
    "category",
    "source",
    "document_id",
    "char_start",
    "char_end",
    "significance",
)
_CATEGORY_IDS = [c.id for c in load_rules().categories]


class ChronologyCitationOut(BaseModel):
    """``record.text[char_start:char_end] == sentence``; ``chunk_id`` null when not indexed."""

    document_id: str
    chunk_id: str | None
    char_start: int
    char_end: int
    source_uri: str | None


class ChronologyEventOut(BaseModel):
    date: dt.date | None
    precision: Literal["day", "week", "month", "year", "relative"]
    date_source: Literal["text", "record"]
    date_text: str | None
    category: str
    also: list[str]
    label: str
    sentence: str
    citation: ChronologyCitationOut
    doc_type: str | None
    title: str
    record_date: dt.date | None
    significance: str
    assertion: str


class ChronologyCategoryOut(BaseModel):
    id: str
    label: str


class ChronologyOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "case_id": "CASE-1042",
                    "categories": [{"id": "police", "label": "Police involvement"}],
                    "events": [
                        {
                            "date": "2024-02-11",
                            "precision": "day",
                            "date_source": "text",
                            "date_text": "11 February 2024",
                            "category": "police",
                            "also": [],
                            "label": "Police involvement",
                            "sentence": "Police attended on 11 February 2024.",
                            "citation": {
                                "document_id": "CASE-1042-012",
                                "chunk_id": "CASE-1042-012#0",
                                "char_start": 0,
                                "char_end": 36,
                                "source_uri": "cms://records/CASE-1042-012",
                            },
                            "doc_type": "police_notification",
                            "title": "Police notification",
                            "record_date": "2024-02-12",
                            "significance": "Police attended the family home.",
                            "assertion": "affirmed",
                        }
                    ],
                }
            ]
        }
    )

    case_id: str
    events: list[ChronologyEventOut]
    categories: list[ChronologyCategoryOut]


def event_out(e: ChronologyEvent) -> ChronologyEventOut:
    c = e.citation
    return ChronologyEventOut(
        date=e.date,
        precision=e.precision,
        date_source=e.date_source,
        date_text=e.date_text,
        category=e.category,
        also=list(e.also),
        label=e.label,
        sentence=e.sentence,
        citation=ChronologyCitationOut(
            document_id=c.document_id,
            chunk_id=c.chunk_id,
            char_start=c.char_start,
            char_end=c.char_end,
            source_uri=c.source_uri,
        ),
        doc_type=e.doc_type,
        title=e.title,
        record_date=e.record_date,
        significance=e.significance,
        assertion=e.assertion,
    )


def chronology_csv(chronology: Chronology) -> str:
    """The chronology as CSV (header ``CSV_COLUMNS``, CRLF lines, formula-safe cells)."""
    rows = []
    for e in chronology.events:
        source = e.title or e.doc_type or ""
        if e.record_date:
            source = f"{source} ({e.record_date.isoformat()})"
        rows.append(
            (
                e.date.isoformat() if e.date else "",
                e.precision,
                e.date_source,
                e.sentence,
                e.label,
                source,
                e.citation.document_id,
                e.citation.char_start,
                e.citation.char_end,
                e.significance,
            )
        )
    return csv_text(CSV_COLUMNS, rows)


@router.get(
    "/v1/cases/{case_id}/chronology",
    response_model=ChronologyOut,
    tags=["documents"],
    responses={
        **_ERRORS,
        400: _error("Unknown category (invalid_query)."),
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
    },
)
def case_chronology(
    case_id: Annotated[str, Path(max_length=256, examples=["CASE-1042"])],
    caller: CallerDep,
    services: ServicesDep,
    category: Annotated[
        list[str],
        Query(
            max_length=20,
            default_factory=list,
            description="keep events of these categories (see `categories` in the answer)",
            json_schema_extra={"items": {"type": "string", "enum": _CATEGORY_IDS}},
        ),
    ],
    date_from: Annotated[IsoDate | None, Query(description="events on or after")] = None,
    date_to: Annotated[IsoDate | None, Query(description="events on or before")] = None,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> ChronologyOut | Response:
    """The case's dated significant events from the records the caller may see, oldest
    first, each a verbatim sentence with its citation (an unknown case and a case with
    nothing visible both answer no events). ``format=csv`` answers ``text/csv``."""
    chronology = actions.case_chronology_for(
        services, caller, case_id, categories=category, date_from=date_from, date_to=date_to
    )
    if format == "csv":
        return Response(
            chronology_csv(chronology),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="chronology.csv"'},
        )
    return ChronologyOut(
        case_id=case_id,
        events=[event_out(e) for e in chronology.events],
        categories=[ChronologyCategoryOut(id=c.id, label=c.label) for c in chronology.categories],
    )
