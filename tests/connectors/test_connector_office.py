"""Office formats through the files connector: ODT, RTF, XLSX and legacy Word .doc.

Every document is generated here (``connector_documents``); nothing is downloaded.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
from pathlib import Path

import pytest
from connector_contract import failures, fetch_all, records
from connector_documents import (
    docx_bytes,
    email_bytes,
    encrypted_office_package,
    odt_bytes,
    rtf_bytes,
    word97_doc,
    xlsx_bytes,
)
from connector_extraction import documents_folder, extract_one, failure_of, record_of
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.extract import ExtractionError, Extractor
from connectors.files import FilesConnector
from connectors.limits import ExtractionLimits

needs_antiword = pytest.mark.skipif(
    shutil.which("antiword") is None, reason="antiword is not installed (apt: antiword)"
)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return documents_folder(tmp_path)


@pytest.fixture
def no_antiword(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine without antiword: nothing on PATH."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


# --- OpenDocument text -------------------------------------------------------------------------


def test_odt_headings_paragraphs_lists_and_tables_in_order(root: Path) -> None:
    body = (
        "<text:h text:outline-level='1'>Child protection plan</text:h>"
        "<text:p>Mia<text:s text:c='3'/>is <text:span>safe</text:span> at gran's."
        "<office:annotation><text:p>Reviewer comment</text:p></office:annotation></text:p>"
        "<text:p>Name:<text:tab/>Mia<text:line-break/>Age:<text:tab/>7</text:p>"
        "<text:tracked-changes><text:changed-region><text:deletion><text:p>Deleted wording"
        "</text:p></text:deletion></text:changed-region></text:tracked-changes>"
        "<text:list><text:list-item><text:p>Weekly visits</text:p></text:list-item>"
        "<text:list-item><text:p>GP check</text:p></text:list-item></text:list>"
        "<table:table><table:table-header-rows><table:table-row>"
        "<table:table-cell><text:p>Agency</text:p></table:table-cell>"
        "<table:table-cell><text:p>Contact</text:p></table:table-cell>"
        "</table:table-row></table:table-header-rows>"
        "<table:table-row><table:table-cell table:number-columns-spanned='2'>"
        "<text:p>Health visitor</text:p><text:p>weekly</text:p></table:table-cell>"
        "<table:covered-table-cell/></table:table-row>"
        "<table:table-row><table:table-cell><text:p>School</text:p></table:table-cell>"
        "<table:table-cell><text:p>Ms Lee</text:p></table:table-cell></table:table-row>"
        "</table:table>"
        "<text:p>See the box<draw:frame><draw:text-box><text:p>Police attended</text:p>"
        "</draw:text-box></draw:frame> below.</text:p>"
    )
    record = record_of(extract_one(root, "plan.odt", odt_bytes(body, title="CP plan v2")))
    assert record.title == "CP plan v2"
    assert record.text.splitlines() == [
        "Child protection plan",
        "Mia   is safe at gran's.",
        "Name:\tMia",
        "Age:\t7",
        "Weekly visits",
        "GP check",
        "Agency | Contact",
        "Health visitor weekly",
        "School | Ms Lee",
        "See the box below.",
        "Police attended",
    ]


def test_an_odt_without_a_title_is_titled_by_its_file_name(root: Path) -> None:
    record = record_of(extract_one(root, "visit note.odt", odt_bytes("<text:p>Seen</text:p>")))
    assert record.title == "visit note.odt"


def test_an_encrypted_odt_is_a_failure_saying_so(root: Path) -> None:
    data = odt_bytes("<text:p>Secret</text:p>", encrypted=True)
    assert failure_of(extract_one(root, "locked.odt", data)) == (
        "encrypted ODT: a password is needed to open it"
    )


def test_an_odt_whose_xml_declares_entities_is_refused(root: Path) -> None:
    laughs = '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
    data = odt_bytes("<text:p>&b;</text:p>", prolog=laughs)
    assert "declares a DTD" in failure_of(extract_one(root, "laughs.odt", data))


# --- RTF ---------------------------------------------------------------------------------------


def test_rtf_text_symbols_fields_and_tables(root: Path) -> None:
    body = (
        "Case note\\par "
        "Mia said \\ldblquote I feel safe\\rdblquote  \\emdash  at gran\\rquote s.\\par "
        '{\\field{\\*\\fldinst HYPERLINK "https://cms.example/42"}{\\fldrslt Open in CMS}}\\par '
        "{\\pict\\pngblip 89504e470d0a1a0a}{\\*\\bkmkstart plan}{\\footer Page 1\\par}"
        "\\trowd\\cellx2000\\cellx4000\\pard\\intbl Agency\\cell Contact\\cell\\row "
        "\\pard\\intbl Health visitor\\par weekly\\cell Ms Lee\\cell\\row "
        "\\pard Name:\\tab Mia\\line Age:\\tab 7"
    )
    record = record_of(extract_one(root, "note.rtf", rtf_bytes(body, raw=True, title="Note 1")))
    assert record.title == "Note 1"
    assert record.text.splitlines() == [
        "Case note",
        "Mia said \u201cI feel safe\u201d \u2014 at gran\u2019s.",
        "Open in CMS",
        "Agency | Contact",
        "Health visitor weekly | Ms Lee",
        "Name:\tMia",
        "Age:\t7",
    ]
    for hidden in ("OFFICIAL-SENSITIVE", "Times New Roman", "Casesearch tests", "Duty desk"):
        assert hidden not in record.text  # header, font table, generator, \info author


def test_rtf_bytes_follow_the_code_page_of_the_document_and_of_the_font(root: Path) -> None:
    cyrillic = rtf_bytes("Привет, Мия", codepage=1251)
    assert "\\'cf" in cyrillic.decode("latin-1")  # written as \'hh bytes, not \u
    assert record_of(extract_one(root, "ru.rtf", cyrillic)).text == "Привет, Мия"
    by_font = (
        b"{\\rtf1\\ansi\\ansicpg1252\\deff0{\\fonttbl{\\f0\\fnil\\fcharset0 Arial;}"
        b"{\\f1\\fnil\\fcharset204 Arial Cyr;}}"
        b"\\pard caf\\'e9 {\\f1 \\'cf\\'f0\\'e8\\'e2\\'e5\\'f2} caf\\'e9\\par}"
    )
    assert record_of(extract_one(root, "font.rtf", by_font)).text == "café Привет café"
    japanese = b"{\\rtf1\\ansi\\ansicpg932 \\'82\\'a0\\'82\\'a2 \\u26085 ?\\u26412 ?\\par}"
    assert record_of(extract_one(root, "ja.rtf", japanese)).text == "あい 日本"


_TEXT = st.text(
    st.characters(exclude_categories=("Cs", "Cc", "Co")) | st.sampled_from("\n\t\\{}?"),
    max_size=120,
)


@settings(max_examples=300, deadline=None)
@given(text=_TEXT, codepage=st.sampled_from([1250, 1251, 1252, 1253]), uc=st.integers(0, 2))
def test_property_rtf_gives_back_any_text_an_rtf_writer_encoded(
    text: str, codepage: int, uc: int
) -> None:
    """Whatever the characters (\\'hh in the code page, \\uN with 0–2 fallbacks, surrogate
    pairs), the words that come out are the words that went in."""
    extracted = Extractor(ocr=False).extract(".rtf", rtf_bytes(text, codepage=codepage, uc=uc))
    assert extracted.text.split() == text.split()


# --- XLSX --------------------------------------------------------------------------------------


def test_xlsx_sheets_rows_and_cached_formula_values(root: Path) -> None:
    data = xlsx_bytes(
        {
            "Visits": [
                ["Date", "Worker", "Seen alone", "Hours"],
                [dt.datetime(2024, 3, 5), "sw-1", True, 1.5],
                [],
                [dt.datetime(2024, 3, 12, 14, 30), "sw-2", False, 2.0],
                ["Total", None, None, "=D2+D4"],
            ],
            "Empty": [],
            "Contacts": [["GP", "Dr Patel", None, "01234 567890"]],
        },
        cached={"D2+D4": "3.5"},
    )
    record = record_of(extract_one(root, "visits.xlsx", data))
    assert record.text.splitlines() == [
        "Sheet: Visits",
        "Date | Worker | Seen alone | Hours",
        "2024-03-05 | sw-1 | TRUE | 1.5",
        "2024-03-12 14:30:00 | sw-2 | FALSE | 2",
        "Total |  |  | 3.5",
        "",
        "Sheet: Contacts",
        "GP | Dr Patel |  | 01234 567890",
    ]


def test_a_workbook_over_the_cell_limit_is_a_failure(root: Path) -> None:
    data = xlsx_bytes({"Log": [["visit", "seen"]] * 8})
    reason = failure_of(extract_one(root, "log.xlsx", data, max_cells=10))
    assert "more than 10 cells" in reason
    assert "Log" in record_of(extract_one(root, "log.xlsx", data, max_cells=16)).text


@pytest.mark.parametrize("name", ["locked.xlsx", "locked.docx"])
def test_a_password_protected_office_file_is_a_failure_saying_encrypted(
    root: Path, name: str
) -> None:
    kind = name.rpartition(".")[2].upper()
    assert failure_of(extract_one(root, name, encrypted_office_package())) == (
        f"encrypted {kind}: a password is needed to open it"
    )


def test_a_legacy_binary_file_renamed_xlsx_says_so(root: Path) -> None:
    reason = failure_of(extract_one(root, "old.xlsx", word97_doc(["Not a workbook"])))
    assert "older binary Office file" in reason


@pytest.mark.parametrize("name", ["big.xlsx", "big.odt", "big.docx"])
def test_a_document_that_unpacks_past_the_limit_is_refused(
    root: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("connectors.office.MAX_UNPACKED_BYTES", 10_000)
    body = "<text:p>" + "Repeated visit note. " * 1000 + "</text:p>"
    data = {
        "big.xlsx": xlsx_bytes({"Log": [["Repeated visit note."] * 50] * 40}),
        "big.odt": odt_bytes(body),
        "big.docx": docx_bytes(["Repeated visit note. " * 1000]),
    }[name]
    here = ExtractionLimits(isolate=False)  # the patch reaches this process only
    assert "more than the 10,000-byte limit" in failure_of(
        extract_one(root, name, data, limits=here)
    )


# --- legacy Word .doc --------------------------------------------------------------------------


@needs_antiword
def test_a_word_97_doc_is_read_with_antiword(root: Path) -> None:
    data = word97_doc(["Core group minutes", "Mother engaged well — café visit.", "Review: May"])
    record = record_of(extract_one(root, "minutes.doc", data))
    assert record.text.splitlines() == [
        "Core group minutes",
        "Mother engaged well — café visit.",
        "Review: May",
    ]
    assert record.title == "minutes.doc"


@needs_antiword
def test_a_doc_whose_name_looks_like_an_option_is_read(root: Path) -> None:
    record = record_of(extract_one(root, "-w 5 notes.doc", word97_doc(["Seen at home"])))
    assert record.text == "Seen at home"


@needs_antiword
def test_an_encrypted_doc_is_a_failure_saying_so(root: Path) -> None:
    data = word97_doc(["Secret"], encrypted=True)
    assert failure_of(extract_one(root, "locked.doc", data)) == (
        "encrypted DOC: a password is needed to open it"
    )


@needs_antiword
def test_a_corrupt_doc_is_a_failure_from_antiword(root: Path) -> None:
    reason = failure_of(extract_one(root, "bad.doc", bytes(range(256)) * 4))
    assert reason == "corrupt or unreadable DOC: antiword: the file is not a Word Document."


@pytest.mark.usefixtures("no_antiword")
def test_without_antiword_each_doc_fails_and_the_rest_is_read(root: Path) -> None:
    (root / "a.doc").write_bytes(word97_doc(["First"]))
    (root / "b.doc").write_bytes(word97_doc(["Second"]))
    (root / "note.txt").write_text("Still indexed.")
    items = fetch_all(FilesConnector(root))
    missing = "legacy .doc needs antiword; install it or save as .docx"
    assert {(f.source_ref, f.reason) for f in failures(items)} == {
        ("a.doc", missing),
        ("b.doc", missing),
    }
    assert [record.id for record in records(items)] == ["files:note.txt"]


@pytest.mark.usefixtures("no_antiword")
def test_rtf_or_docx_saved_with_a_doc_name_is_read_without_antiword(root: Path) -> None:
    rtf = record_of(extract_one(root, "letter.doc", rtf_bytes("Letter saved as RTF")))
    assert rtf.text == "Letter saved as RTF"
    docx = record_of(extract_one(root, "plan.doc", docx_bytes(["Plan saved as DOCX"])))
    assert docx.text == "Plan saved as DOCX"


def test_antiword_errors_and_hangs_become_readable_failures(tmp_path: Path) -> None:
    failing = tmp_path / "failing-antiword"
    failing.write_text(
        '#!/bin/sh\nfor last; do :; done\necho "$last is not a Word Document." >&2\nexit 1\n'
    )
    hanging = tmp_path / "hanging-antiword"
    hanging.write_text(f"#!{sys.executable}\nimport time\ntime.sleep(30)\n")
    for script in (failing, hanging):
        script.chmod(0o755)
    with pytest.raises(ExtractionError) as failed:
        Extractor(ocr=False, antiword=str(failing)).extract(".doc", b"\xd0\xcf\x11\xe0junk")
    # The private copy's path is not shown: the connector adds the file's own path.
    assert (
        failed.value.reason
        == "corrupt or unreadable DOC: antiword: the file is not a Word Document."
    )
    with pytest.raises(ExtractionError) as hung:
        Extractor(ocr=False, antiword=str(hanging), doc_timeout_s=0.5).extract(".doc", b"x")
    assert hung.value.reason == "antiword did not finish within 0.5 s (a damaged .doc?)"


# --- damaged files and e-mail attachments ------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("garbage.odt", bytes(range(256)) * 4, "corrupt or unreadable ODT: "),
        ("cut.odt", odt_bytes("<text:p>Cut short</text:p>")[:300], "corrupt or unreadable ODT: "),
        ("no-content.odt", xlsx_bytes({"S": [["x"]]}), "not an OpenDocument file"),
        ("garbage.rtf", bytes(range(256)) * 4, "not an RTF document"),
        ("garbage.xlsx", bytes(range(256)) * 4, "corrupt or unreadable XLSX: "),
        ("cut.xlsx", xlsx_bytes({"S": [["Cut short"]]})[:300], "corrupt or unreadable XLSX: "),
    ],
)
def test_a_damaged_office_file_is_a_failure_naming_it(
    root: Path, name: str, data: bytes, reason: str
) -> None:
    # extract_one checks that the failure names the file
    assert failure_of(extract_one(root, name, data)).startswith(reason)


def test_email_attachments_of_the_new_types_are_read(root: Path) -> None:
    data = email_bytes(
        subject="Documents from school",
        body="See attached.",
        attachments=[
            (
                "review.odt",
                "application/vnd.oasis.opendocument.text",
                odt_bytes("<text:p>Attendance review</text:p>"),
            ),
            ("letter", "text/rtf", rtf_bytes("Lunch money taken")),  # the MIME type decides
            (
                "register.xlsx",
                "application/octet-stream",
                xlsx_bytes({"Register": [["Absent", "3 days"]]}),
            ),
            ("broken.odt", "application/vnd.oasis.opendocument.text", b"not a zip"),
        ],
    )
    record = record_of(extract_one(root, "mail.eml", data))
    assert "Attachment: review.odt\nAttendance review" in record.text
    assert "Attachment: letter\nLunch money taken" in record.text
    assert "Attachment: register.xlsx\nSheet: Register\nAbsent | 3 days" in record.text
    assert "corrupt or unreadable ODT" in record.extra["attachment_errors"]["broken.odt"]


@needs_antiword
def test_a_doc_attached_to_an_email_is_read(root: Path) -> None:
    data = email_bytes(
        subject="Old report",
        body="Attached.",
        attachments=[("report.doc", "application/msword", word97_doc(["Report from 2003"]))],
    )
    assert (
        "Attachment: report.doc\nReport from 2003"
        in record_of(extract_one(root, "mail.eml", data)).text
    )
