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
    records: int | None = None
    chunks: int | None = None
