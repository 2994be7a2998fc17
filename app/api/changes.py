"""``GET /v1/changes``: the change feed a case-management system polls to learn what was
indexed, updated, deleted, failed or quarantined (``role:ingest``).

Who is told what: the feed is for the integration that pushes records (``role:ingest``).
Records pushed through the API are that integration's own, so each of their changes is listed
(ids, never text). A record that a connector on the server indexed is listed only while the
caller's own principals may see it (an ingest-only token sees none of them), so the feed never
names a record the caller may not see. The cursor is opaque: pass ``next_cursor`` back as
``since``; it is valid for as long as the log keeps entries (``RETENTION_DAYS``).
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from app import actions
from app.api.deps import ServicesDep, principal_required
from app.api.routes import _ROLE_ERRORS
from app.auth import Caller
from app.errors import InvalidRequest
from retrieval.changes import RETENTION_DAYS, ChangeKind, ChangeLog

router = APIRouter()

MAX_PAGE = 1000
_PREFIX = "c1:"

IngestCaller = Annotated[Caller, Depends(principal_required(actions.INGEST))]


class ChangeOut(BaseModel):
    kind: ChangeKind = Field(
        description="indexed (new), updated (text, details or permissions), deleted, failed (a"
        " pushed record was rejected) or quarantined (a record could not be indexed; it is"
        " retried on the next run)"
    )
    record_id: str = Field(description="the record's id (``records[N]`` for one pushed without)")
    source: str | None = Field(description="``push`` for the API, else the connector's source")
    at: str = Field(description="UTC time of the change, ISO 8601")
    reason: str | None = Field(default=None, description="why, for failed and quarantined")


class ChangesOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "changes": [
                        {
                            "kind": "indexed",
                            "record_id": "CASE-1042-017",
                            "source": "push",
                            "at": "2024-03-02T10:15:02.114Z",
                        },
                        {
                            "kind": "failed",
                            "record_id": "CASE-1042-018",
                            "source": "push",
                            "at": "2024-03-02T10:15:02.120Z",
                            "reason": "missing or empty 'acl'",
                        },
                    ],
                    "next_cursor": "YzE6Mg",
                    "more": False,
                }
            ]
        }
    )

    changes: list[ChangeOut] = Field(description="oldest first")
    next_cursor: str = Field(description="pass as ``since`` for the changes after these")
    more: bool = Field(description="true when more changes are waiting now")


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The sequence number in a cursor this server gave; ``InvalidRequest`` otherwise."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if text.startswith(_PREFIX) and text[len(_PREFIX) :].isdigit():
            return int(text[len(_PREFIX) :])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise InvalidRequest("since: not a cursor from this server (pass back next_cursor)")


@router.get("/v1/changes", response_model=ChangesOut, tags=["ingest"], responses=_ROLE_ERRORS)
def changes(
    caller: IngestCaller,
    services: ServicesDep,
    since: Annotated[
        str | None,
        Query(
            max_length=64,
            pattern="^[A-Za-z0-9_-]+$",
            description="``next_cursor`` of the previous page; absent: from the oldest kept"
            f" change (the log keeps {RETENTION_DAYS} days)",
            examples=["YzE6Mg"],
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> ChangesOut:
    """What changed in the index since ``since``, oldest first (``role:ingest``)."""
    after = 0 if since is None else decode_cursor(since)
    log = ChangeLog(services.store.engine)
    if after > log.last_seq():
        raise InvalidRequest(
            "since: this cursor is ahead of the log (was the store rebuilt?): start again"
            " without since"
        )
    found = log.since(after, limit + 1, caller.all_principals)
    page = found[:limit]
    actions.record_change_feed_read(services, caller, [c.record_id for c in page])
    return ChangesOut(
        changes=[
            ChangeOut(kind=c.kind, record_id=c.record_id, source=c.source, at=c.at, reason=c.reason)
            for c in page
        ],
        next_cursor=encode_cursor(page[-1].seq if page else after),
        more=len(found) > limit,
    )
