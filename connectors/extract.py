"""Text extraction from the file types the files connector reads.

Every extractor takes the file's bytes (read once, so the hash and the text always describe
the same content) and returns ``Extracted`` or raises ``ExtractionError`` with a reason an
operator can act on. Third-party parsers see untrusted input, so their exceptions are caught
broadly and reported as "corrupt" rather than allowed to stop a run.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import io
import logging
import mimetypes
import re
import shutil
import subprocess
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from connectors.errors import ExtractionError as ExtractionError
from connectors.html_text import html_to_text
from connectors.limits import ExtractionLimits, text_too_long
from connectors.media import MEDIA_SUFFIXES, transcribe_file
from connectors.moonshine import MoonshineModel
from connectors.office import (
    DOC_UNAVAILABLE,
    MAX_CELLS,
    check_package,
    read_odt,
    read_xlsx,
    refuse_protected_package,
    run_antiword,
)
from connectors.rtf import rtf_to_text

_log = logging.getLogger(__name__)

OCR_UNAVAILABLE = "OCR unavailable: install tesseract-ocr"
NOT_TEXT = "not valid UTF-8 or Windows-1252 text"

TEXT_SUFFIXES = frozenset({".txt", ".md"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff"})
OFFICE_SUFFIXES = frozenset({".docx", ".odt", ".rtf", ".xlsx", ".doc"})
SUPPORTED_SUFFIXES = (
    TEXT_SUFFIXES
    | HTML_SUFFIXES
    | IMAGE_SUFFIXES
    | OFFICE_SUFFIXES
    | MEDIA_SUFFIXES
    | frozenset({".pdf", ".eml"})
)

# A page whose text layer is shorter than this (a scanner's stamp, a page number) and that
# carries images is OCRed as well: the body of a scanned page lives in its image.
_MIN_TEXT_LAYER_CHARS = 16
_MAX_EMAIL_DEPTH = 3
_SURROGATE = re.compile("[\ud800-\udfff]")
_MULTIPART_HEADER = re.compile(rb"^content-type:\s*multipart/", re.IGNORECASE | re.MULTILINE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.IGNORECASE)
# Attachment types known by MIME type, whatever the attachment's name says.
_MIME_SUFFIXES = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.oasis.opendocument.text": ".odt",
    "application/rtf": ".rtf",
    "text/rtf": ".rtf",
    "application/msword": ".doc",
}


@dataclass(frozen=True, slots=True)
class AttachmentFailure:
    name: str
    reason: str


@dataclass(frozen=True, slots=True)
class Extracted:
    """Text of one file plus what the file itself says about its metadata."""

    text: str
    title: str = ""
    created_at: dt.date | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    attachments: tuple[str, ...] = ()
    attachment_failures: tuple[AttachmentFailure, ...] = ()
    ocr_used: bool = False
    # a recording's segments and model (``connectors.media``); None for documents
    media: dict[str, Any] | None = None


class Extractor:
    """Dispatches on the file suffix. OCR runs only when enabled and Tesseract is installed.

    ``.doc`` files are read by the ``antiword`` program (found on ``PATH`` unless a path is
    given); ``max_cells`` bounds the cells read from one workbook; ``limits`` the text of one
    file, the XML of one Office document and the MIME nesting of one e-mail (its memory and
    time limits apply only in ``connectors.sandbox``, which runs an ``Extractor`` in a child
    process).
    """

    def __init__(
        self,
        *,
        ocr: bool = True,
        ocr_timeout_s: float = 300.0,
        ocr_lang: str = "eng",
        antiword: str = "antiword",
        doc_timeout_s: float = 120.0,
        max_cells: int = MAX_CELLS,
        limits: ExtractionLimits | None = None,
    ):
        self.limits = limits or ExtractionLimits()
        self.ocr = ocr
        self.ocr_timeout_s = ocr_timeout_s
        self.ocr_lang = ocr_lang
        self.antiword = antiword
        self.doc_timeout_s = doc_timeout_s
        self.max_cells = max_cells
        self._ocr_available: bool | None = None
        self._speech: MoonshineModel | None = None

    # --- dispatch -------------------------------------------------------------------------

    def extract(self, suffix: str, data: bytes) -> Extracted:
        """Extract the text of a file with this (lower-case, dotted) suffix.

        Raises ``ExtractionError`` for unsupported suffixes, unreadable content and text
        longer than ``limits.max_text_chars``. Lone surrogates (from undecodable bytes in
        e-mail headers, say) are replaced by U+FFFD so that the result is storable UTF-8.
        """
        extracted = _storable(self._extract(suffix, data, depth=0))
        if len(extracted.text) > self.limits.max_text_chars:
            raise ExtractionError(text_too_long(len(extracted.text), self.limits.max_text_chars))
        return extracted

    def extract_media(
        self, suffix: str, path: Path, *, progress: Callable[[float], None] | None = None
    ) -> Extracted:
        """The transcript of the recording at ``path`` (a copy the caller made of the bytes it
        hashed); see ``connectors.media.transcribe_file`` for ``progress`` and the reasons
        ``ExtractionError`` gives. The speech model is loaded on the first recording."""
        if suffix not in MEDIA_SUFFIXES:
            raise ExtractionError(f"unsupported recording type {suffix or '(no extension)'}")
        transcript = transcribe_file(
            path,
            suffix,
            max_seconds=self.limits.max_media_seconds,
            timeout_s=self.limits.timeout_s,
            model=self._speech_model,
            progress=progress,
        )
        if len(transcript.text) > self.limits.max_text_chars:
            raise ExtractionError(text_too_long(len(transcript.text), self.limits.max_text_chars))
        return Extracted(text=transcript.text, media=transcript.media)

    def _speech_model(self) -> MoonshineModel:
        if self._speech is None:
            self._speech = MoonshineModel()
        return self._speech

    def _extract(self, suffix: str, data: bytes, *, depth: int) -> Extracted:
        if suffix in TEXT_SUFFIXES:
            return Extracted(text=decode_text(data))
        if suffix in HTML_SUFFIXES:
            text, title = html_to_text(decode_html(data))
            return Extracted(text=text, title=title)
        if suffix == ".pdf":
            return self._pdf(data)
        if suffix == ".docx":
            return _read_dated("DOCX", self._docx_text, data)
        if suffix == ".odt":
            return _read_dated("ODT", lambda raw: _dated_odt(raw, self.limits), data)
        if suffix == ".rtf":
            return _read("RTF", rtf_to_text, data)
        if suffix == ".xlsx":
            return _read(
                "XLSX",
                lambda raw: (read_xlsx(raw, max_cells=self.max_cells, limits=self.limits), ""),
                data,
            )
        if suffix == ".doc":
            return self._doc(data)
        if suffix == ".eml":
            return self._eml(data, depth=depth)
        if suffix in IMAGE_SUFFIXES:
            return Extracted(text=self._ocr_image_bytes(data), ocr_used=True)
        if suffix in MEDIA_SUFFIXES:  # an e-mailed voice note: not read from an attachment
            raise ExtractionError(
                "a recording attached to an e-mail is not transcribed: save it as a file of its own"
            )
        raise ExtractionError(f"unsupported file type {suffix or '(no extension)'}")

    # --- OCR ------------------------------------------------------------------------------

    def ocr_available(self) -> bool:
        """True when OCR is enabled and pytesseract finds the tesseract binary (cached)."""
        if not self.ocr:
            return False
        if self._ocr_available is None:
            import pytesseract

            command = str(pytesseract.pytesseract.tesseract_cmd)
            self._ocr_available = shutil.which(command) is not None
        return self._ocr_available

    def _require_ocr(self) -> None:
        if not self.ocr:
            raise ExtractionError("the text is in images and OCR is switched off")
        if not self.ocr_available():
            raise ExtractionError(OCR_UNAVAILABLE)

    def _ocr_image_bytes(self, data: bytes) -> str:
        self._require_ocr()
        from PIL import Image, ImageSequence

        try:
            with Image.open(io.BytesIO(data)) as image:
                # Multi-page TIFFs: every frame is a page.
                frames = [frame.copy() for frame in ImageSequence.Iterator(image)]
        except Image.DecompressionBombError:
            raise ExtractionError("image too large to decode safely") from None
        except Exception as exc:  # Pillow raises many types on damaged files
            raise ExtractionError(f"corrupt or unreadable image: {_short(exc)}") from None
        return "\n\n".join(page for page in map(self._ocr, frames) if page)

    def _ocr(self, image: Any) -> str:
        import pytesseract

        try:
            prepared = _prepare_for_ocr(image)
        except Exception as exc:
            raise ExtractionError(f"corrupt or unreadable image: {_short(exc)}") from None
        try:
            text = pytesseract.image_to_string(
                prepared, lang=self.ocr_lang, timeout=self.ocr_timeout_s
            )
        except pytesseract.TesseractNotFoundError:
            self._ocr_available = False
            raise ExtractionError(OCR_UNAVAILABLE) from None
        except (
            pytesseract.TesseractError,
            RuntimeError,
            OSError,
            subprocess.SubprocessError,
        ) as exc:
            raise ExtractionError(f"OCR failed: {_short(exc)}") from None
        return _tidy(str(text))

    # --- legacy Word ----------------------------------------------------------------------

    def _doc(self, data: bytes) -> Extracted:
        # Word happily saves RTF and DOCX under a .doc name; read those without antiword.
        if data.lstrip().startswith(b"{\\rtf"):
            return _read("RTF", rtf_to_text, data)
        if data.startswith(b"PK\x03\x04"):
            return _read_dated("DOCX", self._docx_text, data)
        command = shutil.which(self.antiword)
        if command is None:
            raise ExtractionError(DOC_UNAVAILABLE)
        return _read(
            "DOC",
            lambda raw: (run_antiword(raw, antiword=command, timeout_s=self.doc_timeout_s), ""),
            data,
        )

    # --- PDF ------------------------------------------------------------------------------

    def _pdf(self, data: bytes) -> Extracted:
        from pypdf import PasswordType, PdfReader
        from pypdf.errors import DependencyError

        try:
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted:
                try:
                    # Many "encrypted" PDFs only restrict printing and open with no password.
                    opened = reader.decrypt("")
                except DependencyError:
                    raise ExtractionError(
                        "encrypted PDF: decrypting it needs the 'cryptography' package"
                    ) from None
                except Exception as exc:  # an unsupported or damaged security handler
                    raise ExtractionError(f"encrypted PDF: cannot decrypt: {_short(exc)}") from None
                if opened == PasswordType.NOT_DECRYPTED:
                    raise ExtractionError("encrypted PDF: a password is needed to open it")
            pages = list(reader.pages)
        except ExtractionError:
            raise
        except Exception as exc:  # pypdf raises many types on damaged files
            raise ExtractionError(f"corrupt or unreadable PDF: {_short(exc)}") from None

        texts: list[str] = []
        ocr_used = False
        skipped_scans = 0
        for number, page in enumerate(pages, start=1):
            try:
                text = _tidy(page.extract_text() or "")
            except Exception as exc:  # a damaged content stream on one page
                raise ExtractionError(
                    f"corrupt or unreadable PDF (page {number}): {_short(exc)}"
                ) from None
            images = _page_images(page) if len(text) < _MIN_TEXT_LAYER_CHARS else []
            if images and not self.ocr:
                skipped_scans += 1
            elif images:
                if not self.ocr_available():
                    # Failing the whole file (not indexing the other pages) keeps a scanned
                    # page from going missing silently; the file is retried on the next run.
                    raise ExtractionError(
                        f"{OCR_UNAVAILABLE} (page {number} of {len(pages)} is a scan "
                        "without a text layer)"
                    )
                ocr_text = "\n".join(filter(None, (self._ocr(image) for image in images)))
                ocr_used = True
                text = "\n".join(filter(None, (text, ocr_text)))
            if text:
                texts.append(text)
        if not texts and skipped_scans:
            raise ExtractionError("the PDF has only scanned pages and OCR is switched off")
        title, created = _pdf_properties(reader)
        return Extracted(
            text="\n\n".join(texts),
            title=title,
            created_at=created,
            metadata={"date_source": "pdf_metadata"} if created is not None else {},
            ocr_used=ocr_used,
        )

    # --- e-mail ---------------------------------------------------------------------------

    def _eml(self, data: bytes, *, depth: int) -> Extracted:
        message = self._parse_email(data)
        metadata = {
            key: value
            for key, header in (("email_from", "from"), ("email_to", "to"), ("email_cc", "cc"))
            if (value := _header(message, header))
        }
        sent = _email_date(message)
        if sent is not None:
            metadata["email_date"] = sent.isoformat()
            metadata["date_source"] = "email_header"

        parts: list[str] = []
        body = message.get_body(preferencelist=("plain", "html"))
        if isinstance(body, EmailMessage):
            parts.append(_part_text(body))

        names: list[str] = []
        failures: list[AttachmentFailure] = []
        ocr_used = False
        for index, attachment in enumerate(_attachments(message), start=1):
            name = attachment.get_filename() or f"attachment-{index}"
            names.append(name)
            try:
                extracted = self._attachment(attachment, name, depth=depth)
            except ExtractionError as exc:
                failures.append(AttachmentFailure(name, exc.reason))
                continue
            ocr_used = ocr_used or extracted.ocr_used
            if extracted.text.strip():
                parts.append(f"Attachment: {name}\n{extracted.text}")
        return Extracted(
            text="\n\n".join(part for part in parts if part.strip()),
            title=_header(message, "subject"),
            created_at=sent.date() if sent is not None else None,
            metadata=metadata,
            attachments=tuple(names),
            attachment_failures=tuple(failures),
            ocr_used=ocr_used,
        )

    def _parse_email(self, data: bytes) -> EmailMessage:
        """Parse an e-mail whose MIME tree is within ``limits``; else ``ExtractionError``.

        Python's parser recurses once per nesting level: 3,000 nested multiparts raised
        ``RecursionError`` and stopped the run. The multipart headers are counted in the bytes
        first, and the parsed tree's depth is measured without recursion.
        """
        limits = self.limits
        parts = len(_MULTIPART_HEADER.findall(data))
        if parts > limits.max_mime_parts:
            raise ExtractionError(
                f"the e-mail has {parts:,} multipart sections, more than the "
                f"{limits.max_mime_parts:,} allowed"
            )
        too_deep = (
            f"the e-mail's MIME parts are nested more than {limits.max_mime_depth} levels deep "
            "(the limit)"
        )
        try:
            message = email.message_from_bytes(data, policy=email.policy.default)
        except RecursionError:
            raise ExtractionError(too_deep) from None
        if not isinstance(message, EmailMessage):  # policy.default always builds one
            raise ExtractionError("unreadable e-mail")
        stack: list[tuple[Any, int]] = [(message, 1)]
        while stack:
            part, level = stack.pop()
            if level > limits.max_mime_depth:
                raise ExtractionError(too_deep)
            payload = part.get_payload() if part.is_multipart() else None
            if isinstance(payload, list):
                stack.extend((child, level + 1) for child in payload)
        return message

    def _docx_text(self, data: bytes) -> tuple[str, str, dt.date | None]:
        return _docx_text(data, self.limits)

    def _attachment(self, part: EmailMessage, name: str, *, depth: int) -> Extracted:
        content_type = part.get_content_type()
        if content_type == "message/rfc822":
            if depth >= _MAX_EMAIL_DEPTH:
                raise ExtractionError("e-mails nested too deeply")
            inner = part.get_payload(0) if part.is_multipart() else None
            if not isinstance(inner, EmailMessage):
                raise ExtractionError("unreadable attached e-mail")
            return self._eml(inner.as_bytes(), depth=depth + 1)
        suffix = (
            _MIME_SUFFIXES.get(content_type)
            or _suffix(name)
            or mimetypes.guess_extension(content_type)
            or ""
        )
        if suffix not in SUPPORTED_SUFFIXES and part.get_content_maintype() == "text":
            suffix = ".html" if part.get_content_subtype() == "html" else ".txt"
        if suffix not in SUPPORTED_SUFFIXES:
            raise ExtractionError(f"unsupported attachment type {content_type}")
        if part.get_content_maintype() == "text" and suffix in TEXT_SUFFIXES | HTML_SUFFIXES:
            return Extracted(text=_part_text(part))
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            raise ExtractionError("attachment has no content")
        return self._extract(suffix, payload, depth=depth + 1)


# --- plain text -------------------------------------------------------------------------------


def decode_text(data: bytes) -> str:
    """Decode text bytes: a BOM if present, else UTF-8, else Windows-1252.

    Windows-1252 is accepted only when the result is not control-character garbage (the usual
    sign of a binary file). Stray control characters in otherwise good text are removed.
    Raises ``ExtractionError`` with ``NOT_TEXT`` otherwise.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        candidates: tuple[str, ...] = ("utf-8-sig",)
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ("utf-16",)
    else:
        candidates = ("utf-8", "cp1252")
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if not _is_garbage(text):
            return _CONTROL.sub("", text)
    raise ExtractionError(NOT_TEXT)


def decode_html(data: bytes) -> str:
    """Decode HTML bytes, honouring a ``<meta charset>`` when UTF-8 fails."""
    try:
        return decode_text(data)
    except ExtractionError:
        match = _META_CHARSET.search(data[:4096])
        if match is None:
            raise
        try:
            return data.decode(match.group(1).decode("ascii"))
        except (LookupError, UnicodeDecodeError):
            raise ExtractionError(NOT_TEXT) from None


def _is_garbage(text: str) -> bool:
    if "\x00" in text:
        return True
    controls = len(_CONTROL.findall(text))
    return controls > max(1, len(text) // 100)


def _tidy(text: str) -> str:
    """Trim trailing blanks on lines, drop form feeds and runs of blank lines."""
    lines = [line.rstrip() for line in text.replace("\f", "\n").splitlines()]
    out: list[str] = []
    for line in lines:
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    return "\n".join(out).strip()


def _prepare_for_ocr(image: Any) -> Any:
    from PIL import Image, ImageOps

    image = ImageOps.exif_transpose(image) or image
    if image.mode in ("RGBA", "LA", "P", "PA"):
        # Transparent scans: flatten on white, or Tesseract reads black on black.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, "white")
        return Image.alpha_composite(background, rgba).convert("L")
    if image.mode not in ("1", "L", "RGB"):
        return image.convert("RGB")
    return image


# --- PDF helpers ------------------------------------------------------------------------------


def _page_images(page: Any) -> list[Any]:
    """Decoded images of a page; raises when the page has images and none can be decoded."""
    images: list[Any] = []
    errors: list[str] = []
    try:
        for image_file in page.images:
            try:
                image = image_file.image
            except Exception as exc:  # an unsupported image filter (e.g. JBIG2)
                errors.append(_short(exc))
                continue
            if image is not None:
                images.append(image)
    except Exception as exc:
        raise ExtractionError(f"corrupt or unreadable PDF images: {_short(exc)}") from None
    if errors and not images:
        raise ExtractionError(f"cannot decode the scanned image(s) of a page: {errors[0]}")
    if errors:
        _log.warning("skipped %d undecodable image(s) on a PDF page: %s", len(errors), errors[0])
    return images


# --- office documents -------------------------------------------------------------------------


def _read(kind: str, reader: Callable[[bytes], tuple[str, str]], data: bytes) -> Extracted:
    """Run a reader of (text, title); whatever a damaged file makes it raise is "corrupt"."""
    return _read_dated(kind, lambda raw: (*reader(raw), None), data)


def _read_dated(
    kind: str, reader: Callable[[bytes], tuple[str, str, dt.date | None]], data: bytes
) -> Extracted:
    """``_read`` for a reader that also gives the document's own date (``date_source`` is then
    ``<kind>_metadata``, e.g. ``docx_metadata``)."""
    try:
        text, title, created = reader(data)
    except ExtractionError:
        raise
    except Exception as exc:  # zipfile, XML and openpyxl errors on damaged files
        raise ExtractionError(f"corrupt or unreadable {kind}: {_short(exc)}") from None
    return Extracted(
        text=_tidy(text),
        title=" ".join(title.split()),
        created_at=created,
        metadata={"date_source": f"{kind.lower()}_metadata"} if created is not None else {},
    )


def _docx_text(data: bytes, limits: ExtractionLimits) -> tuple[str, str, dt.date | None]:
    """(text, title, date) of a DOCX: paragraphs and tables in document order, the core
    properties' title and created (else modified) date (read through ``_read_dated``, which
    reports whatever a damaged file raises as corrupt)."""
    from docx import Document
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    refuse_protected_package(data, "DOCX")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        check_package(archive, "DOCX", limits)
    document = Document(io.BytesIO(data))

    def blocks(container: Any) -> Iterator[str]:
        for item in container.iter_inner_content():
            if isinstance(item, Paragraph):
                yield item.text
            elif isinstance(item, Table):
                yield from table_rows(item)

    def table_rows(table: Table) -> Iterator[str]:
        for row in table.rows:
            cells: list[str] = []
            seen: set[int] = set()
            for cell in row.cells:
                if id(cell._tc) in seen:  # a merged cell repeats across the span
                    continue
                seen.add(id(cell._tc))
                cells.append(" ".join(line for line in blocks(cell) if line.strip()))
            if any(cells):
                yield " | ".join(cells)

    properties = document.core_properties
    created: dt.datetime | None = None
    # python-docx's blank template carries this stamp: a file a program built from it without
    # setting the date says nothing about when the document was written.
    if (properties.author or "") != "python-docx" or properties.created != _PYTHON_DOCX_STAMP:
        created = properties.created or properties.modified
    return "\n".join(blocks(document)), str(properties.title or ""), _plausible_date(created)


# --- document properties ------------------------------------------------------------------------

_PYTHON_DOCX_STAMP = dt.datetime(2013, 12, 23, 23, 15, tzinfo=dt.UTC)
# Word's "Save as PDF" and PDF printers put the program and file name in the title.
_PRINTED_TITLE = re.compile(
    r"^(?:Microsoft (?:Word|Excel|PowerPoint) - )?(?P<name>.*?)"
    r"(?:\.(?:docx?|odt|rtf|xlsx?|pdf))?$",
    re.IGNORECASE,
)
_PLACEHOLDER_TITLES = frozenset({"untitled", "document", "title", "untitled document"})
_EARLIEST_DATE = dt.date(1980, 1, 1)


def _dated_odt(data: bytes, limits: ExtractionLimits) -> tuple[str, str, dt.date | None]:
    text, title, created = read_odt(data, limits=limits)
    return text, title, _plausible_date(created)


def _plausible_date(value: dt.date | None) -> dt.date | None:
    """The day of a document-property timestamp, or ``None`` for a value no author wrote.

    Dates before 1980 (an epoch a program filled in) or after tomorrow (a clock set wrong)
    are dropped so that the next source of a date is used instead.
    """
    if value is None:
        return None
    day = value.date() if isinstance(value, dt.datetime) else value
    if day < _EARLIEST_DATE or day > dt.date.today() + dt.timedelta(days=1):
        return None
    return day


def _pdf_properties(reader: Any) -> tuple[str, dt.date | None]:
    """Title and creation (else modification) date from a PDF's document information.

    A malformed information dictionary or date gives nothing rather than failing the file;
    "Microsoft Word - Plan.docx" becomes "Plan" and placeholder titles ("Untitled") are
    dropped.
    """
    try:
        info = reader.metadata
    except Exception:  # a damaged trailer: the text was read, the properties are optional
        return "", None
    if info is None:
        return "", None
    created: dt.datetime | None = None
    for name in ("creation_date", "modification_date"):
        try:
            value = getattr(info, name)
        except Exception:  # pypdf raises on dates that do not follow the PDF format
            _log.debug("PDF %s is not a date; not used", name)
            continue
        if isinstance(value, dt.datetime) and _plausible_date(value) is not None:
            created = value
            break
    try:
        raw_title = info.title
    except Exception:
        raw_title = None
    title = " ".join(str(raw_title or "").split())
    match = _PRINTED_TITLE.match(title)
    if match is not None:
        title = match.group("name").strip()
    if title.lower() in _PLACEHOLDER_TITLES:
        title = ""
    return title, _plausible_date(created)


# --- e-mail helpers ---------------------------------------------------------------------------


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:  # malformed header under the strict default policy
        return ""
    return " ".join(str(value).split()) if value is not None else ""


def _email_date(message: EmailMessage) -> dt.datetime | None:
    try:
        header = message.get("date")
        value = getattr(header, "datetime", None)
    except Exception:
        return None
    return value if isinstance(value, dt.datetime) else None


def _attachments(message: EmailMessage) -> Iterator[EmailMessage]:
    try:
        for part in message.iter_attachments():
            if isinstance(part, EmailMessage):
                yield part
    except Exception:  # a malformed MIME tree: keep what was read
        return


def _part_text(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except (LookupError, ValueError, KeyError):
        raw = part.get_payload(decode=True)
        content = decode_text(raw) if isinstance(raw, bytes) else ""
    if not isinstance(content, str):
        return ""
    if part.get_content_subtype() == "html":
        return html_to_text(content)[0]
    return _tidy(_CONTROL.sub("", content))


def _storable(extracted: Extracted) -> Extracted:
    """``extracted`` with every lone surrogate replaced by U+FFFD (they cannot be stored)."""

    def clean(text: str) -> str:
        return _SURROGATE.sub("\ufffd", text)

    return Extracted(
        text=clean(extracted.text),
        title=clean(extracted.title),
        created_at=extracted.created_at,
        metadata={clean(k): clean(v) for k, v in extracted.metadata.items()},
        attachments=tuple(map(clean, extracted.attachments)),
        attachment_failures=tuple(
            AttachmentFailure(clean(f.name), clean(f.reason)) for f in extracted.attachment_failures
        ),
        ocr_used=extracted.ocr_used,
        media=extracted.media,
    )


def _suffix(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
