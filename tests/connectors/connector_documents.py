"""Builders for test documents: PDFs (text, scanned, encrypted), DOCX, scans, e-mails.

Everything is generated in memory so the tests need no binary fixtures in the repository.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from email.message import EmailMessage

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
