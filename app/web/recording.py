"""A record's recording at ``/recordings/{id}``, for the record page's player.

The bytes go only to a signed-in user who may see the record, through the same check, audit
event (``view``, detail ``opened: recording``) and 404 page as the record page
(``actions.open_recording``); ``app.media.send_recording`` answers Range requests and sends
``Cache-Control: no-store``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response

from app.actions import open_recording
from app.api.deps import ServicesDep
from app.errors import NotFound
from app.media import send_recording
from app.web.forms import MAX_ID_CHARS
from app.web.routes import PageSession, not_found_page

router = APIRouter(include_in_schema=False)


@router.get("/recordings/{document_id:path}")
def recording_bytes(
    document_id: str,
    request: Request,
    services: ServicesDep,
    session: PageSession,
    range_header: Annotated[str | None, Header(alias="range")] = None,
) -> Response:
    """The recording of a record the signed-in user may see (Range requests answered);
    otherwise the record page's own 404, audited alike."""
    if not document_id or len(document_id) > MAX_ID_CHARS:
        return not_found_page(request, services, session)
    try:
        recording = open_recording(services, session.caller, document_id)
    except NotFound:
        return not_found_page(request, services, session)
    return send_recording(recording, range_header)
