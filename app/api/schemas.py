"""Request and response bodies at the HTTP edge (DESIGN.md, "HTTP API")."""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

_ALLOWED_CONTROLS = frozenset("\t\n\r")


def _no_control_characters(value: str) -> str:
    """Refuse control characters (other than tab and line breaks) and lone surrogates, which
    cannot be stored or searched and would otherwise fail deep inside the store."""
    for char in value:
        if char in _ALLOWED_CONTROLS:
            continue
        category = unicodedata.category(char)
        if category == "Cc":
            raise ValueError(f"control character U+{ord(char):04X} is not allowed")
        if category == "Cs":
            raise ValueError(f"lone surrogate U+{ord(char):04X} cannot be encoded")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must contain something to search for, not only spaces")
    return value


Text = Annotated[str, AfterValidator(_no_control_characters)]
QueryText = Annotated[str, AfterValidator(_no_control_characters), AfterValidator(_not_blank)]


class SearchBody(BaseModel):
    """Strict: ``"5"`` is not a number and ``false`` is not 0 (422 either way)."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {"query": "current safety plan", "case_id": "CASE-1042", "top_k": 5},
                {"query": "children left home alone", "doc_types": ["visit_note"]},
            ]
        },
    )

    query: QueryText = Field(min_length=1, max_length=1000)
    case_id: Text | None = Field(default=None, max_length=256)
    doc_types: list[Annotated[Text, Field(max_length=256)]] | None = Field(
        default=None, max_length=50
    )
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    top_k: int = Field(default=10, ge=1, le=50)
    offset: int = Field(default=0, ge=0, le=1000)


class SnippetOut(BaseModel):
    text: str
    highlights: list[tuple[int, int]]


class CitationOut(BaseModel):
    document_id: str
    chunk_id: str
    char_start: int
    char_end: int
    source_uri: str | None


class ResultOut(BaseModel):
    document_id: str
    case_id: str | None
    doc_type: str | None
    title: str
    created_at: dt.date | None
    score: float
    snippet: SnippetOut
    citation: CitationOut
    why: dict[str, Any]


class SearchResponse(BaseModel):
    search_id: str
    results: list[ResultOut]
    took_ms: float
    query: dict[str, Any] = Field(default_factory=dict)


class DocumentOut(BaseModel):
    id: str
    case_id: str | None
    doc_type: str | None
    title: str
    text: str
    created_at: dt.date | None
    updated_at: dt.datetime | None
    author: str | None
    source_uri: str | None
    attachments: list[str]


class RecordsBody(BaseModel):
    """A CMS push. Each record is checked on its own (``RecordOutcome``): one bad record does
    not stop the others."""

    model_config = ConfigDict(extra="forbid", strict=True)
    records: list[dict[str, Any]] = Field(min_length=1, max_length=1000)


class RecordOutcome(BaseModel):
    id: str = Field(description="the record's id, or records[N] when it has none")
    status: str = Field(description="applied or rejected")
    error: str | None = Field(default=None, description="why it was rejected")


class RecordsResult(BaseModel):
    added: int
    updated: int
    unchanged: int
    acl_changed: int
    deleted: int
    failed: int
    failures: list[dict[str, str]]
    results: list[RecordOutcome] = Field(description="one per pushed record, in order")


class Health(BaseModel):
    status: str


class TimelineEntryOut(BaseModel):
    document_id: str
    case_id: str | None
    doc_type: str | None
    title: str
    created_at: dt.date | None
    source_uri: str | None


class TimelineOut(BaseModel):
    case_id: str
    entries: list[TimelineEntryOut]


class AuditEventOut(BaseModel):
    """One audit event as stored; ``hash = sha256(prev_hash + canonical JSON of the rest)``."""

    seq: int
    event_id: str
    at: str = Field(description="UTC time, ISO 8601 with microseconds")
    subject: str
    principals: list[str]
    action: str
    query: str | None
    filters: dict[str, Any]
    record_ids: list[str]
    case_ids: list[str]
    detail: dict[str, Any]
    prev_hash: str
    hash: str


class AuditPageOut(BaseModel):
    events: list[AuditEventOut] = Field(description="newest first")
    total: int = Field(description="events matching the filters, over all pages")
    limit: int
    offset: int


class OpenEventBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {"search_id": "4f9c2b7e0a3d4e5f8a1b2c3d4e5f6a7b", "document_id": "CASE-1042-017"}
            ]
        },
    )

    search_id: Text = Field(min_length=1, max_length=64)
    document_id: Text = Field(min_length=1, max_length=256)


class OpenEventOut(BaseModel):
    search_id: str
    document_id: str
    seconds: float = Field(description="seconds from the search to this open")
    rank: int = Field(description="1-based position of the record in the search's results")


class TimeToFindStats(BaseModel):
    searches: int = Field(description="searches made")
    count: int = Field(description="searches with at least one opened result")
    median_s: float | None = Field(description="median seconds from search to first open")
    p90_s: float | None = Field(description="90th percentile of the same")


class TimeToFindDay(TimeToFindStats):
    day: dt.date


class TimeToFindOut(BaseModel):
    date_from: dt.date | None
    date_to: dt.date | None
    days: list[TimeToFindDay]
    overall: TimeToFindStats
