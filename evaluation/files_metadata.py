"""How often the files connector gets a document's date and type right from the file alone.

A folder of mixed real files is built (PDF written by matplotlib's PDF backend, DOCX by
python-docx, e-mail by the standard library, HTML, text, Markdown, and, when Tesseract is
installed, scans: PNG images and an image-only PDF), each with the date and document type a
practitioner would file it under. Every file is then "copied" (its modification time set to
one later day, as an export or a copy to a share does) and read with ``FilesConnector``
in a folder that gives the case but no type, with no manifest.

The documents were written to look like what a council's share holds, including cases the
rules are known to miss (a PDF exported months after it was written, whose properties carry
the export date; a visit that is not called a visit; a first date that is an incident's, not
the record's). A document with no date written anywhere has no right date to find: it is
counted right when the connector falls back to the modification time and says so
(``date_source == "file_mtime"``) rather than claiming a date it read.

The "before" figures are what the connector gave before dates and types were read from the
documents: the modification time for every file but an e-mail (its Date header), and no type
without a type folder or manifest.

``python -m evaluation.files_metadata --out reports/files-metadata.json``
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import shutil
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from connectors.base import Failure
from connectors.files import FilesConnector
from connectors.record import Record

COPIED = dt.datetime(2025, 1, 20, 9, 30, tzinfo=dt.UTC)
CASE = "CASE-2041"


@dataclass(frozen=True, slots=True)
class Sample:
    """One file and the truth about it."""

    name: str
    build: Callable[[], bytes]
    date: dt.date | None  # the document's own date; None: written nowhere
    doc_type: str | None  # the record format's type a practitioner would give it
    scanned: bool = False

    @property
    def kind(self) -> str:
        suffix = Path(self.name).suffix.lstrip(".")
        return f"{suffix} (scan)" if self.scanned else suffix


# --- builders ----------------------------------------------------------------------------------


def _pdf(lines: Sequence[str], *, title: str | None, created: dt.datetime | None) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8.27, 11.69))  # A4
    for number, line in enumerate(lines):
        figure.text(0.08, 0.92 - number * 0.03, line, fontsize=11)
    buffer = io.BytesIO()
    # None removes a key: without it matplotlib stamps the day the file was made.
    metadata: dict[str, Any] = {"Title": title, "CreationDate": created}
    with matplotlib.rc_context({"pdf.fonttype": 42}):  # TrueType: a text layer readers extract
        figure.savefig(buffer, format="pdf", metadata=metadata)
    return buffer.getvalue()


def _docx(paragraphs: Sequence[str], *, title: str = "", created: dt.datetime | None) -> bytes:
    from docx import Document

    document = Document()
    document.core_properties.title = title
    if created is not None:  # else python-docx's template stamp stays, as in generated files
        document.core_properties.author = "Children's Services"
        document.core_properties.created = created
        document.core_properties.modified = created
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _eml(subject: str, body: str, *, sent: str | None) -> bytes:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = "A Practitioner <practitioner@example.gov.uk>"
    message["To"] = "Team North <north@example.gov.uk>"
    if sent is not None:
        message["Date"] = sent
    message.set_content(body)
    return message.as_bytes()


def _html(title: str, lines: Sequence[str]) -> bytes:
    body = "".join(f"<p>{line}</p>" for line in lines)
    return f"<html><head><title>{title}</title></head><body>{body}</body></html>".encode()


def _text(lines: Sequence[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def _scan(lines: Sequence[str]) -> Any:
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=36)
    width = 80 + max(int(font.getlength(line)) for line in lines)
    image = Image.new("L", (width, 60 + 58 * len(lines)), 255)
    draw = ImageDraw.Draw(image)
    for number, line in enumerate(lines):
        draw.text((40, 30 + number * 58), line, font=font, fill=0)
    return image


def _png(lines: Sequence[str]) -> bytes:
    buffer = io.BytesIO()
    _scan(lines).save(buffer, "PNG")
    return buffer.getvalue()


def _scanned_pdf(lines: Sequence[str], *, scanned_on: dt.datetime) -> bytes:
    from pypdf import PdfReader, PdfWriter

    buffer = io.BytesIO()
    _scan(lines).save(buffer, "PDF", resolution=150)
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(buffer.getvalue())))
    writer.add_metadata({"/CreationDate": scanned_on.strftime("D:%Y%m%d%H%M%SZ")})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _at(year: int, month: int, day: int) -> dt.datetime:
    return dt.datetime(year, month, day, 10, 0, tzinfo=dt.UTC)


# --- the folder --------------------------------------------------------------------------------


def samples() -> list[Sample]:
    """The documents, each with its true date and type."""
    d = dt.date
    return [
        Sample(
            "strategy.pdf",
            lambda: _pdf(
                ["Strategy discussion – 3 March 2024", "Present: DS Khan (police), J Ahmed (SW)"],
                title="Microsoft Word - Strategy discussion.docx",
                created=_at(2024, 3, 3),
            ),
            d(2024, 3, 3),
            "strategy_discussion",
        ),
        Sample(
            "conference minutes.pdf",
            lambda: _pdf(
                [
                    "Northshire Children's Services",
                    "Initial Child Protection Conference",
                    "Date of conference: 14/02/2024",
                    "Chair: independent reviewing officer",
                ],
                title=None,
                created=None,
            ),
            d(2024, 2, 14),
            "icpc_minutes",
        ),
        Sample(
            "statement bundle.pdf",  # exported for court weeks later: properties date the export
            lambda: _pdf(
                ["Social work statement to the court", "Dated 9 December 2024"],
                title="Bundle",
                created=_at(2025, 1, 10),
            ),
            d(2024, 12, 9),
            "court_report",
        ),
        Sample(
            "plan.pdf",
            lambda: _pdf(
                ["Outline plan agreed at conference", "Mum to attend the Freedom programme"],
                title="Child Protection Plan",
                created=_at(2024, 4, 2),
            ),
            d(2024, 4, 2),
            "cp_plan",
        ),
        Sample(
            "notification.pdf",  # the first date is the incident's, not the notification's
            lambda: _pdf(
                [
                    "Domestic abuse notification (PPN)",
                    "Incident date: 21/01/2024",
                    "Date received: 22/01/2024",
                ],
                title=None,
                created=None,
            ),
            d(2024, 1, 22),
            "police_notification",
        ),
        Sample(
            "visit.docx",
            lambda: _docx(
                ["Home visit record", "Mia showed me her bedroom; it was warm and clean."],
                created=_at(2024, 3, 5),
            ),
            d(2024, 3, 5),
            "visit_note",
        ),
        Sample(
            "plan agreed.docx",
            lambda: _docx(
                ["Safety Plan", "Agreed on 7th March 2024 with mum and grandmother."],
                created=None,
            ),
            d(2024, 3, 7),
            "safety_plan",
        ),
        Sample(
            "review.docx",
            lambda: _docx(
                ["Present: mum, school, health visitor", "Actions carried forward."],
                title="CIN plan review",
                created=_at(2024, 5, 20),
            ),
            d(2024, 5, 20),
            "cin_plan",
        ),
        Sample(
            "cfa.docx",
            lambda: _docx(
                ["Child and family assessment", "Reason for assessment: referral from school."],
                created=_at(2024, 1, 15),
            ),
            d(2024, 1, 15),
            "assessment",
        ),
        Sample(
            "joint.docx",  # a visit that is not called one
            lambda: _docx(
                ["Notes of joint call-out with police", "Visited: 12.03.2024, 19:40"],
                created=None,
            ),
            d(2024, 3, 12),
            "visit_note",
        ),
        Sample(
            "to mum.docx",
            lambda: _docx(
                [
                    "Children's Services",
                    "Town Hall, Northtown",
                    "18 April 2024",
                    "Dear Ms Green,",
                    "I am writing to confirm the date of the next meeting.",
                ],
                created=None,
            ),
            d(2024, 4, 18),
            "letter",
        ),
        Sample(
            "from school.eml",
            lambda: _eml(
                "Referral from St Mary's Primary",
                "Please see our concerns about Leo's attendance and presentation.",
                sent="Mon, 04 Mar 2024 08:55:00 +0000",
            ),
            d(2024, 3, 4),
            "referral",
        ),
        Sample(
            "tuesday.eml",
            lambda: _eml("Re: Tuesday", "Fine by me.", sent="Tue, 12 Mar 2024 16:02:00 +0000"),
            d(2024, 3, 12),
            "email",
        ),
        Sample(
            "hv.eml",
            lambda: _eml(
                "Health visitor update for Leo",
                "Weight is now on the 25th centile.",
                sent="Fri, 15 Mar 2024 11:10:00 +0000",
            ),
            d(2024, 3, 15),
            "health_contact",
        ),
        Sample(
            "forwarded.eml",  # saved without its headers' date; the forwarded one is in the body
            lambda: _eml(
                "Fw: contact arrangements",
                "From: dad\nSent: 4 March 2024 18:20\nCan we move Saturday's contact?",
                sent=None,
            ),
            d(2024, 3, 4),
            "email",
        ),
        Sample(
            "note-1.html",
            lambda: _html("Case note", ["Case note 11/03/2024 14:05", "Mum rang, upset."]),
            d(2024, 3, 11),
            "case_note",
        ),
        Sample(
            "referral.html",
            lambda: _html("Contact", ["Referral received – 1st February 2024", "From: GP"]),
            d(2024, 2, 1),
            "referral",
        ),
        Sample(
            "chronology.html",  # its dates are events, not the document's; not one of our types
            lambda: _html(
                "Chronology of significant events",
                ["01/01/2016 Leo born", "03/05/2022 First referral"],
            ),
            None,
            None,
        ),
        Sample(
            "recording.txt",
            lambda: _text(["Case recording — 2024-03-12", "Leo seen alone at school."]),
            d(2024, 3, 12),
            "case_note",
        ),
        Sample(
            "gp call.txt",
            lambda: _text(["Phone call with GP surgery re: Leo's weight, 13 Mar 2024"]),
            d(2024, 3, 13),
            "health_contact",
        ),
        Sample(
            "supervision prep.txt",
            lambda: _text(["Thoughts before supervision", "Is the plan working?"]),
            None,
            None,
        ),
        Sample(
            "rcpc.md",
            lambda: _text(["# RCPC – review conference 30/04/2024", "Plan continues."]),
            d(2024, 4, 30),
            "rcpc_minutes",
        ),
        Sample(
            "2024-02-28 core group.txt",
            lambda: _text(["Attendees: mum, school, health", "All actions on track."]),
            d(2024, 2, 28),
            None,
        ),
        Sample(
            "letter scan.png",
            lambda: _png(["Letter to parents", "Dated 14 May 2024"]),
            d(2024, 5, 14),
            "letter",
            scanned=True,
        ),
        Sample(
            "ppn scan.pdf",
            lambda: _scanned_pdf(
                ["POLICE PROTECTION NOTICE", "Date: 02/02/2024"], scanned_on=_at(2025, 1, 5)
            ),
            d(2024, 2, 2),
            "police_notification",
            scanned=True,
        ),
        Sample(
            "signed plan.png",
            lambda: _png(["Safety plan", "Signed 20/03/2024"]),
            d(2024, 3, 20),
            "safety_plan",
            scanned=True,
        ),
    ]


def build_folder(root: Path, chosen: Sequence[Sample]) -> None:
    """Write the samples under ``root/CASE`` with one ACL file, every file 'copied' on one day."""
    (root / CASE).mkdir(parents=True)
    (root / "_acl.json").write_text(json.dumps({"acl": ["team:north"]}), encoding="utf-8")
    for sample in chosen:
        path = root / CASE / sample.name
        path.write_bytes(sample.build())
        os.utime(path, (COPIED.timestamp(), COPIED.timestamp()))


# --- scoring -----------------------------------------------------------------------------------


def _date_right(sample: Sample, created: dt.date | None, source: str | None) -> bool:
    if sample.date is None:  # nothing to find: right only when no date is claimed
        return source == "file_mtime"
    return created == sample.date


def _before(sample: Sample) -> tuple[dt.date, str | None]:
    """What the connector gave before: the e-mail's Date header, else the copy's time; no type."""
    if sample.name.endswith(".eml") and sample.date is not None and sample.name != "forwarded.eml":
        return sample.date, None
    return COPIED.date(), None


def evaluate(ocr: bool | None = None) -> dict[str, Any]:
    """Build the folder in a temporary directory, read it, and score every file."""
    use_ocr = shutil.which("tesseract") is not None if ocr is None else ocr
    chosen = [s for s in samples() if use_ocr or not s.scanned]
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "share"
        build_folder(root, chosen)
        connector = FilesConnector(root, ocr=use_ocr)
        items = list(connector.fetch(connector.initial_checkpoint()))
    found = {i.id: i for i in items if isinstance(i, Record)}
    failed = {i.source_ref: i.reason for i in items if isinstance(i, Failure)}

    files: list[dict[str, Any]] = []
    for sample in chosen:
        record = found.get(f"files:{CASE}/{sample.name}")
        created = record.created_at if record else None
        source = record.extra.get("date_source") if record else None
        doc_type = record.doc_type if record else None
        before_date, before_type = _before(sample)
        files.append(
            {
                "file": sample.name,
                "kind": sample.kind,
                "true_date": sample.date.isoformat() if sample.date else None,
                "true_doc_type": sample.doc_type,
                "date": created.isoformat() if created else None,
                "date_source": source,
                "doc_type": doc_type,
                "doc_type_source": record.extra.get("doc_type_source") if record else None,
                "date_right": _date_right(sample, created, source),
                "doc_type_right": doc_type == sample.doc_type,
                "before_date_right": _date_right(
                    sample, before_date, "file_mtime" if before_date == COPIED.date() else None
                ),
                "before_doc_type_right": before_type == sample.doc_type,
                "failure": failed.get(f"{CASE}/{sample.name}"),
            }
        )
    return _summary(files, ocr=use_ocr)


def _share(rows: Sequence[dict[str, Any]], key: str) -> dict[str, Any]:
    right = sum(1 for row in rows if row[key])
    return {"right": right, "of": len(rows), "share": round(right / len(rows), 3)}


def _summary(files: list[dict[str, Any]], *, ocr: bool) -> dict[str, Any]:
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in files:
        by_kind[row["kind"]].append(row)
    both = [{"both": r["date_right"] and r["doc_type_right"]} for r in files]
    return {
        "command": "python -m evaluation.files_metadata --out reports/files-metadata.json",
        "copied_on": COPIED.date().isoformat(),
        "ocr": ocr,
        "files": files,
        "date": _share(files, "date_right"),
        "doc_type": _share(files, "doc_type_right"),
        "date_and_doc_type": _share(both, "both"),
        "before": {
            "date": _share(files, "before_date_right"),
            "doc_type": _share(files, "before_doc_type_right"),
        },
        "by_kind": {
            kind: {"date": _share(rows, "date_right"), "doc_type": _share(rows, "doc_type_right")}
            for kind, rows in sorted(by_kind.items())
        },
        "date_sources": dict(sorted(Counter(str(r["date_source"]) for r in files).items())),
        "wrong": sorted(r["file"] for r in files if not (r["date_right"] and r["doc_type_right"])),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, help="write the JSON report here (sorted keys)")
    parser.add_argument("--no-ocr", action="store_true", help="leave the scans out")
    args = parser.parse_args(argv)
    report = evaluate(ocr=False if args.no_ocr else None)
    text = json.dumps(report, indent=2, sort_keys=True) + "\n"
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    summary = {k: report[k] for k in ("date", "doc_type", "date_and_doc_type", "before", "wrong")}
    print(json.dumps(summary, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
