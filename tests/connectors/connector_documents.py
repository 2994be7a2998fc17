"""Builders for test documents: PDFs (text, scanned, encrypted), DOCX, ODT, RTF, XLSX,
Word 97 .doc, scans, e-mails.

Everything is generated in memory so the tests need no binary fixtures in the repository.
"""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Sequence
from email.message import EmailMessage
from xml.sax.saxutils import escape

from PIL import Image, ImageDraw, ImageFont


def _pdf_string(text: str) -> bytes:
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return b"(" + escaped.encode("cp1252") + b")"


def text_pdf(pages: list[list[str]]) -> bytes:
    """A PDF with a real text layer: one list of lines per page, Helvetica 12 pt.

    Hand-built (catalog, page tree, one font, a page and a content stream per page) with a
    correct cross-reference table, so any conforming reader opens it.
    """
    page_count = len(pages)
    # Object numbers: 1 catalog, 2 page tree, 3 font, then (page, content) pairs.
    page_ids = [4 + 2 * i for i in range(page_count)]
    objects: dict[int, bytes] = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids ["
        + b" ".join(f"{pid} 0 R".encode() for pid in page_ids)
        + f"] /Count {page_count} >>".encode(),
        3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    }
    for page_id, lines in zip(page_ids, pages, strict=True):
        body = b"BT /F1 12 Tf 14 TL 72 720 Td " + b" T* ".join(
            _pdf_string(line) + b" Tj" for line in lines
        )
        body += b" ET"
        objects[page_id] = (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> " + f"/Contents {page_id + 1} 0 R >>".encode()
        )
        objects[page_id + 1] = (
            f"<< /Length {len(body)} >>\nstream\n".encode() + body + b"\nendstream"
        )
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += f"{number} 0 obj\n".encode() + objects[number] + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for number in sorted(objects):
        out += f"{offsets[number]:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


def scan_image(lines: list[str], *, size: int = 40) -> Image.Image:
    """Black text on white, large enough for Tesseract: a stand-in for a scanned page."""
    font = ImageFont.load_default(size=size)
    height = 60 + int(size * 1.6) * len(lines)
    width = 80 + max(int(font.getlength(line)) for line in lines)
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    for number, line in enumerate(lines):
        draw.text((40, 30 + number * int(size * 1.6)), line, font=font, fill=0)
    return image


def scan_png(lines: list[str]) -> bytes:
    buffer = io.BytesIO()
    scan_image(lines).save(buffer, "PNG")
    return buffer.getvalue()


def image_only_pdf(lines: list[str]) -> bytes:
    """A one-page PDF whose page is only an image: no text layer, OCR needed."""
    buffer = io.BytesIO()
    scan_image(lines).save(buffer, "PDF", resolution=150)
    return buffer.getvalue()


def encrypted_pdf(lines: list[str], *, user_password: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf([lines]))))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="AES-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def docx_bytes(paragraphs: list[str], table: list[list[str]] | None = None) -> bytes:
    from docx import Document

    document = Document()
    document.core_properties.title = ""
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for row, values in zip(grid.rows, table, strict=True):
            for cell, value in zip(row.cells, values, strict=True):
                cell.text = value
        document.add_paragraph("After the table.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def email_bytes(
    *,
    subject: str,
    body: str,
    html: str | None = None,
    attachments: Sequence[tuple[str, str, bytes]] = (),
) -> bytes:
    """An e-mail with a text (and optionally HTML) body and (name, mime type, bytes) files."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = "Duty Desk <duty@example.gov.uk>"
    message["To"] = "sw-north-1-2@example.gov.uk"
    message["Date"] = "Tue, 05 Mar 2024 09:30:00 +0000"
    if body:
        message.set_content(body)
    if html is not None:
        if body:
            message.add_alternative(html, subtype="html")
        else:
            message.set_content(html, subtype="html")
    for name, mime, data in attachments:
        maintype, subtype = mime.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


# --- OpenDocument text -----------------------------------------------------------------------

_ODT_NAMESPACES = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" '
    'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"'
)


def odt_bytes(
    body: str,
    *,
    title: str | None = None,
    encrypted: bool = False,
    prolog: str = "",
    created: str | None = None,
) -> bytes:
    """An OpenDocument text file whose ``office:text`` holds ``body`` (ODF XML, prefixes
    office/text/table/draw). ``encrypted`` writes what a password-protected save looks like:
    a manifest with encryption data and a content.xml that is not XML; ``prolog`` goes
    between content.xml's XML declaration and its root element; ``created`` is written as
    ``meta:creation-date`` (with ``title``, in meta.xml)."""
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?>{prolog}'
        f"<office:document-content {_ODT_NAMESPACES} "
        f'office:version="1.3"><office:body><office:text>{body}</office:text></office:body>'
        "</office:document-content>"
    ).encode()
    entry = '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"'
    if encrypted:
        content = bytes(range(256)) * 8
        entry += '><manifest:encryption-data manifest:checksum="x"/></manifest:file-entry>'
    else:
        entry += "/>"
    manifest = (
        f'<?xml version="1.0" encoding="UTF-8"?><manifest:manifest {_ODT_NAMESPACES}>'
        '<manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.text"/>'
        f"{entry}</manifest:manifest>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        # The mimetype comes first and uncompressed, as the ODF package format requires.
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("META-INF/manifest.xml", manifest)
        if title is not None or created is not None:
            stamp = f"<meta:creation-date>{created}</meta:creation-date>" if created else ""
            archive.writestr(
                "meta.xml",
                f'<?xml version="1.0" encoding="UTF-8"?><office:document-meta '
                f"{_ODT_NAMESPACES}><office:meta><dc:title>{escape(title or '')}</dc:title>"
                f"{stamp}</office:meta></office:document-meta>",
            )
    return buffer.getvalue()


# --- RTF -------------------------------------------------------------------------------------


def rtf_escape(text: str, *, codepage: str = "cp1252", uc: int = 1) -> str:
    """``text`` as an RTF writer would put it: ASCII as is, other characters of the code page
    as ``\\'hh``, the rest as ``\\uN`` (UTF-16 units) with ``uc`` ``?`` fallback characters;
    newlines become ``\\par``, tabs ``\\tab``."""
    out: list[str] = []
    for char in text:
        if char in "\\{}":
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\par\n")
        elif char == "\t":
            out.append("\\tab ")
        elif " " <= char <= "~":
            out.append(char)
        else:
            try:
                encoded = char.encode(codepage)
            except UnicodeEncodeError:
                encoded = b""
            if len(encoded) == 1:
                out.append(f"\\'{encoded[0]:02x}")
                continue
            units = char.encode("utf-16-le", "surrogatepass")
            for index in range(0, len(units), 2):
                unit = int.from_bytes(units[index : index + 2], "little")
                signed = unit - 0x10000 if unit >= 0x8000 else unit
                out.append(f"\\u{signed} " + "?" * uc)
    return "".join(out)


def rtf_bytes(
    body: str,
    *,
    title: str | None = None,
    codepage: int = 1252,
    uc: int = 1,
    raw: bool = False,
) -> bytes:
    """An RTF document as Word writes one: font, colour and style tables, ``\\info``, a page
    header and a generator (none of them body text), then ``body``: escaped text, or RTF
    markup when ``raw``."""
    content = body if raw else rtf_escape(body, codepage=f"cp{codepage}", uc=uc)
    info = f"{{\\info{{\\title {rtf_escape(title)}}}{{\\author Duty desk}}}}" if title else ""
    document = (
        f"{{\\rtf1\\ansi\\ansicpg{codepage}\\uc{uc}\\deff0"
        "{\\fonttbl{\\f0\\froman\\fcharset0 Times New Roman;}{\\f1\\fswiss Arial;}}"
        "{\\colortbl;\\red0\\green0\\blue0;}"
        "{\\stylesheet{\\s0 Normal;}{\\s1 heading 1;}}"
        f"{info}{{\\*\\generator Casesearch tests;}}"
        "{\\header \\pard Page header: OFFICIAL-SENSITIVE\\par}"
        f"\\pard\\plain {content}\\par\n}}"
    )
    return document.encode("latin-1")


# --- Excel -----------------------------------------------------------------------------------


def xlsx_bytes(
    sheets: dict[str, list[list[object]]], *, cached: dict[str, str] | None = None
) -> bytes:
    """A workbook with one sheet per entry (rows of cell values; ``"=…"`` is a formula).

    openpyxl cannot compute formulas, so ``cached`` gives the value a spreadsheet program
    would have stored for each formula (keyed by the formula without ``=``)."""
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    if not cached:
        return buffer.getvalue()
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                text = data.decode()
                for formula, value in cached.items():
                    text = text.replace(
                        f"<f>{formula}</f><v></v>", f"<f>{formula}</f><v>{value}</v>"
                    )
                    text = text.replace(f"<f>{formula}</f><v/>", f"<f>{formula}</f><v>{value}</v>")
                data = text.encode()
            target.writestr(item, data)
    return out.getvalue()


# --- legacy Word (.doc) ----------------------------------------------------------------------

_END_OF_CHAIN = 0xFFFFFFFE
_FREE_SECTOR = 0xFFFFFFFF
_FAT_SECTOR = 0xFFFFFFFD
_NO_STREAM = 0xFFFFFFFF


def compound_file(streams: list[tuple[str, bytes]]) -> bytes:
    """A minimal OLE2 compound file (version 3, 512-byte sectors): sector 0 holds the FAT,
    sector 1 the directory, then each stream (every one at least 4096 bytes, so none lives
    in the mini stream)."""
    fat = [_FAT_SECTOR, _END_OF_CHAIN]
    starts: list[int] = []
    sectors: list[bytes] = []
    for _, data in streams:
        assert len(data) >= 4096, "small streams would belong in the mini stream"
        padded = data + b"\0" * (-len(data) % 512)
        count = len(padded) // 512
        start = len(fat)
        starts.append(start)
        fat.extend(start + i + 1 if i < count - 1 else _END_OF_CHAIN for i in range(count))
        sectors.append(padded)
    assert len(fat) <= 128, "one FAT sector is enough for the test documents"
    fat.extend([_FREE_SECTOR] * (128 - len(fat)))

    def entry(name: str, kind: int, start: int, size: int, right: int, child: int) -> bytes:
        encoded = (name + "\0").encode("utf-16-le") if name else b""
        return (
            encoded.ljust(64, b"\0")
            + struct.pack("<HBBIII", len(encoded), kind, 1, _NO_STREAM, right, child)
            + b"\0" * 36
            + struct.pack("<IIi", start, size, 0)
        )

    entries = [entry("Root Entry", 5, _END_OF_CHAIN, 0, _NO_STREAM, 1)]
    for index, ((name, data), start) in enumerate(zip(streams, starts, strict=True)):
        right = index + 2 if index + 1 < len(streams) else _NO_STREAM
        entries.append(entry(name, 2, start, len(data), right, _NO_STREAM))
    while len(entries) < 4:
        entries.append(entry("", 0, 0, 0, _NO_STREAM, _NO_STREAM))
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\0" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + b"\0" * 6
        + struct.pack("<9I", 0, 1, 1, 0, 4096, _END_OF_CHAIN, 0, _END_OF_CHAIN, 0)
        + struct.pack("<I", 0)
        + struct.pack("<I", _FREE_SECTOR) * 108
    )
    return header + struct.pack("<128I", *fat) + b"".join(entries) + b"".join(sectors)


def word97_doc(paragraphs: list[str], *, encrypted: bool = False) -> bytes:
    """A Word 97 binary document: a FIB, the text as UTF-16 at offset 0x800 of the
    WordDocument stream, and a one-piece piece table in the 1Table stream. No styles or
    formatting: enough for antiword, which is what the connector uses to read .doc."""
    text = "\r".join(paragraphs) + "\r"
    encoded = text.encode("utf-16-le")
    text_at = 0x800
    word = bytearray(max(4096, text_at + len(encoded) + 512))
    flags = 0x0200 | (0x0100 if encrypted else 0)  # fWhichTblStm (1Table), fEncrypted
    struct.pack_into("<HHHHHH", word, 0, 0xA5EC, 0xC1, 0x6A62, 0x0409, 0, flags)
    struct.pack_into("<H", word, 0x0C, 0xBF)  # nFibBack
    struct.pack_into("<II", word, 0x18, text_at, text_at + len(encoded))  # fcMin, fcMac
    struct.pack_into("<H", word, 0x20, 14)  # csw
    struct.pack_into("<H", word, 0x3E, 22)  # cslw
    struct.pack_into("<I", word, 0x40, len(word))  # cbMac
    struct.pack_into("<I", word, 0x4C, len(text))  # ccpText
    struct.pack_into("<H", word, 0x98, 0x5D)  # cbRgFcLcb
    word[text_at : text_at + len(encoded)] = encoded
    pieces = struct.pack("<II", 0, len(text)) + struct.pack("<HIH", 0, text_at, 0)
    clx = b"\x02" + struct.pack("<I", len(pieces)) + pieces
    table = bytearray(4096)
    table[: len(clx)] = clx
    struct.pack_into("<II", word, 0x1A2, 0, len(clx))  # fcClx, lcbClx
    # An empty stylesheet (an STSHI header saying "no styles"): antiword reads one blindly.
    stylesheet = struct.pack("<HHH", 18, 0, 10) + bytes(14)
    table[0x100 : 0x100 + len(stylesheet)] = stylesheet
    struct.pack_into("<II", word, 0xA2, 0x100, len(stylesheet))  # fcStshf, lcbStshf
    return compound_file([("WordDocument", bytes(word)), ("1Table", bytes(table))])


def encrypted_office_package() -> bytes:
    """What Office saves for a password-protected .docx or .xlsx: an OLE2 file holding the
    encryption parameters and the encrypted package (here random-looking bytes)."""
    return compound_file(
        [("EncryptionInfo", bytes(4096)), ("EncryptedPackage", bytes(range(256)) * 16)]
    )
