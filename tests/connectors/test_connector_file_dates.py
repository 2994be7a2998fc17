"""Files connector: a document's date and type come from the document, and it says from where.

Precedence (connectors/README.md, "Dates and types from the documents"): the manifest (or,
for the type, the folder); then the document's own properties or headers; then a dated
heading; then the file name; then the modification time.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import shutil
from email.message import EmailMessage
from pathlib import Path

import pytest
from connector_contract import fetch_all, records
from connector_documents import image_only_pdf, odt_bytes, text_pdf
from hypothesis import given
from hypothesis import strategies as st

from connectors.file_metadata import date_in, doc_type_in
from connectors.files import FilesConnector
from connectors.record import KNOWN_DOC_TYPES, Record

# Every file is copied "today": its modification time says nothing about the document.
COPIED = dt.datetime(2025, 1, 20, 9, 30, tzinfo=dt.UTC)

needs_tesseract = pytest.mark.skipif(
    shutil.which("tesseract") is None, reason="Tesseract is not installed (apt: tesseract-ocr)"
)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "cases"
    folder.mkdir()
    (folder / "_acl.json").write_text(json.dumps({"acl": ["team:a"]}))
    return folder


def put(root: Path, rel: str, data: bytes | str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    os.utime(path, (COPIED.timestamp(), COPIED.timestamp()))


def read_one(root: Path, rel: str) -> Record:
    found = {r.id: r for r in records(fetch_all(FilesConnector(root)))}
    return found[f"files:{rel}"]


def pdf_with_properties(lines: list[str], *, title: str | None, created: str | None) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf([lines]))))
    info = {}
    if title is not None:
        info["/Title"] = title
    if created is not None:
        info["/CreationDate"] = created
    writer.add_metadata(info)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def docx_with_properties(paragraphs: list[str], *, created: dt.datetime | None) -> bytes:
    from docx import Document

    document = Document()
    if created is not None:  # otherwise python-docx's blank-template stamp stays
        document.core_properties.author = "J. Social Worker"
        document.core_properties.created = created
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def eml(subject: str, body: str, date: str | None) -> bytes:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = "Duty Desk <duty@example.gov.uk>"
    message["To"] = "team@example.gov.uk"
    if date is not None:
        message["Date"] = date
    message.set_content(body)
    return message.as_bytes()


# --- one format at a time ------------------------------------------------------------------------


def test_a_pdf_takes_date_and_title_from_its_properties(root: Path) -> None:
    put(
        root,
        "CASE-1/plan.pdf",
        pdf_with_properties(
            ["Mia will stay with her grandmother while mum attends the course."],
            title="Microsoft Word - Safety plan for Mia.docx",
            created="D:20240303101500Z",
        ),
    )
    record = read_one(root, "CASE-1/plan.pdf")
    assert record.created_at == dt.date(2024, 3, 3)
    assert record.title == "Safety plan for Mia"
    assert record.doc_type == "safety_plan"
    assert record.extra["date_source"] == "pdf_metadata"
    assert record.extra["doc_type_source"] == "title"
    assert record.updated_at == COPIED  # the copy's time stays the update time


def test_a_docx_takes_its_created_date(root: Path) -> None:
    created = dt.datetime(2023, 11, 14, 16, 5, tzinfo=dt.UTC)
    put(root, "CASE-1/note.docx", docx_with_properties(["Spoke to the school."], created=created))
    record = read_one(root, "CASE-1/note.docx")
    assert (record.created_at, record.extra["date_source"]) == (created.date(), "docx_metadata")


def test_an_odt_takes_its_creation_date(root: Path) -> None:
    put(
        root,
        "CASE-1/note.odt",
        odt_bytes("<text:p>Spoke to the GP.</text:p>", created="2023-10-02T09:14:31.208000000"),
    )
    record = read_one(root, "CASE-1/note.odt")
    assert (record.created_at, record.extra["date_source"]) == (
        dt.date(2023, 10, 2),
        "odt_metadata",
    )


def test_a_docx_with_the_blank_template_stamp_uses_its_dated_heading(root: Path) -> None:
    # Built by a program that never set the date: the 2013 template stamp is not the date.
    paragraphs = ["Record of home visit", "Date of visit: 03/04/2024", "Mia was at home."]
    put(root, "CASE-1/visit.docx", docx_with_properties(paragraphs, created=None))
    record = read_one(root, "CASE-1/visit.docx")
    assert record.created_at == dt.date(2024, 4, 3)  # day first: 3 April
    assert record.extra["date_source"] == "heading"
    assert (record.doc_type, record.extra["doc_type_source"]) == ("visit_note", "heading")


def test_an_email_is_dated_by_its_date_header_and_typed_by_its_subject(root: Path) -> None:
    put(
        root,
        "CASE-1/strategy.eml",
        eml(
            "Strategy discussion - Mia Smith",
            "Agreed: section 47 enquiries.",
            "Tue, 05 Mar 2024 14:20:00 +0000",
        ),
    )
    put(
        root,
        "CASE-1/chat.eml",
        eml("Re: lunch", "Dear Sam,\nAt 1?", "Wed, 06 Mar 2024 12:00:00 +0000"),
    )
    strategy = read_one(root, "CASE-1/strategy.eml")
    assert strategy.created_at == dt.date(2024, 3, 5)
    assert strategy.extra["date_source"] == "email_header"
    assert strategy.doc_type == "strategy_discussion"
    chat = read_one(root, "CASE-1/chat.eml")  # its body starts like a letter; it is an e-mail
    assert (chat.doc_type, chat.extra["doc_type_source"]) == ("email", "email")


def test_a_text_file_is_dated_and_typed_by_its_heading(root: Path) -> None:
    put(root, "CASE-1/plan.txt", "Safety plan – 3 March 2024\n\nMia stays with gran.\n")
    put(
        root,
        "CASE-1/conf.html",
        "<html><head><title>Review child protection conference</title></head>"
        "<body><h1>Minutes</h1><p>Held on 12th February 2024.</p></body></html>",
    )
    plan = read_one(root, "CASE-1/plan.txt")
    assert (plan.created_at, plan.extra["date_source"]) == (dt.date(2024, 3, 3), "heading")
    assert (plan.doc_type, plan.extra["doc_type_source"]) == ("safety_plan", "heading")
    conf = read_one(root, "CASE-1/conf.html")
    assert (conf.created_at, conf.doc_type) == (dt.date(2024, 2, 12), "rcpc_minutes")


def test_a_birth_date_in_the_heading_is_not_the_documents_date(root: Path) -> None:
    text = "Referral\nChild: Mia, date of birth 01/02/2015\nReceived 9 May 2024\n"
    put(root, "CASE-1/ref.txt", text)
    record = read_one(root, "CASE-1/ref.txt")
    assert (record.created_at, record.doc_type) == (dt.date(2024, 5, 9), "referral")


def test_a_file_name_date_comes_before_the_modification_time(root: Path) -> None:
    put(root, "CASE-1/2024-06-30_case_note.txt", "Phoned mum, no answer.")
    record = read_one(root, "CASE-1/2024-06-30_case_note.txt")
    assert (record.created_at, record.extra["date_source"]) == (dt.date(2024, 6, 30), "file_name")
    assert (record.doc_type, record.extra["doc_type_source"]) == ("case_note", "file_name")


def test_nothing_dated_falls_back_to_the_modification_time(root: Path) -> None:
    put(root, "CASE-1/scribble.txt", "Phoned mum, no answer.")
    record = read_one(root, "CASE-1/scribble.txt")
    assert (record.created_at, record.extra["date_source"]) == (COPIED.date(), "file_mtime")
    assert record.doc_type is None
    assert "doc_type_source" not in record.extra


# --- precedence ----------------------------------------------------------------------------------


def test_what_the_operator_wrote_wins_over_the_document(root: Path) -> None:
    put(
        root,
        "CASE-1/plan.pdf",
        pdf_with_properties(["Safety plan - 3 March 2024"], title=None, created="D:20240303"),
    )
    put(
        root,
        "manifest.csv",
        "path,doc_type,created_at\nCASE-1/plan.pdf,cp_plan,2024-02-01\n",
    )
    record = read_one(root, "CASE-1/plan.pdf")
    assert (record.created_at, record.extra["date_source"]) == (dt.date(2024, 2, 1), "manifest")
    assert (record.doc_type, record.extra["doc_type_source"]) == ("cp_plan", "manifest")


def test_a_type_folder_wins_over_the_heading(root: Path) -> None:
    put(root, "CASE-1/letter/plan.txt", "Safety plan – 3 March 2024\nDear Ms Smith,")
    record = read_one(root, "CASE-1/letter/plan.txt")
    assert (record.doc_type, record.extra["doc_type_source"]) == ("letter", "folder")
    assert record.extra["date_source"] == "heading"


def test_document_properties_win_over_the_heading(root: Path) -> None:
    put(
        root,
        "CASE-1/plan.pdf",
        pdf_with_properties(["Safety plan - 3 March 2024"], title=None, created="D:20240305"),
    )
    record = read_one(root, "CASE-1/plan.pdf")
    assert (record.created_at, record.extra["date_source"]) == (dt.date(2024, 3, 5), "pdf_metadata")


def test_a_pdf_date_from_1970_or_the_future_is_not_used(root: Path) -> None:
    put(
        root,
        "CASE-1/old.pdf",
        pdf_with_properties(["Case note 7 July 2023"], title=None, created="D:19700101000000Z"),
    )
    put(
        root,
        "CASE-1/future.pdf",
        pdf_with_properties(["Case note 8 July 2023"], title=None, created="D:20990101000000Z"),
    )
    assert read_one(root, "CASE-1/old.pdf").created_at == dt.date(2023, 7, 7)
    assert read_one(root, "CASE-1/future.pdf").created_at == dt.date(2023, 7, 8)


@needs_tesseract
def test_a_scanned_pdf_is_dated_by_its_heading_not_the_scan(root: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    scan = image_only_pdf(["Letter to parents", "Dated 14 May 2024"])
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(scan)))
    writer.add_metadata({"/CreationDate": "D:20241201093000Z"})  # the day it was scanned
    buffer = io.BytesIO()
    writer.write(buffer)
    put(root, "CASE-1/scan.pdf", buffer.getvalue())
    record = read_one(root, "CASE-1/scan.pdf")
    assert record.extra.get("ocr") is True
    assert (record.created_at, record.extra["date_source"]) == (dt.date(2024, 5, 14), "heading")
    assert record.doc_type == "letter"


# --- the rules on their own ----------------------------------------------------------------------

_FORMATS = (
    "{d} {B} {Y}",
    "{d}th of {B} {Y}",
    "{b} {d}, {Y}",
    "{dd}/{mm}/{Y}",
    "{dd}.{mm}.{Y}",
    "{Y}-{mm}-{dd}",
)


@given(
    day=st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2024, 12, 31)),
    written=st.sampled_from(_FORMATS),
    label=st.sampled_from(["", "Date: ", "Date of visit: ", "Safety plan – ", "Held on "]),
)
def test_a_date_written_any_usual_way_is_read_day_first(
    day: dt.date, written: str, label: str
) -> None:
    text = written.format(
        d=day.day,
        dd=f"{day.day:02d}",
        mm=f"{day.month:02d}",
        b=day.strftime("%b"),
        B=day.strftime("%B"),
        Y=day.year,
    )
    assert date_in(["Children's services", label + text]) == day


@given(st.text(max_size=60))
def test_any_heading_gives_a_known_type_or_none(line: str) -> None:
    found = doc_type_in([line])
    assert found is None or found in KNOWN_DOC_TYPES


@pytest.mark.parametrize(
    ("heading", "doc_type"),
    [
        ("Initial Child Protection Conference – minutes", "icpc_minutes"),
        ("RCPC minutes", "rcpc_minutes"),
        ("Strategy meeting (s47)", "strategy_discussion"),
        ("Child in need plan", "cin_plan"),
        ("Child Protection Plan - outline", "cp_plan"),
        ("Unannounced visit", "visit_note"),
        ("Police protection notice", "police_notification"),
        ("Single assessment", "assessment"),
        ("Dear Mr and Mrs Smith,", "letter"),
        ("Health visitor contact", "health_contact"),
        ("Notes", None),
    ],
)
def test_headings_name_the_record_formats_types(heading: str, doc_type: str | None) -> None:
    assert doc_type_in([heading]) == doc_type
