"""The answers, typed. Unknown fields the server may add later are ignored, not errors."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Subject(_Answer):
    id: str
    name: str
    role: str
    other_names: list[str] = Field(default_factory=list)
    dob: dt.date | None = None


class Snippet(_Answer):
    text: str
    highlights: list[tuple[int, int]]


class Citation(_Answer):
    """``record.text[char_start:char_end]`` is the quoted text."""

    document_id: str
    chunk_id: str | None
    char_start: int
    char_end: int
    source_uri: str | None


class SearchResult(_Answer):
    document_id: str
    case_id: str | None
    doc_type: str | None
    title: str
    created_at: dt.date | None
    score: float
    snippet: Snippet
    citation: Citation
    why: dict[str, Any]
    subjects: list[Subject] = Field(default_factory=list)


class SearchPage(_Answer):
    search_id: str
    results: list[SearchResult]
    took_ms: float
    query: dict[str, Any] = Field(default_factory=dict)
    total: int
    offset: int
    next_offset: int | None


class Document(_Answer):
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
    subjects: list[Subject] = Field(default_factory=list)


class TimelineEntry(_Answer):
    document_id: str
    case_id: str | None
    doc_type: str | None
    title: str
    created_at: dt.date | None
    source_uri: str | None


class Timeline(_Answer):
    case_id: str
    entries: list[TimelineEntry]
    total: int
    limit: int
    offset: int
    next_offset: int | None


class PatternEvidence(_Answer):
    document_id: str
    case_id: str | None
    created_at: dt.date | None
    snippet: str
    citation: Citation
    assertion: str
    via: str
    wording: str | None


class PatternCase(_Answer):
    case_id: str
    records: int
    strong_records: int
    first: dt.date | None
    last: dt.date | None
    evidence: list[PatternEvidence]


class MonthCount(_Answer):
    month: str
    records: int


class TeamCount(_Answer):
    team: str
    records: int


class Patterns(_Answer):
    categories: list[str]
    cases: list[PatternCase]
    histogram: list[MonthCount]
    teams: list[TeamCount]
    total_cases: int
    total_records: int
    set_apart: list[PatternEvidence]
    set_apart_records: int
    took_ms: float


class ChronologyCategory(_Answer):
    id: str
    label: str


class ChronologyEvent(_Answer):
    date: dt.date | None
    precision: str
    date_source: str
    date_text: str | None
    category: str
    also: list[str]
    label: str
    sentence: str
    citation: Citation
    doc_type: str | None
    title: str
    record_date: dt.date | None
    significance: str
    assertion: str


class Chronology(_Answer):
    case_id: str
    events: list[ChronologyEvent]
    categories: list[ChronologyCategory]


class RecordOutcome(_Answer):
    id: str
    status: Literal["applied", "rejected"]
    error: str | None = None


class PushResult(_Answer):
    """One entry per pushed record in ``results``, in order; ``failed`` were rejected."""

    added: int
    updated: int
    unchanged: int
    acl_changed: int
    deleted: int
    failed: int
    results: list[RecordOutcome]

    @property
    def rejected(self) -> list[RecordOutcome]:
        return [r for r in self.results if r.status == "rejected"]


class Change(_Answer):
    kind: Literal["indexed", "updated", "deleted", "failed", "quarantined"]
    record_id: str
    source: str | None
    at: str
    reason: str | None = None


class ChangesPage(_Answer):
    changes: list[Change]
    next_cursor: str
    more: bool
