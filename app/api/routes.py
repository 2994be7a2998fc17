"""The JSON API: search, patterns, documents, case timeline, CMS push, audit, telemetry, health.

Routes translate between HTTP and ``app.actions``; every check, audit event and telemetry
event happens there, so the web pages get exactly the same behaviour.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse

from app import actions
from app.api.deps import (
    CallerDep,
    ServicesDep,
    body_openapi,
    json_body,
    principal_required,
)
from app.api.push import push
from app.api.record_schema import PushBody
from app.api.schemas import (
    AuditEventOut,
    AuditPageOut,
    CitationOut,
    DocumentOut,
    Health,
    IsoDate,
    MonthCount,
    OpenEventBody,
    OpenEventOut,
    PatternCaseOut,
    PatternEvidenceOut,
    PatternsBody,
    PatternsResponse,
    RecordsBody,
    RecordsRejected,
    RecordsResult,
    ResultOut,
    SearchBody,
    SearchResponse,
    SnippetOut,
    TeamCount,
    TimelineEntryOut,
    TimelineOut,
    TimeRangeOut,
    TimeToFindDay,
    TimeToFindOut,
    TimeToFindStats,
    subjects_out,
)
from app.api.vocabulary import check_filter_doc_types
from app.audit import Action, AuditQuery
from app.auth import Caller
from app.errors import ErrorDetail, ErrorOut
from app.telemetry import TimeToFindSummary
from retrieval.models import SearchResult
from retrieval.patterns import Evidence, PatternResult

router = APIRouter()

MAX_TIMELINE_PAGE = 500

Responses = dict[int | str, dict[str, Any]]


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorOut, "description": description}


# Every answer a route can give is documented, each error in the one shape ``ErrorOut``.
_ERRORS: Responses = {
    401: _error("Missing, expired or invalid bearer token."),
    413: _error("The request body is larger than the configured limit."),
    422: _error("The request is not valid (the message names the field and the rule)."),
    429: _error("Too many requests from this user; see Retry-After."),
    503: _error("The audit log or the permission check is unavailable (fail closed)."),
}
_ROLE_ERRORS: Responses = {
    **_ERRORS,
    403: _error("The caller lacks the required principal."),
}
_NOT_FOUND: Responses = {404: _error("Missing or not available to the caller (same answer).")}

SearchBodyDep = Annotated[SearchBody, Depends(json_body(SearchBody))]
PatternsBodyDep = Annotated[PatternsBody, Depends(json_body(PatternsBody))]
OpenEventBodyDep = Annotated[OpenEventBody, Depends(json_body(OpenEventBody))]
IngestCaller = Annotated[Caller, Depends(principal_required(actions.INGEST))]
RecordsBodyDep = Annotated[
    RecordsBody,
    Depends(json_body(RecordsBody, after=principal_required(actions.INGEST), lone_surrogates=True)),
]


@router.post(
    "/v1/search",
    response_model=SearchResponse,
    tags=["search"],
    responses={
        **_ERRORS,
        400: _error("Nothing in the query can be searched for (invalid_query)."),
    },
    openapi_extra=body_openapi(SearchBody),
)
def search(caller: CallerDep, body: SearchBodyDep, services: ServicesDep) -> SearchResponse:
    """Hybrid search over the records the caller may see, with verbatim cited snippets.

    ``search_id`` identifies this search in the audit log and for time-to-find telemetry
    (pass it to ``GET /v1/documents/{id}?search_id=`` or ``POST /v1/events/open``).
    ``total`` counts every match; ask for the next page with ``offset: next_offset`` (null on
    the last page). An unknown ``doc_types`` value is a 422 that lists the known ones.
    """
    check_filter_doc_types(services, body.doc_types or ())
    params = actions.SearchParams(
        query=body.query,
        case_id=body.case_id,
        doc_types=tuple(body.doc_types or ()),
        date_from=body.date_from,
        date_to=body.date_to,
        top_k=body.top_k,
        offset=body.offset,
        understand=body.understand,
    )
    search_id, result = actions.run_search(services, caller, params)
    return to_response(
        result,
        search_id=search_id,
        offset=body.offset,
        max_offset=services.settings.limits.max_offset,
    )


@router.post(
    "/v1/patterns",
    response_model=PatternsResponse,
    tags=["search"],
    responses={
        **_ERRORS,
        400: _error("Unknown category, both or neither of query and category (invalid_query)."),
    },
    openapi_extra=body_openapi(PatternsBody),
)
def patterns(caller: CallerDep, body: PatternsBodyDep, services: ServicesDep) -> PatternsResponse:
    """The cases that show a concern (an indicator category or free text), strongest first.

    Counted over the records the caller may see and nothing else. Only affirmed mentions count;
    negated, hypothetical and other-person mentions are listed apart in ``set_apart``. Only
    cases above the strong-matches threshold are listed unless ``all`` is true.
    """
    check_filter_doc_types(services, body.doc_types or ())
    result = actions.run_patterns(
        services,
        caller,
        actions.PatternParams(
            query=body.query,
            category=body.category,
            case_id=body.case_id,
            doc_types=tuple(body.doc_types or ()),
            date_from=body.date_from,
            date_to=body.date_to,
            include_weak=body.all,
        ),
    )
    return patterns_response(result)


def patterns_response(result: PatternResult) -> PatternsResponse:
    return PatternsResponse(
        categories=list(result.categories),
        categories_by=result.categories_by,
        cases=[
            PatternCaseOut(
                case_id=c.case_id,
                records=c.records,
                strong_records=c.strong_records,
                first=c.first,
                last=c.last,
                evidence=[_evidence_out(e) for e in c.evidence],
            )
            for c in result.cases
        ],
        histogram=[MonthCount(month=m, records=n) for m, n in result.histogram],
        teams=[TeamCount(team=t, records=n) for t, n in result.teams],
        total_cases=result.total_cases,
        total_records=result.total_records,
        set_apart=[_evidence_out(e) for e in result.set_apart],
        set_apart_records=result.set_apart_records,
        took_ms=round(result.took_ms, 3),
    )


def _evidence_out(e: Evidence) -> PatternEvidenceOut:
    return PatternEvidenceOut(
        document_id=e.document_id,
        case_id=e.case_id,
        created_at=e.created_at,
        snippet=e.text,
        citation=CitationOut(
            document_id=e.document_id,
            chunk_id=e.chunk_id,
            char_start=e.char_start,
            char_end=e.char_end,
            source_uri=e.source_uri,
        ),
        assertion=e.assertion,
        via=e.via,
        wording=e.wording,
    )


def to_response(
    result: SearchResult, *, search_id: str, offset: int = 0, max_offset: int | None = None
) -> SearchResponse:
    """The API body for an audited search (also printed by ``casesearch search --json``);
    ``offset`` is where the page starts among all ``result.total`` matches. No next page is
    offered past ``max_offset``, the furthest a search may start."""
    shown = offset + len(result.hits)
    more = (
        bool(result.hits) and shown < result.total and (max_offset is None or shown <= max_offset)
    )
    return SearchResponse(
        search_id=search_id,
        took_ms=round(result.took_ms, 3),
        query=dict(result.understanding),
        total=result.total,
        offset=offset,
        next_offset=shown if more else None,
        results=[
            ResultOut(
                document_id=hit.document_id,
                case_id=hit.case_id,
                doc_type=hit.doc_type,
                title=hit.title,
                created_at=hit.created_at,
                score=hit.score,
                snippet=SnippetOut(text=hit.snippet.text, highlights=list(hit.snippet.highlights)),
                citation=CitationOut(
                    document_id=hit.document_id,
                    chunk_id=hit.chunk_id,
                    char_start=hit.snippet.char_start,
                    char_end=hit.snippet.char_end,
                    source_uri=hit.source_uri,
                    time_range=(
                        TimeRangeOut(start_s=hit.time_range[0], end_s=hit.time_range[1])
                        if hit.time_range is not None
                        else None
                    ),
                ),
                why=dict(hit.why),
                subjects=subjects_out(hit.subjects),
            )
            for hit in result.hits
        ],
    )


@router.get(
    "/v1/documents/{document_id}",
    response_model=DocumentOut,
    tags=["documents"],
    responses={**_ERRORS, **_NOT_FOUND},
)
def get_document(
    document_id: Annotated[str, Path(max_length=256, examples=["CASE-1042-017"])],
    caller: CallerDep,
    services: ServicesDep,
    search_id: Annotated[
        str | None,
        Query(max_length=64, description="the search this record was opened from (telemetry)"),
    ] = None,
) -> DocumentOut:
    """The record, if the caller may see it; 404 alike for missing and forbidden."""
    doc = actions.open_document(services, caller, document_id, search_id=search_id)
    return DocumentOut(
        id=doc.id,
        case_id=doc.case_id,
        doc_type=doc.doc_type,
        title=doc.title,
        text=doc.text,
        created_at=doc.created_at,
        updated_at=doc.updated_at,
        author=doc.author,
        source_uri=doc.source_uri,
        attachments=list(doc.attachments),
        subjects=subjects_out(doc.subjects),
    )


@router.get(
    "/v1/cases/{case_id}/timeline",
    response_model=TimelineOut,
    tags=["documents"],
    responses=_ERRORS,
)
def case_timeline(
    case_id: Annotated[str, Path(max_length=256, examples=["CASE-1042"])],
    caller: CallerDep,
    services: ServicesDep,
    doc_type: Annotated[list[str], Query(max_length=50, default_factory=list)],
    limit: Annotated[int, Query(ge=1, le=MAX_TIMELINE_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> TimelineOut:
    """The case's records the caller may see, newest first, ``limit`` at a time from
    ``offset`` (an unknown case and a case with nothing visible both answer an empty list).
    ``total`` counts them all; ``next_offset`` is the next page's offset (null on the last).
    """
    check_filter_doc_types(services, doc_type)
    every = actions.case_timeline_for(
        services, caller, case_id, doc_type, offset=offset, limit=limit
    )
    entries = every[offset : offset + limit]
    return TimelineOut(
        case_id=case_id,
        total=len(every),
        limit=limit,
        offset=offset,
        next_offset=offset + limit if offset + limit < len(every) else None,
        entries=[
            TimelineEntryOut(
                document_id=e.document_id,
                case_id=e.case_id,
                doc_type=e.doc_type,
                title=e.title,
                created_at=e.created_at,
                source_uri=e.source_uri,
            )
            for e in entries
        ],
    )


@router.post(
    "/v1/records",
    response_model=RecordsResult,
    tags=["ingest"],
    responses={
        **_ROLE_ERRORS,
        207: {
            "model": RecordsResult,
            "description": "Some records were applied and some rejected (see results).",
        },
        413: _error(
            "The body is over the byte limit, or its records hold more characters than one"
            " push may (limits.max_push_chars): nothing was applied."
        ),
        422: {
            "model": RecordsRejected | ErrorOut,
            "description": "No record was applied (``results`` says why for each, with"
            " ``error``), or the body itself is not valid (``error`` alone).",
        },
    },
    openapi_extra=body_openapi(PushBody),
)
def push_records(
    caller: IngestCaller, body: RecordsBodyDep, services: ServicesDep
) -> RecordsResult | JSONResponse:
    """Upsert a batch of records (or tombstones) pushed by a case-management system
    (``role:ingest``).

    Idempotent: pushing the same record twice changes nothing the second time. Each record is
    applied or rejected on its own: 200 when all were applied, 207 when some were rejected,
    422 when none was applied; ``results`` has one entry per record, in order.
    """
    answer = push(services, caller, body.records)
    if answer.status_code == 200:
        return answer.result
    if answer.status_code == 422:
        rejected = RecordsRejected(
            **answer.result.model_dump(),
            error=ErrorDetail(code="invalid_records", message="no record was applied"),
        )
        return JSONResponse(rejected.model_dump(mode="json"), status_code=422)
    return JSONResponse(answer.result.model_dump(mode="json"), status_code=answer.status_code)


@router.delete("/v1/records/{record_id}", status_code=204, tags=["ingest"], responses=_ROLE_ERRORS)
def delete_record(
    record_id: Annotated[str, Path(max_length=256, examples=["CASE-1042-017"])],
    caller: CallerDep,
    services: ServicesDep,
) -> None:
    """Remove a record from every index (``role:ingest``). Idempotent."""
    actions.delete_record(services, caller, record_id)


@router.get("/v1/audit", response_model=AuditPageOut, tags=["audit"], responses=_ROLE_ERRORS)
def audit(
    caller: CallerDep,
    services: ServicesDep,
    subject: Annotated[str | None, Query(max_length=256)] = None,
    case_id: Annotated[str | None, Query(max_length=256)] = None,
    record_id: Annotated[str | None, Query(max_length=256)] = None,
    person: Annotated[
        str | None,
        Query(
            max_length=256,
            description="a data subject's person id: events whose records name this person"
            " (``subject`` is the user who acted)",
        ),
    ] = None,
    action: Action | None = None,
    date_from: Annotated[IsoDate | None, Query(description="first UTC day, inclusive")] = None,
    date_to: Annotated[IsoDate | None, Query(description="last UTC day, inclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> AuditPageOut:
    """Who looked up (or changed) what: audit events, newest first (``role:auditor``).

    "Who looked up case X between dates": ``?case_id=X&date_from=…&date_to=…``;
    "who viewed record Y": ``?record_id=Y&action=view``; "who looked up this child":
    ``?person=P-1042-1``.
    """
    page = actions.audit_events(
        services,
        caller,
        AuditQuery(
            subject=subject,
            case_id=case_id,
            record_id=record_id,
            person=person,
            action=action,
            date_from=date_from,
            date_to=date_to,
            limit=limit,
            offset=offset,
        ),
    )
    return AuditPageOut(
        events=[AuditEventOut.model_validate(e.as_json()) for e in page.events],
        total=page.total,
        limit=limit,
        offset=offset,
    )


@router.post(
    "/v1/events/open",
    response_model=OpenEventOut,
    status_code=201,
    tags=["telemetry"],
    responses={
        **_ERRORS,
        404: _error("No search with that id by this caller returned that record."),
    },
    openapi_extra=body_openapi(OpenEventBody),
)
def open_event(caller: CallerDep, body: OpenEventBodyDep, services: ServicesDep) -> OpenEventOut:
    """Record that the caller opened a result of their search (time-to-find telemetry)."""
    opened = actions.record_open(services, caller, body.search_id, body.document_id)
    return OpenEventOut(
        search_id=opened.search_id,
        document_id=opened.document_id,
        seconds=opened.seconds,
        rank=opened.rank,
    )


@router.get(
    "/v1/metrics/time-to-find",
    response_model=TimeToFindOut,
    tags=["telemetry"],
    responses=_ROLE_ERRORS,
)
def time_to_find(
    caller: CallerDep,
    services: ServicesDep,
    date_from: Annotated[IsoDate | None, Query(description="first UTC day, inclusive")] = None,
    date_to: Annotated[IsoDate | None, Query(description="last UTC day, inclusive")] = None,
) -> TimeToFindOut:
    """Seconds from a search to its first opened result, per UTC day and overall
    (``role:auditor`` or ``role:qa``)."""
    summary = actions.time_to_find(services, caller, date_from, date_to)
    return TimeToFindOut(
        date_from=summary.date_from,
        date_to=summary.date_to,
        days=[TimeToFindDay(day=d.day, **_stats(d.summary).model_dump()) for d in summary.days],
        overall=_stats(summary.overall),
    )


def _stats(s: TimeToFindSummary) -> TimeToFindStats:
    return TimeToFindStats(searches=s.searches, count=s.count, median_s=s.median_s, p90_s=s.p90_s)


@router.get("/healthz", response_model=Health, tags=["health"])
def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get("/readyz", response_model=Health, tags=["health"])
def readyz(services: ServicesDep) -> Health:
    """The store answers and the vectors are loaded.

    No counts: this route needs no sign-in, and how many records the store holds (and when
    that changes) is not for anyone who can reach the port. ``casesearch status`` shows them.
    """
    services.store.generation()  # one row: the store answers
    return Health(status="ready")
