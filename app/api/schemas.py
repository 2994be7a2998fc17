"""Request and response bodies at the HTTP edge (DESIGN.md, "HTTP API")."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class SearchBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"query": "current safety plan", "case_id": "CASE-1042", "top_k": 5},
                {"query": "children left home alone", "doc_types": ["visit_note"]},
            ]
        },
    )

    query: str = Field(min_length=1, max_length=1000)
    case_id: str | None = Field(default=None, max_length=256)
    doc_types: list[str] | None = Field(default=None, max_length=50)
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
    model_config = ConfigDict(extra="forbid")
    records: list[dict[str, Any]] = Field(min_length=1, max_length=1000)


class RecordsResult(BaseModel):
    added: int
    updated: int
    unchanged: int
    acl_changed: int
    deleted: int
    failed: int
    failures: list[dict[str, str]]


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
        json_schema_extra={
            "examples": [
                {"search_id": "4f9c2b7e0a3d4e5f8a1b2c3d4e5f6a7b", "document_id": "CASE-1042-017"}
            ]
        },
    )

    search_id: str = Field(min_length=1, max_length=64)
    document_id: str = Field(min_length=1, max_length=256)


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
