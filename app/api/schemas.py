"""Request and response bodies at the HTTP edge (DESIGN.md, "HTTP API")."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    field_validator,
    model_validator,
)

from app.errors import ErrorDetail
from retrieval.indicators import load_library
from retrieval.models import Subject

# The text rules, as JSON Schema patterns (OpenAPI) and checked by the same expressions here,
# spelled out as code points so that ECMA, Rust and Python regex engines agree: no control
# characters but tab and line breaks; a query has something besides spaces.
CONTROL = "\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F"
SPACE = (
    "\\u0009\\u000A\\u000D\\u0020\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F"
    "\\u3000\\uFEFF"
)
TEXT_PATTERN = f"^[^{CONTROL}]*$"
QUERY_PATTERN = f"^[^{CONTROL}]*[^{CONTROL}{SPACE}][^{CONTROL}]*$"
_CONTROL = re.compile(f"[{CONTROL}]")
_SOMETHING = re.compile(f"[^{CONTROL}{SPACE}]")


def _no_control_characters(value: str) -> str:
    """Refuse control characters (other than tab and line breaks) and lone surrogates, which
    cannot be stored or searched and would otherwise fail deep inside the store."""
    found = _CONTROL.search(value)
    if found:
        raise ValueError(f"control character U+{ord(found.group()):04X} is not allowed")
    for char in value:
        if "\ud800" <= char <= "\udfff":
            raise ValueError(f"lone surrogate U+{ord(char):04X} cannot be encoded")
    return value


def _not_blank(value: str) -> str:
    if not _SOMETHING.search(value):
        raise ValueError("must contain something to search for, not only spaces")
    return value


def _json_integer(value: Any) -> Any:
    """JSON Schema's integer: ``5`` and ``5.0``, not ``"5"``, ``true`` or ``5.5``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be an integer (a JSON number, not a string or boolean)")
    return value


Text = Annotated[
    str,
    AfterValidator(_no_control_characters),
    Field(json_schema_extra={"pattern": TEXT_PATTERN}),
]
QueryText = Annotated[
    str,
    AfterValidator(_no_control_characters),
    AfterValidator(_not_blank),
    Field(json_schema_extra={"pattern": QUERY_PATTERN}),
]
JsonInt = Annotated[int, Strict(False), BeforeValidator(_json_integer)]

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: Any) -> Any:
    """Only ``YYYY-MM-DD`` (pydantic would also read a number as a Unix time: ``1e-259`` was
    1970-01-01)."""
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise ValueError("must be a date as YYYY-MM-DD")
    return value


IsoDate = Annotated[dt.date, Strict(False), BeforeValidator(_iso_date)]


class SearchBody(BaseModel):
    """Strict: ``"5"`` is not a number and ``false`` is not 0 (422 either way); ``5.0`` is
    the integer 5, as JSON Schema has it."""

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
    date_from: IsoDate | None = None
    date_to: IsoDate | None = None
    top_k: JsonInt = Field(default=10, ge=1, le=50)
    offset: JsonInt = Field(default=0, ge=0, le=1000)
    understand: bool = Field(
        default=True,
        description="false searches the words exactly as typed: no spelling corrections,"
        " added wordings, dates or children's names read from the query (the page's 'search"
        " for exactly what you typed')",
    )


class SnippetOut(BaseModel):
    text: str
    highlights: list[tuple[int, int]]


class TimeRangeOut(BaseModel):
    """Where in a recording the cited passage was heard, in seconds from its start."""

    start_s: float = Field(ge=0)
    end_s: float = Field(ge=0)


class CitationOut(BaseModel):
    document_id: str
    chunk_id: str
    char_start: int
    char_end: int
    source_uri: str | None
    time_range: TimeRangeOut | None = Field(
        default=None,
        description=(
            "For a record transcribed from an audio or video recording: the seconds of the "
            "recording in which the snippet's highlighted words (the whole snippet when none "
            "is highlighted) were heard, from the transcript's segment times (within a "
            "segment, estimated in proportion to characters). Null for every other record. "
            "The transcript is machine-made."
        ),
    )


class SubjectOut(BaseModel):
    """A person the record is about (DESIGN.md ``subjects``); role "child" is the child."""

    id: str
    name: str
    role: str
    other_names: list[str] = Field(default_factory=list)
    dob: dt.date | None = None


def subjects_out(subjects: Iterable[Subject]) -> list[SubjectOut]:
    return [
        SubjectOut(id=s.id, name=s.name, role=s.role, other_names=list(s.other_names), dob=s.dob)
        for s in subjects
    ]


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
    subjects: list[SubjectOut] = Field(default_factory=list)


class SearchResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "search_id": "4f9c2b7e0a3d4e5f8a1b2c3d4e5f6a7b",
                    "took_ms": 41.2,
                    "query": {},
                    "total": 12,
                    "offset": 0,
                    "next_offset": 1,
                    "results": [
                        {
                            "document_id": "CASE-1042-017",
                            "case_id": "CASE-1042",
                            "doc_type": "safety_plan",
                            "title": "Safety plan (version 2)",
                            "created_at": "2024-03-02",
                            "score": 0.032,
                            "snippet": {
                                "text": "Safety plan agreed with mum.",
                                "highlights": [[0, 11]],
                            },
                            "citation": {
                                "document_id": "CASE-1042-017",
                                "chunk_id": "CASE-1042-017#0",
                                "char_start": 0,
                                "char_end": 28,
                                "source_uri": "cms://records/CASE-1042-017",
                            },
                            "why": {"lexical_rank": 1, "dense_rank": 2},
                            "subjects": [
                                {
                                    "id": "P-1042-1",
                                    "name": "Ruth Walker",
                                    "role": "child",
                                    "other_names": [],
                                    "dob": "2015-06-01",
                                }
                            ],
                        }
                    ],
                }
            ]
        }
    )

    search_id: str
    results: list[ResultOut]
    took_ms: float
    query: dict[str, Any] = Field(default_factory=dict)
    total: int = Field(
        default=0,
        description="Records the caller may see, within the filters, that match at all: a query"
        " word, or a meaning above the relevance floor. 0 means no good match.",
    )
    offset: int = Field(default=0, description="where this page starts among the matches")
    next_offset: int | None = Field(
        default=None,
        description="the ``offset`` of the next page, or null when this page is the last (or"
        " the next would start past the furthest offset a search may ask for, 1,000)",
    )


class PatternsBody(BaseModel):
    """A pattern question: ``query`` (free text) or ``category`` (an indicator library id)."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "oneOf": [
                {"required": ["query"], "properties": {"query": {"type": "string"}}},
                {"required": ["category"], "properties": {"category": {"type": "string"}}},
            ],
            "examples": [
                {"category": "neglect", "date_from": "2024-01-01"},
                {"query": "which cases show signs of county lines?"},
            ],
        },
    )

    query: QueryText | None = Field(default=None, min_length=1, max_length=1000)
    category: Text | None = Field(
        default=None,
        max_length=64,
        json_schema_extra={"enum": [c.id for c in load_library().categories]},
        description="An indicator category id (retrieval/indicators/library.toml).",
    )
    case_id: Text | None = Field(default=None, max_length=256)
    doc_types: list[Annotated[Text, Field(max_length=256)]] | None = Field(
        default=None, max_length=50
    )
    date_from: IsoDate | None = None
    date_to: IsoDate | None = None
    all: bool = Field(
        default=False, description="Also list cases below the strong-matches threshold."
    )

    @field_validator("category")
    @classmethod
    def _known_category(cls, value: str | None) -> str | None:
        if value is not None and load_library().get(value) is None:
            known = ", ".join(c.id for c in load_library().categories)
            raise ValueError(f"unknown category (known: {known})")
        return value

    @model_validator(mode="after")
    def _one_of(self) -> PatternsBody:
        if (self.query is None) == (self.category is None):
            raise ValueError("give either query or category, not both")
        return self


class PatternEvidenceOut(BaseModel):
    document_id: str
    case_id: str | None
    created_at: dt.date | None
    snippet: str
    citation: CitationOut
    assertion: str = Field(
        description="How the sentence reads: affirmed, historical, negated, hypothetical or"
        " other person."
    )
    via: str = Field(description="wording (a name or record wording of the concern) or meaning")
    wording: str | None


class PatternCaseOut(BaseModel):
    case_id: str
    records: int
    strong_records: int
    first: dt.date | None
    last: dt.date | None
    evidence: list[PatternEvidenceOut]


class MonthCount(BaseModel):
    month: str
    records: int


class TeamCount(BaseModel):
    team: str
    records: int


class PatternsResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "categories": ["neglect"],
                    "categories_by": "category",
                    "cases": [
                        {
                            "case_id": "CASE-1042",
                            "records": 3,
                            "strong_records": 2,
                            "first": "2023-11-04",
                            "last": "2024-03-02",
                            "evidence": [
                                {
                                    "document_id": "CASE-1042-009",
                                    "case_id": "CASE-1042",
                                    "created_at": "2023-11-04",
                                    "snippet": "No food in the fridge.",
                                    "citation": {
                                        "document_id": "CASE-1042-009",
                                        "chunk_id": "CASE-1042-009#0",
                                        "char_start": 0,
                                        "char_end": 28,
                                        "source_uri": "cms://records/CASE-1042-009",
                                    },
                                    "assertion": "affirmed",
                                    "via": "wording",
                                    "wording": "no food",
                                }
                            ],
                        }
                    ],
                    "histogram": [{"month": "2023-11", "records": 1}],
                    "teams": [{"team": "team:north-1", "records": 3}],
                    "total_cases": 1,
                    "total_records": 3,
                    "set_apart": [],
                    "set_apart_records": 0,
                    "took_ms": 88.5,
                }
            ]
        }
    )

    categories: list[str]
    categories_by: str | None = Field(
        None,
        description=(
            "How the concern was read: `category` (asked by id), `name` (the query names it),"
            " `meaning` (the query's meaning is near the concern's exemplars) or `signs` (the"
            " query holds a record wording of that one concern); null when it reads as none."
        ),
    )
    cases: list[PatternCaseOut]
    histogram: list[MonthCount]
    teams: list[TeamCount]
    total_cases: int
    total_records: int
    set_apart: list[PatternEvidenceOut] = Field(
        description="Negated, hypothetical or other-person mentions: shown, never counted."
    )
    set_apart_records: int
    took_ms: float


class DocumentOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "CASE-1042-017",
                    "case_id": "CASE-1042",
                    "doc_type": "safety_plan",
                    "title": "Safety plan (version 2)",
                    "text": "Safety plan agreed with mum. Mum will supervise all contact with dad.",
                    "created_at": "2024-03-02",
                    "updated_at": "2024-03-02T10:15:00Z",
                    "author": "user:sw-north-1-2",
                    "source_uri": "cms://records/CASE-1042-017",
                    "attachments": [],
                    "subjects": [
                        {
                            "id": "P-1042-1",
                            "name": "Ruth Walker",
                            "role": "child",
                            "other_names": ["Ruthie"],
                            "dob": "2015-06-01",
                        }
                    ],
                }
            ]
        }
    )

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
    subjects: list[SubjectOut] = Field(default_factory=list)


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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "added": 1,
                    "updated": 0,
                    "unchanged": 0,
                    "acl_changed": 0,
                    "deleted": 0,
                    "failed": 1,
                    "failures": [
                        {"source_ref": "CASE-1042-018", "reason": "missing or empty 'acl'"}
                    ],
                    "results": [
                        {"id": "CASE-1042-017", "status": "applied", "error": None},
                        {
                            "id": "CASE-1042-018",
                            "status": "rejected",
                            "error": "missing or empty 'acl'",
                        },
                    ],
                }
            ]
        }
    )

    added: int
    updated: int
    unchanged: int
    acl_changed: int
    deleted: int
    failed: int
    failures: list[dict[str, str]]
    results: list[RecordOutcome] = Field(description="one per pushed record, in order")


class RecordsRejected(RecordsResult):
    """The 422 of a push none of whose records was applied: the per-record answer and the
    error."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "added": 0,
                    "updated": 0,
                    "unchanged": 0,
                    "acl_changed": 0,
                    "deleted": 0,
                    "failed": 1,
                    "failures": [
                        {"source_ref": "CASE-1042-018", "reason": "missing or empty 'acl'"}
                    ],
                    "results": [
                        {
                            "id": "CASE-1042-018",
                            "status": "rejected",
                            "error": "missing or empty 'acl'",
                        }
                    ],
                    "error": {"code": "invalid_records", "message": "no record was applied"},
                }
            ]
        }
    )

    error: ErrorDetail


class Health(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok"}]})

    status: str


class TimelineEntryOut(BaseModel):
    document_id: str
    case_id: str | None
    doc_type: str | None
    title: str
    created_at: dt.date | None
    source_uri: str | None


class TimelineOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "case_id": "CASE-1042",
                    "total": 41,
                    "limit": 1,
                    "offset": 0,
                    "next_offset": 1,
                    "entries": [
                        {
                            "document_id": "CASE-1042-017",
                            "case_id": "CASE-1042",
                            "doc_type": "safety_plan",
                            "title": "Safety plan (version 2)",
                            "created_at": "2024-03-02",
                            "source_uri": "cms://records/CASE-1042-017",
                        }
                    ],
                }
            ]
        }
    )

    case_id: str
    entries: list[TimelineEntryOut] = Field(description="newest first, at most ``limit``")
    total: int = Field(description="the case's records the caller may see, over all pages")
    limit: int
    offset: int
    next_offset: int | None = Field(
        description="the ``offset`` of the next page, or null when this page is the last"
    )


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
    person_ids: list[str] | None = Field(
        None,
        description="the data subjects the event's records named when it was written (in the"
        " hash); absent on events written before data subjects were recorded",
    )
    query_digest: str | None = Field(
        None,
        description="sha256 of a per-event salt and the query, in the hash in place of the"
        " query text, which is kept apart so that erasure can remove it (``query`` is then"
        " null)",
    )
    prev_hash: str
    hash: str


class AuditPageOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "total": 1,
                    "limit": 100,
                    "offset": 0,
                    "events": [
                        {
                            "seq": 7,
                            "event_id": "0b6f6c1e9d2a4c59a4f1e1f7a3c2b8d0",
                            "at": "2024-03-04T09:12:44.123456+00:00",
                            "subject": "sw-north-1-2",
                            "principals": ["team:north-1", "user:sw-north-1-2"],
                            "action": "search",
                            "query": "safety plan",
                            "filters": {},
                            "record_ids": ["CASE-1042-017"],
                            "case_ids": ["CASE-1042"],
                            "detail": {},
                            "prev_hash": "9f2c…",
                            "hash": "41ab…",
                        }
                    ],
                }
            ]
        }
    )

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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "search_id": "4f9c2b7e0a3d4e5f8a1b2c3d4e5f6a7b",
                    "document_id": "CASE-1042-017",
                    "seconds": 12.4,
                    "rank": 1,
                }
            ]
        }
    )

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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "date_from": "2024-03-01",
                    "date_to": "2024-03-01",
                    "days": [
                        {
                            "day": "2024-03-01",
                            "searches": 40,
                            "count": 31,
                            "median_s": 14.2,
                            "p90_s": 61.0,
                        }
                    ],
                    "overall": {"searches": 40, "count": 31, "median_s": 14.2, "p90_s": 61.0},
                }
            ]
        }
    )

    date_from: dt.date | None
    date_to: dt.date | None
    days: list[TimeToFindDay]
    overall: TimeToFindStats
