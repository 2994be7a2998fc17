"""Text extraction through the files connector, one generated document per format."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest
from connector_documents import (
    docx_bytes,
    email_bytes,
    encrypted_pdf,
    image_only_pdf,
    odt_bytes,
    rtf_bytes,
    scan_png,
    text_pdf,
    xlsx_bytes,
)
from connector_extraction import documents_folder, extract_one, failure_of, record_of
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.base import Checkpoint
from connectors.extract import NOT_TEXT, OCR_UNAVAILABLE, ExtractionError, Extractor, decode_text
from connectors.files import FilesConnector
from connectors.html_text import html_to_text
from connectors.limits import ExtractionLimits

needs_tesseract = pytest.mark.skipif(
    shutil.which("tesseract") is None, reason="Tesseract is not installed (apt: tesseract-ocr)"
)


def squash(text: str) -> str:
    """Lower case, whitespace runs to one space: OCR output compared loosely."""
    return re.sub(r"\s+", " ", text).strip().lower()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return documents_folder(tmp_path)


# --- text and HTML -----------------------------------------------------------------------------


def test_plain_text_and_markdown_are_read_verbatim(root: Path) -> None:
    text = "Case note\n\nMia said she feels safe at gran's.\n"
    assert record_of(extract_one(root, "n.txt", text.encode())).text == text
    assert "# Plan" in record_of(extract_one(root, "p.md", b"# Plan\n- GP visit")).text


def test_windows_1252_and_byte_order_marks_decode(root: Path) -> None:
    assert record_of(extract_one(root, "a.txt", "café – réunion".encode("cp1252"))).text == (
        "café – réunion"
    )
    assert record_of(extract_one(root, "b.txt", b"\xef\xbb\xbfBOM note")).text == "BOM note"
    assert record_of(extract_one(root, "c.txt", "UTF-16 note".encode("utf-16"))).text == (
        "UTF-16 note"
    )


def test_undecodable_text_is_a_failure(root: Path) -> None:
    garbage = bytes(range(0, 32)) * 4 + b"\x81\x8d"
    assert failure_of(extract_one(root, "bin.txt", garbage)) == NOT_TEXT


def test_whitespace_only_text_is_an_empty_document(root: Path) -> None:
    assert "no text" in failure_of(extract_one(root, "blank.txt", b"  \n\t\n"))


def test_decode_text_rules() -> None:
    assert decode_text(b"plain") == "plain"
    assert decode_text(b"tab\tand\x0cform feed") == "tab\tand\x0cform feed"
    assert decode_text(b"one stray \x01 control in a long enough line of text") == (
        "one stray  control in a long enough line of text"
    )
    with pytest.raises(Exception, match="not valid UTF-8"):
        decode_text(b"\x00\x00\x00")


def test_html_drops_scripts_and_styles_and_keeps_blocks(root: Path) -> None:
    html = (
        "<html><head><title>Strategy discussion</title><style>p{color:red}</style>"
        "<script>var leaked = 'secret script';</script></head><body>"
        "<h1>Minutes</h1><p>Police attended &amp; shared concerns.</p>"
        "<ul><li>Action one</li><li>Action two</li></ul>"
        "<table><tr><th>Agency</th><th>Name</th></tr><tr><td>School</td><td>Ms Lee</td></tr>"
        "</table>Line<br>break<pre>keep   this\n  layout</pre></body></html>"
    )
    record = record_of(extract_one(root, "minutes.html", html.encode()))
    assert record.title == "Strategy discussion"
    assert "secret script" not in record.text
    assert "color" not in record.text
    assert record.text.splitlines() == [
        "Minutes",
        "Police attended & shared concerns.",
        "Action one",
        "Action two",
        "Agency | Name",
        "School | Ms Lee",
        "Line",
        "break",
        "keep   this",
        "  layout",
    ]


def test_html_to_text_survives_broken_markup() -> None:
    text, title = html_to_text("<p>Unclosed <b>bold <div>nested</p></i><script>x")
    assert text.splitlines() == ["Unclosed bold", "nested"]
    assert title == ""


# --- PDF ---------------------------------------------------------------------------------------


def test_a_text_pdf_gives_every_page(root: Path) -> None:
    data = text_pdf([["Child protection plan", "Review in 6 weeks"], ["Page two: GP letter"]])
    record = record_of(extract_one(root, "plan.pdf", data))
    assert "Child protection plan\nReview in 6 weeks" in record.text
    assert "Page two: GP letter" in record.text
    assert "ocr" not in record.extra


def test_a_corrupt_pdf_is_a_failure(root: Path) -> None:
    assert "corrupt or unreadable PDF" in failure_of(
        extract_one(root, "bad.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >> trailer garbage")
    )
    assert "corrupt or unreadable PDF" in failure_of(extract_one(root, "empty.pdf", b""))


def test_a_password_protected_pdf_is_a_failure_saying_encrypted(root: Path) -> None:
    reason = failure_of(
        extract_one(root, "locked.pdf", encrypted_pdf(["Secret"], user_password="pw"))
    )
    assert "encrypted" in reason


def test_a_pdf_encrypted_without_a_user_password_is_read(root: Path) -> None:
    data = encrypted_pdf(["Permissions only, no password"], user_password="")
    assert "Permissions only" in record_of(extract_one(root, "open.pdf", data)).text


@needs_tesseract
def test_an_image_only_pdf_page_is_ocred(root: Path) -> None:
    data = image_only_pdf(["Strategy discussion minutes", "Police attended the home"])
    record = record_of(extract_one(root, "scan.pdf", data))
    assert "strategy discussion minutes" in squash(record.text)
    assert "police attended the home" in squash(record.text)
    assert record.extra["ocr"] is True


@needs_tesseract
def test_a_scanned_png_is_ocred(root: Path) -> None:
    record = record_of(extract_one(root, "scan.png", scan_png(["Neglect concerns raised"])))
    assert "neglect concerns raised" in squash(record.text)


def test_ocr_unavailable_is_a_failure(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pytesseract

    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", "/nonexistent/tesseract")
    here = ExtractionLimits(isolate=False)  # the patch reaches this process only
    assert (
        failure_of(extract_one(root, "scan.png", scan_png(["Unread"]), limits=here))
        == OCR_UNAVAILABLE
    )
    reason = failure_of(extract_one(root, "scan.pdf", image_only_pdf(["Unread page"]), limits=here))
    assert reason.startswith(OCR_UNAVAILABLE)


def test_with_ocr_off_images_are_skipped_and_scanned_pdfs_fail(root: Path) -> None:
    (root / "scan.png").write_bytes(scan_png(["Ignored"]))
    connector = FilesConnector(root, ocr=False)
    items = list(connector.fetch(connector.initial_checkpoint()))
    assert all(isinstance(item, Checkpoint) for item in items)
    assert connector.skipped == ("scan.png",)
    reason = failure_of(extract_one(root, "scan.pdf", image_only_pdf(["Ignored"]), ocr=False))
    assert "OCR is switched off" in reason


@needs_tesseract  # without it, every image fails as "OCR unavailable" before being decoded
def test_a_corrupt_image_is_a_failure(root: Path) -> None:
    assert "corrupt or unreadable image" in failure_of(extract_one(root, "x.png", b"not a png"))


# --- DOCX --------------------------------------------------------------------------------------


def test_docx_paragraphs_and_tables_in_order(root: Path) -> None:
    data = docx_bytes(
        ["Core assessment", "Mother engaged well."],
        table=[["Agency", "Contact"], ["Health visitor", "Weekly"]],
    )
    record = record_of(extract_one(root, "assessment.docx", data))
    assert record.text.splitlines() == [
        "Core assessment",
        "Mother engaged well.",
        "Agency | Contact",
        "Health visitor | Weekly",
        "After the table.",
    ]


def test_a_corrupt_docx_is_a_failure(root: Path) -> None:
    assert "corrupt or unreadable DOCX" in failure_of(extract_one(root, "x.docx", b"PK\x03\x04no"))


# --- e-mail ------------------------------------------------------------------------------------


def test_an_email_gives_headers_body_and_attachment_text(root: Path) -> None:
    data = email_bytes(
        subject="Referral from Oakfield School",
        body="Attendance has dropped to 60%.",
        attachments=[
            ("letter.pdf", "application/pdf", text_pdf([["Letter: concerns about bruising"]])),
            ("notes.docx", "application/octet-stream", docx_bytes(["Teacher's notes"])),
            ("log.txt", "text/plain", b"Safeguarding log entry"),
            ("photo.bin", "application/octet-stream", b"\x00\x01"),
        ],
    )
    record = record_of(extract_one(root, "referral.eml", data))
    assert record.title == "Referral from Oakfield School"
    assert record.created_at == dt.date(2024, 3, 5)
    assert record.extra["email_from"] == "Duty Desk <duty@example.gov.uk>"
    assert record.extra["email_to"] == "sw-north-1-2@example.gov.uk"
    assert record.attachments == ("letter.pdf", "notes.docx", "log.txt", "photo.bin")
    assert record.text.startswith("Attendance has dropped to 60%.")
    assert "Attachment: letter.pdf\nLetter: concerns about bruising" in record.text
    assert "Attachment: notes.docx\nTeacher's notes" in record.text
    assert "Attachment: log.txt\nSafeguarding log entry" in record.text
    assert "photo.bin" in record.extra["attachment_errors"]


def test_an_html_only_email_body_becomes_text(root: Path) -> None:
    data = email_bytes(
        subject="Police notification",
        body="",
        html="<p>Officer attended.</p><script>x()</script><p>No arrests.</p>",
    )
    record = record_of(extract_one(root, "police.eml", data))
    assert record.text == "Officer attended.\nNo arrests."


def test_plain_text_is_preferred_over_html(root: Path) -> None:
    data = email_bytes(subject="S", body="Plain version.", html="<p>HTML version.</p>")
    assert record_of(extract_one(root, "both.eml", data)).text == "Plain version."


# --- robustness --------------------------------------------------------------------------------

_SEEDS = {
    ".pdf": text_pdf([["Hello world", "line two"], ["page 2"]]),
    ".docx": docx_bytes(["para"], [["a", "b"], ["c", "d"]]),
    ".eml": email_bytes(
        subject="s", body="b", attachments=[("a.pdf", "application/pdf", text_pdf([["x"]]))]
    ),
    ".html": b"<html><body><p>hi</p><table><tr><td>x</td></tr></table></body></html>",
    ".odt": odt_bytes(
        "<text:h>Plan</text:h><text:p>a<text:s/>b</text:p>"
        "<table:table><table:table-row><table:table-cell><text:p>c</text:p>"
        "</table:table-cell></table:table-row></table:table>",
        title="t",
    ),
    ".rtf": rtf_bytes("\\pard\\intbl a\\cell b\\cell\\row \\u8364 ?\\'e9{\\*\\x y}", raw=True),
    ".xlsx": xlsx_bytes({"S": [["a", 1], [None, 2.5]]}),
    ".txt": "café text".encode(),
}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    suffix=st.sampled_from(sorted(_SEEDS)),
    position=st.floats(min_value=0, max_value=1, exclude_max=True),
    patch=st.binary(max_size=40),
    cut=st.booleans(),
)
def test_property_damaged_documents_fail_cleanly(
    suffix: str, position: float, patch: bytes, cut: bool
) -> None:
    """Damaged files of every type give text or an ExtractionError, never another exception."""
    seed = _SEEDS[suffix]
    at = int(position * len(seed))
    data = seed[:at] + patch + (b"" if cut else seed[at + len(patch) :])
    reason = ""
    try:
        Extractor(ocr=False).extract(suffix, data)
    except ExtractionError as exc:
        reason = exc.reason or "(empty reason)"
    assert reason != "(empty reason)"
