"""How the record page shows a recording: the player's source starting at the cited time, and the
transcript one segment a line, the cited passage marked (``app/web/recording.py`` serves the
bytes; ``record.html`` renders this).

The player's source carries the start as a media fragment (``#t=12.3``), which browsers honour
without script; each line's time link reloads the page at that time, and ``casesearch.js``
seeks in place instead. The note under the heading names the model: the words are a machine's.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.media import clock, media_of
from app.web import present
from retrieval.models import Document
from retrieval.snippets import recording_time

MACHINE_NOTE = "Machine-made transcript ({model}); check against the recording"


@dataclass(frozen=True, slots=True)
class SegmentView:
    """One line of the transcript: when it was heard, and its text cut at the cited span."""

    start_s: float
    label: str  # "1:05"
    seek_url: str  # the record page playing from this segment
    pieces: list[present.Piece]
    cited: bool  # holds the first marked piece (it carries id="cited")


@dataclass(frozen=True, slots=True)
class RecordingView:
    kind: str  # "audio" or "video"
    src: str  # the bytes' URL with the start time as a media fragment
    mime: str
    start_s: float
    start_label: str
    cited_range: str  # "0:12 to 0:18", or "" without a citation
    note: str
    segments: list[SegmentView]


def recording_url(document_id: str) -> str:
    return "/recordings/" + present.record_url(document_id).removeprefix("/records/")


def recording_view(
    doc: Document, cited: tuple[int, int] | None, at: float | None
) -> RecordingView | None:
    """How the record page shows ``doc``'s recording (``None``: it is no recording).

    ``cited`` is the passage quoted in the search result (character offsets); ``at`` a time
    the user chose; without either, the recording starts at 0.
    """
    media = media_of(doc.extra)
    if media is None:
        return None
    span = recording_time(doc.extra, *cited) if cited is not None else None
    duration = float(media.get("duration_s") or 0.0)
    start = at if at is not None and 0 <= at <= duration else span[0] if span else 0.0
    segments: list[SegmentView] = []
    marked_once = False
    page = present.record_url(doc.id)
    for raw in media["segments"]:
        c0, c1, t0 = int(raw[0]), int(raw[1]), float(raw[2])
        spans = []
        if cited is not None and cited[0] < c1 and cited[1] > c0:
            spans.append((max(cited[0], c0) - c0, min(cited[1], c1) - c0))
        pieces = present.pieces(doc.text[c0:c1], spans)
        first_mark = bool(spans) and not marked_once
        marked_once = marked_once or bool(spans)
        segments.append(
            SegmentView(
                start_s=t0,
                label=clock(t0),
                seek_url=f"{page}?t={t0:g}#player",
                pieces=pieces,
                cited=first_mark,
            )
        )
    return RecordingView(
        kind="video" if media.get("kind") == "video" else "audio",
        src=f"{recording_url(doc.id)}#t={start:g}",
        mime=str(media.get("mime") or ""),
        start_s=start,
        start_label=clock(start),
        cited_range=f"{clock(span[0])} to {clock(span[1])}" if span else "",
        # "Moonshine base (moonshine-cpp 0.1.4)" is named "Moonshine base" in the note
        note=MACHINE_NOTE.format(model=str(media.get("model") or "speech model").split(" (")[0]),
        segments=segments,
    )
