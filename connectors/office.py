"""Readers for OpenDocument text, Excel workbooks and legacy Word files.

Each returns the text (lines separated by ``\\n``, not yet tidied) and raises
``ExtractionError`` for what it recognises (encryption, limits, a missing program); anything
else a damaged file makes it raise is reported as "corrupt" by the caller.
"""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import tempfile
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

from connectors.errors import ExtractionError
from connectors.limits import ExtractionLimits
from connectors.xml_guard import check_xml_parts

# A ZIP-based document whose parts unpack to more than this is refused (a "ZIP bomb").
MAX_UNPACKED_BYTES = 500_000_000
# A workbook with more cells than this (empty rows count as one) is refused, not truncated.
MAX_CELLS = 1_000_000
DOC_UNAVAILABLE = "legacy .doc needs antiword; install it or save as .docx"

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def refuse_protected_package(data: bytes, kind: str) -> None:
    """Raise a clear ``ExtractionError`` when a ZIP-based Office file is not a ZIP at all.

    Office saves a password-protected .docx/.xlsx as an OLE2 file holding an
    ``EncryptedPackage``; an OLE2 file without one is a legacy binary file renamed.
    """
    if not data.startswith(_OLE_MAGIC):
        return
    if "EncryptedPackage".encode("utf-16-le") in data:
        raise ExtractionError(f"encrypted {kind}: a password is needed to open it")
    raise ExtractionError(
        f"not a {kind} file: it is an older binary Office file; save it in the {kind} format"
    )


def check_unpacked_size(archive: zipfile.ZipFile, kind: str) -> None:
    """Raise ``ExtractionError`` when the archive's parts unpack to more than the limit.

    The sizes are the ones the archive declares; ``zipfile`` never inflates a part past its
    declared size (it fails the CRC check instead), so they bound what reading costs.
    """
    total = sum(info.file_size for info in archive.infolist())
    if total > MAX_UNPACKED_BYTES:
        raise ExtractionError(
            f"{kind} unpacks to {total:,} bytes, more than the {MAX_UNPACKED_BYTES:,}-byte limit"
        )


def check_package(archive: zipfile.ZipFile, kind: str, limits: ExtractionLimits) -> None:
    """Raise ``ExtractionError`` when the archive unpacks past ``MAX_UNPACKED_BYTES`` or its
    XML parts hold more elements, or deeper nesting, than ``limits`` allow (checked by
    streaming, before a parser builds anything)."""
    check_unpacked_size(archive, kind)
    check_xml_parts(archive, kind, limits)


# --- OpenDocument text ----------------------------------------------------------------------

_NS = {
    "dc": "http://purl.org/dc/elements/1.1/",
    "meta": "urn:oasis:names:tc:opendocument:xmlns:meta:1.0",
    "draw": "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0",
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
}


def _tag(name: str) -> str:
    prefix, local = name.split(":")
    return f"{{{_NS[prefix]}}}{local}"


_PARAGRAPHS = frozenset({_tag("text:p"), _tag("text:h")})
_TABLE = _tag("table:table")
_ROW = _tag("table:table-row")
_ROW_GROUPS = frozenset(
    {_tag("table:table-header-rows"), _tag("table:table-rows"), _tag("table:table-row-group")}
)
_CELL = _tag("table:table-cell")
_NESTED_BLOCKS = _PARAGRAPHS | {_TABLE, _tag("text:list")}
_SPACE = _tag("text:s")
_INLINE_BREAKS = {_tag("text:tab"): "\t", _tag("text:line-break"): "\n"}
# Not text a reader sees: deleted tracked changes, comments, declarations, form controls.
_NOT_TEXT = frozenset(
    {
        _tag("text:tracked-changes"),
        _tag("office:annotation"),
        _tag("office:annotation-end"),
        _tag("text:note-citation"),
        _tag("text:sequence-decls"),
        _tag("text:variable-decls"),
        _tag("text:user-field-decls"),
        _tag("office:forms"),
    }
)


def read_odt(
    data: bytes, *, limits: ExtractionLimits | None = None
) -> tuple[str, str, dt.date | None]:
    """Text of an OpenDocument text file, its ``dc:title`` (empty when it has none) and the
    day of its ``meta:creation-date`` (else ``dc:date``, last saved; None without either).

    Paragraphs, headings and list items in document order; table rows with cells joined by
    `` | `` (covered cells of a merge skipped, repeated rows and cells read once); text boxes
    and notes after the paragraph that holds them. Raises ``ExtractionError`` for an
    encrypted file, one without ``content.xml``, one that declares a DTD, or one past
    ``limits`` (``check_package``).
    """
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        check_package(archive, "ODT", limits or ExtractionLimits())
        if "META-INF/manifest.xml" in names and (
            b"encryption-data" in archive.read("META-INF/manifest.xml")
        ):
            raise ExtractionError("encrypted ODT: a password is needed to open it")
        if "content.xml" not in names:
            raise ExtractionError("not an OpenDocument file: it has no content.xml")
        content = _parse_xml(archive.read("content.xml"))
        meta = _parse_xml(archive.read("meta.xml")) if "meta.xml" in names else None
    body = content.find("office:body", _NS)
    if body is None:
        raise ExtractionError("not an OpenDocument file: content.xml has no body")
    title = meta.findtext("office:meta/dc:title", "", _NS) if meta is not None else ""
    created: dt.date | None = None
    for field in ("office:meta/meta:creation-date", "office:meta/dc:date"):
        written = (meta.findtext(field, "", _NS) if meta is not None else "").strip()
        try:
            created = dt.date.fromisoformat(written[:10])
        except ValueError:
            continue
        break
    return "\n".join(_blocks(body)), title, created


def _parse_xml(data: bytes) -> ElementTree.Element:
    # No document part uses a DTD; refusing one rules out entity expansion attacks.
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise ExtractionError("the document's XML declares a DTD, which is not allowed")
    return ElementTree.fromstring(data)  # noqa: S314 (no DTD, so no entities to expand)


def _blocks(container: ElementTree.Element) -> Iterator[str]:
    for child in container:
        yield from _block(child)


def _block(element: ElementTree.Element) -> Iterator[str]:
    if element.tag in _PARAGRAPHS:
        parts: list[str] = []
        nested: list[str] = []
        _inline(element, parts, nested)
        yield "".join(parts)
        yield from nested
    elif element.tag == _TABLE:
        yield from _table_rows(element)
    elif element.tag not in _NOT_TEXT:
        yield from _blocks(element)


def _inline(element: ElementTree.Element, parts: list[str], nested: list[str]) -> None:
    """Collect a paragraph's text into ``parts``; blocks inside it (text boxes) into ``nested``."""
    if element.text:
        parts.append(element.text)
    for child in element:
        if child.tag == _SPACE:
            parts.append(" " * _count(child.get(_tag("text:c"))))
        elif child.tag in _INLINE_BREAKS:
            parts.append(_INLINE_BREAKS[child.tag])
        elif child.tag in _NESTED_BLOCKS:
            nested.extend(_block(child))
        elif child.tag not in _NOT_TEXT:
            _inline(child, parts, nested)
        if child.tail:
            parts.append(child.tail)


def _count(value: str | None) -> int:
    try:
        return min(max(int(value or 1), 1), 1000)
    except ValueError:
        return 1


def _table_rows(table: ElementTree.Element) -> Iterator[str]:
    for row in _rows(table):
        cells = [
            " ".join(line.strip() for line in _blocks(cell) if line.strip())
            for cell in row
            if cell.tag == _CELL
        ]
        if any(cells):
            yield " | ".join(cells)


def _rows(element: ElementTree.Element) -> Iterator[ElementTree.Element]:
    for child in element:
        if child.tag == _ROW:
            yield child
        elif child.tag in _ROW_GROUPS:
            yield from _rows(child)


# --- Excel workbooks ------------------------------------------------------------------------


def read_xlsx(
    data: bytes, *, max_cells: int = MAX_CELLS, limits: ExtractionLimits | None = None
) -> str:
    """Every worksheet as ``Sheet: NAME`` then one line per non-empty row, cells `` | ``.

    Formulas give their cached values (what Excel last showed; none if the file was never
    opened in a spreadsheet program). Raises ``ExtractionError`` when the workbook has more
    than ``max_cells`` cells or is past ``limits`` (``check_package``).
    """
    from openpyxl import load_workbook

    refuse_protected_package(data, "XLSX")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        check_package(archive, "XLSX", limits or ExtractionLimits())
    budget = max_cells
    sheets: list[str] = []
    with warnings.catch_warnings():
        # openpyxl warns about features it ignores (data validation, default styles).
        warnings.simplefilter("ignore")
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            for sheet in workbook.worksheets:
                # The stored dimensions may claim a huge range; read only the cells present.
                sheet.reset_dimensions()
                lines: list[str] = []
                for row in sheet.iter_rows(values_only=True):
                    budget -= max(1, len(row))
                    if budget < 0:
                        raise ExtractionError(
                            f"the workbook has more than {max_cells:,} cells (the limit); "
                            "split it or export the sheets needed"
                        )
                    cells = [_cell_text(value) for value in row]
                    while cells and not cells[-1]:
                        cells.pop()
                    if cells:
                        lines.append(" | ".join(cells))
                if lines:
                    sheets.append("\n".join([f"Sheet: {sheet.title}", *lines]))
        finally:
            workbook.close()
    return "\n\n".join(sheets)


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return " ".join(str(value).split())


# --- legacy Word (.doc) ---------------------------------------------------------------------


def run_antiword(data: bytes, *, antiword: str, timeout_s: float) -> str:
    """Text of a Word 2–2003 binary document from the ``antiword`` program at ``antiword``.

    The bytes go to a private temporary file (never the user's path, so no file name can be
    read as an option); output is UTF-8, one paragraph per line. Raises ``ExtractionError``
    when the program is missing, fails, or runs past ``timeout_s``.
    """
    with tempfile.TemporaryDirectory(prefix="casesearch-doc-") as folder:
        path = Path(folder) / "document.doc"
        path.write_bytes(data)
        try:
            done = subprocess.run(  # noqa: S603 (fixed arguments, no shell)
                [antiword, "-m", "UTF-8.txt", "-w", "0", str(path)],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=timeout_s,
                check=False,
            )
        except FileNotFoundError:
            raise ExtractionError(DOC_UNAVAILABLE) from None
        except subprocess.TimeoutExpired:
            raise ExtractionError(
                f"antiword did not finish within {timeout_s:g} s (a damaged .doc?)"
            ) from None
        except OSError as exc:
            raise ExtractionError(f"cannot run antiword: {exc.strerror or exc}") from None
    message = done.stderr.decode("utf-8", "replace").replace(str(path), "the file")
    message = " ".join(message.split())
    if done.returncode != 0:
        if "ncrypted" in message:
            raise ExtractionError("encrypted DOC: a password is needed to open it")
        detail = message[:200] or f"exit status {done.returncode}"
        raise ExtractionError(f"corrupt or unreadable DOC: antiword: {detail}")
    return done.stdout.decode("utf-8", "replace").replace("[pic]", "")
