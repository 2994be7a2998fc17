"""Limits that keep one input from stopping, hanging or exhausting an indexing run.

Every cap turns an input past it into a ``Failure`` for that file or line; nothing is cut
short silently. The defaults and the reasoning behind each are in ``connectors/README.md``
("Limits"); the application builds an ``ExtractionLimits`` from its settings and passes it
to ``connectors.registry.connector_from_source``.
"""

from __future__ import annotations

from dataclasses import dataclass

# A 500-page court bundle of dense text is about 1.5 million characters (3,000 a page); the
# longest real case documents are far shorter. Five million leaves three times that headroom
# and stays four times under spaCy's 20,000,000-character ``nlp.max_length``.
MAX_TEXT_CHARS = 5_000_000
# XML elements in all the parts of one DOCX, ODT or XLSX together. A 300-page report has a
# few hundred thousand; a workbook at the 1,000,000-cell limit about three million (row, cell
# and value elements plus shared strings).
MAX_XML_ELEMENTS = 4_000_000
# libxml2 (under python-docx) refuses documents nested deeper than 256 without its "huge"
# option; real documents stay under 30 (tables in tables in text boxes).
MAX_XML_DEPTH = 256
# MIME parts nested in parts (multipart in multipart, attached e-mails). Mail programs nest a
# handful of levels; Python's e-mail parser recurses per level and overflows the stack at a
# few hundred.
MAX_MIME_DEPTH = 32
# Multipart containers in one e-mail, counted in its bytes before it is parsed.
MAX_MIME_PARTS = 1_000
# Memory (address space) of the process that reads untrusted formats. Its peak RSS on ordinary
# documents is about 50 MiB; a file at the 50 MB size limit has room for several copies.
EXTRACTION_MEMORY_BYTES = 1 << 30
# Wall-clock seconds to read one file, OCR included (the OCR step's own per-image timeout is
# 300 s, so a lower limit would cut off what it allows).
EXTRACTION_TIMEOUT_S = 300.0
# A recording longer than this is a failure: a visit or a meeting is rarely past two hours,
# and transcribing four hours takes about 1.3 to 2.7 hours on one core here (real-time factor
# 0.32 on a quiet machine, 0.66 with the machine shared; reports/bench/transcription.json).
MAX_MEDIA_SECONDS = 4 * 3600.0
# Audio and video files may be larger than documents (``max_bytes``): a 4-hour MP3 at
# 128 kbit/s is 230 MB, an hour of phone video about 1 GB.
MAX_MEDIA_BYTES = 2_000_000_000


@dataclass(frozen=True, slots=True)
class ExtractionLimits:
    """Caps on what one file or record may cost; each is a ``Failure`` past it.

    ``max_text_chars`` bounds a record's text (files, JSONL lines); ``max_xml_elements`` and
    ``max_xml_depth`` the XML of one Office document; ``max_mime_depth`` and
    ``max_mime_parts`` one e-mail; ``memory_bytes`` and ``timeout_s`` the child process that
    extracts PDF, Office, e-mail, RTF, image, audio and video files (``isolate=False`` reads
    them in the calling process instead, without those two limits). ``max_media_seconds``
    bounds a recording's length and ``max_media_bytes`` an audio or video file's size; for a
    recording ``timeout_s`` applies to decoding and to each segment's transcription, not to
    the whole file. Raises ``ValueError`` for a limit that is not positive.
    """

    max_text_chars: int = MAX_TEXT_CHARS
    max_xml_elements: int = MAX_XML_ELEMENTS
    max_xml_depth: int = MAX_XML_DEPTH
    max_mime_depth: int = MAX_MIME_DEPTH
    max_mime_parts: int = MAX_MIME_PARTS
    memory_bytes: int = EXTRACTION_MEMORY_BYTES
    timeout_s: float = EXTRACTION_TIMEOUT_S
    isolate: bool = True
    max_media_seconds: float = MAX_MEDIA_SECONDS
    max_media_bytes: int = MAX_MEDIA_BYTES

    def __post_init__(self) -> None:
        for name in (
            "max_text_chars",
            "max_xml_elements",
            "max_xml_depth",
            "max_mime_depth",
            "max_mime_parts",
            "memory_bytes",
            "timeout_s",
            "max_media_seconds",
            "max_media_bytes",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")


def describe_bytes(count: int) -> str:
    """``1 GiB``, ``512 MiB`` or ``12,345 bytes``: a memory limit as an operator reads it."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20)):
        if count >= size and count % size == 0:
            return f"{count // size} {unit}"
    if count >= 1 << 20:
        return f"{count / (1 << 20):.1f} MiB"
    return f"{count:,} bytes"


def text_too_long(length: int, limit: int) -> str:
    """The reason for a text over ``limit`` characters."""
    return (
        f"the text has {length:,} characters, more than the {limit:,}-character limit; "
        "split the document"
    )
