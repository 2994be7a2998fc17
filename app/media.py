"""Recordings for the record page: where their bytes are kept, and how they are sent.

The bytes come from the copy the indexer kept when it transcribed the recording
(``<data_dir>/media/<sha256>``, ``connectors.media.MediaCopies``), never from the source folder:
the server plays exactly what was transcribed, needs no access to the council's file share,
and an erased or deleted record's sound goes with its copy. Copies are pruned after every
``files:`` run and every erasure to the hashes a stored record still names.

Sending is a plain ``200`` or, for a ``Range: bytes=…`` request (browsers seek with them), a
``206`` of one range; several ranges or an unsatisfiable one get ``416``. Every answer is
``Cache-Control: no-store``: a recording of a visit is personal data, and a shared cache must
never hold it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Response
from fastapi.responses import StreamingResponse

from app.settings import Settings
from connectors.media import MediaCopies

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_BLOCK = 1 << 16
MEDIA_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # the bytes are never a page: nothing in them may run or be framed
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Content-Disposition": "inline",
}


def media_copies(settings: Settings) -> MediaCopies:
    """The kept recordings of this deployment: ``<data_dir>/media``."""
    return MediaCopies(settings.data_dir / "media")


@dataclass(frozen=True, slots=True)
class Recording:
    """A recording a caller may play: its kept copy and its MIME type."""

    path: Path
    mime: str


def media_of(extra: Any) -> dict[str, Any] | None:
    """A record's ``extra["media"]`` when it is a transcribed recording, else ``None``."""
    media = extra.get("media") if hasattr(extra, "get") else None
    if isinstance(media, dict) and isinstance(media.get("segments"), list):
        return media
    return None


def send_recording(recording: Recording, range_header: str | None) -> Response:
    """The recording's bytes (all, or the one range asked for), with ``MEDIA_HEADERS``."""
    size = recording.path.stat().st_size
    headers = {**MEDIA_HEADERS, "Accept-Ranges": "bytes"}
    first, last = 0, size - 1
    status = 200
    if range_header is not None:
        wanted = _parse_range(range_header.strip(), size)
        if wanted is None:
            return Response(
                status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"}
            )
        first, last = wanted
        status = 206
        headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    headers["Content-Length"] = str(last - first + 1)
    return StreamingResponse(
        _read(recording.path, first, last),
        status_code=status,
        media_type=recording.mime,
        headers=headers,
    )


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """``(first, last)`` byte of a single ``bytes=`` range within ``size``; ``None`` when it
    cannot be satisfied (several ranges included: a player never asks for them)."""
    match = _RANGE.match(header)
    if match is None or size == 0:
        return None
    start, end = match.groups()
    if not start and not end:
        return None
    if not start:  # the last N bytes
        length = int(end)
        if length == 0:
            return None
        return max(0, size - length), size - 1
    first = int(start)
    last = min(int(end), size - 1) if end else size - 1
    if first >= size or last < first:
        return None
    return first, last


def _read(path: Path, first: int, last: int) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        handle.seek(first)
        remaining = last - first + 1
        while remaining > 0:
            block = handle.read(min(_BLOCK, remaining))
            if not block:
                return
            remaining -= len(block)
            yield block


def clock(seconds: float) -> str:
    """``1:05`` or ``1:02:05``: a time in a recording as a player shows it."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
