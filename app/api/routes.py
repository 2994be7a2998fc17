"""The JSON API: search, documents, CMS push, health."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path

from app.api.deps import CallerDep, ServicesDep, require_principal
from app.api.schemas import (
    CitationOut,
    DocumentOut,
    Health,
    RecordsBody,
    RecordsResult,
    ResultOut,
    SearchBody,
    SearchResponse,
    SnippetOut,
)
from app.auth import Caller
from app.errors import NotFound
from connectors.errors import RecordError
from connectors.record import Record, Tombstone, is_tombstone, parse_record
from retrieval.models import AccessScope, SearchFilters, SearchRequest, SearchResult

router = APIRouter()
_NOT_FOUND = "no record with that id is available to you"


@router.post("/v1/search", response_model=SearchResponse, tags=["search"])
def search(body: SearchBody, caller: CallerDep, services: ServicesDep) -> SearchResponse:
    """Hybrid search over the records the caller may see, with verbatim cited snippets."""
    request = SearchRequest(
        text=body.query,
        scope=AccessScope(caller.all_principals),
        filters=SearchFilters(
            case_id=body.case_id,
            doc_types=tuple(body.doc_types or ()),
            date_from=body.date_from,
            date_to=body.date_to,
        ),
        top_k=body.top_k,
        offset=body.offset,
    )
    return to_response(services.searcher.search(request))


def to_response(result: SearchResult) -> SearchResponse:
    """The API body for a search result (also printed by ``casesearch search --json``)."""
    return SearchResponse(
        search_id=uuid.uuid4().hex,
        took_ms=round(result.took_ms, 3),
        query=dict(result.understanding),
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
                ),
                why=dict(hit.why),
            )
            for hit in result.hits
        ],
    )


@router.get(
    "/v1/documents/{document_id}",
    response_model=DocumentOut,
    tags=["documents"],
    responses={404: {"description": "Missing or not available to the caller (same answer)."}},
)
def get_document(
    document_id: Annotated[str, Path(max_length=256)], caller: CallerDep, services: ServicesDep
) -> DocumentOut:
    """The record, if the caller may see it; 404 alike for missing and forbidden."""
    doc = services.store.document(document_id)
    if doc is None or not AccessScope(caller.all_principals).permits(doc.acl, doc.deny):
        raise NotFound(_NOT_FOUND)
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
    )


_ingest = require_principal("role:ingest")


@router.post("/v1/records", response_model=RecordsResult, tags=["ingest"])
def push_records(
    body: RecordsBody, services: ServicesDep, _caller: Caller = _ingest
) -> RecordsResult:
    """Upsert a batch of records (or tombstones) pushed by a case-management system.

    Idempotent: pushing the same record twice changes nothing the second time. Invalid
    records are reported in ``failures`` and the rest are applied.
    """
    items: list[Record | Tombstone] = []
    failures: list[dict[str, str]] = []
    for position, raw in enumerate(body.records):
        ref = str(raw.get("id") or f"records[{position}]")
        try:
            if is_tombstone(raw):
                items.append(Tombstone(str(raw["id"])))
            else:
                items.append(parse_record(raw, source_ref=ref))
        except RecordError as exc:
            failures.append({"source_ref": exc.source_ref, "reason": exc.reason})
    summary = services.indexer.apply(items, source="push")
    return RecordsResult(
        added=summary.added,
        updated=summary.updated,
        unchanged=summary.unchanged,
        acl_changed=summary.acl_changed,
        deleted=summary.deleted,
        failed=len(failures),
        failures=failures,
    )


@router.delete("/v1/records/{record_id}", status_code=204, tags=["ingest"])
def delete_record(
    record_id: Annotated[str, Path(max_length=256)],
    services: ServicesDep,
    _caller: Caller = _ingest,
) -> None:
    """Remove a record from every index. Idempotent: deleting twice is not an error."""
    services.indexer.apply([Tombstone(record_id)], source="push")


@router.get("/healthz", response_model=Health, tags=["health"])
def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get("/readyz", response_model=Health, tags=["health"])
def readyz(services: ServicesDep) -> Health:
    """The store answers and the vectors are loaded."""
    counts = services.store.counts()
    return Health(status="ready", records=counts["records"], chunks=counts["chunks"])
