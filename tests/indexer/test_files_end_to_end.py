"""A folder of real documents is indexed and each one is found by a phrase from its text."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
from pathlib import Path

import pytest

from connectors.files import FilesConnector
from indexer import Indexer
from retrieval.chunking import ChunkingConfig
from retrieval.embedding import Embedder
from retrieval.models import AccessScope, SearchFilters, SearchRequest
from retrieval.search import HybridSearcher
from retrieval.store import RecordStore

sys.path.append(str(Path(__file__).resolve().parents[1] / "connectors"))
from connector_documents import (
    docx_bytes,
    email_bytes,
    image_only_pdf,
    odt_bytes,
    rtf_bytes,
    scan_png,
    text_pdf,
    word97_doc,
    xlsx_bytes,
)

pytestmark = pytest.mark.slow
needs_ocr = pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract not installed")
needs_antiword = pytest.mark.skipif(
    shutil.which("antiword") is None, reason="antiword not installed"
)

PHRASES = {
    "CASE-9/letter/gp-letter.pdf": "persistent wheeze treated with an inhaler",
    "CASE-9/assessment/scan-page.pdf": "grandmother collects Mia after school",
    "CASE-9/case_note/minutes.docx": "core group agreed weekly unannounced visits",
    "CASE-9/school_contact/update.html": "attendance has fallen to seventy percent",
    "CASE-9/email/from-school.eml": "lunch money taken by older pupils",
    "CASE-9/email/from-school.eml#attachment": "referral to the school counsellor",
    "CASE-9/letter/scanned-letter.png": "housing officer visited the flat",
}


@needs_ocr
def test_each_real_document_is_found_by_a_phrase_from_its_text(
    tmp_path: Path, indexer: Indexer, searcher: HybridSearcher
) -> None:
    root = tmp_path / "case-files"
    files = {
        "CASE-9/letter/gp-letter.pdf": text_pdf(
            [["Dear colleague,", "Mia has a persistent wheeze treated with an inhaler."]]
        ),
        "CASE-9/assessment/scan-page.pdf": image_only_pdf(
            ["Our grandmother collects Mia", "after school on weekdays."]
        ),
        "CASE-9/case_note/minutes.docx": docx_bytes(
            ["Core group meeting.", "The core group agreed weekly unannounced visits."]
        ),
        "CASE-9/school_contact/update.html": (
            b"<html><head><title>School update</title></head><body><p>Mia's attendance"
            b" has fallen to seventy percent this term.</p><script>x()</script></body></html>"
        ),
        "CASE-9/email/from-school.eml": email_bytes(
            subject="Concerns about Mia",
            body="Mia told staff her lunch money was taken by older pupils.",
            attachments=[
                (
                    "plan.pdf",
                    "application/pdf",
                    text_pdf([["We have made a referral to the school counsellor."]]),
                )
            ],
        ),
        "CASE-9/letter/scanned-letter.png": scan_png(
            ["The housing officer", "visited the flat today."]
        ),
    }
    write_case_files(root, files)
    summary = indexer.run(FilesConnector(root))
    assert (summary.added, summary.failed) == (len(files), 0), summary.failures
    assert_found_first(searcher, PHRASES)
    nobody = searcher.search(
        SearchRequest(text="wheeze inhaler", scope=AccessScope.of("team:b"), understand=False)
    )
    assert nobody.hits == ()


@needs_antiword
def test_office_documents_are_found_by_a_phrase_from_their_text(
    tmp_path: Path, indexer: Indexer, searcher: HybridSearcher
) -> None:
    root = tmp_path / "case-files"
    files = {
        "CASE-9/assessment/review.odt": odt_bytes(
            "<text:h>Review</text:h><text:p>Mia now sleeps in her own room at gran's.</text:p>",
            title="Assessment review",
        ),
        "CASE-9/letter/old-letter.rtf": rtf_bytes(
            "Dear Ms Brown,\nThe paediatrician confirmed the fracture was accidental."
        ),
        "CASE-9/case_note/contacts.xlsx": xlsx_bytes(
            {"Contacts": [["Agency", "Note"], ["Youth club", "reports regular attendance"]]}
        ),
        "CASE-9/letter/legacy.doc": word97_doc(
            ["Legacy letter", "The family moved to temporary accommodation in Leeds."]
        ),
    }
    write_case_files(root, files)
    summary = indexer.run(FilesConnector(root))
    assert (summary.added, summary.failed) == (len(files), 0), summary.failures
    assert_found_first(
        searcher,
        {
            "CASE-9/assessment/review.odt": "sleeps in her own room",
            "CASE-9/letter/old-letter.rtf": "fracture was accidental",
            "CASE-9/case_note/contacts.xlsx": "youth club regular attendance",
            "CASE-9/letter/legacy.doc": "temporary accommodation in Leeds",
        },
    )


def test_a_manifest_row_for_a_missing_file_is_quarantined_and_deletions_still_happen(
    tmp_path: Path, indexer: Indexer, store: RecordStore
) -> None:
    root = tmp_path / "case-files"
    write_case_files(
        root,
        {
            "CASE-9/case_note/a.txt": b"Mia was seen alone in her bedroom.",
            "CASE-9/case_note/b.txt": b"Gran attended the core group meeting.",
        },
    )
    (root / "manifest.csv").write_text(
        "path,doc_type\nCASE-9/case_note/a.txt,visit_note\nCASE-9/case_note/b.txt,case_note\n"
    )
    connector = FilesConnector(root)
    first = indexer.run(connector)
    assert (first.added, first.failed) == (2, 0), first.failures

    # The file goes while its manifest row stays, and the stored checkpoint is lost (as after
    # a restore): only the deletion check through list_ids() can remove the record now.
    (root / "CASE-9" / "case_note" / "b.txt").unlink()
    with store.transaction() as conn:
        store.clear_checkpoint(conn, connector.source_id)
    missing = ("manifest.csv:3", "the file named in path, 'CASE-9/case_note/b.txt', was not found")
    second = indexer.run(FilesConnector(root))
    assert (second.added, second.deleted, second.failures) == (0, 1, [missing])
    assert store.document("files:CASE-9/case_note/b.txt") is None
    assert store.document("files:CASE-9/case_note/a.txt") is not None

    third = indexer.run(FilesConnector(root))
    assert (third.added, third.updated, third.deleted, third.failures) == (0, 0, 0, [missing])
    # `casesearch failures` lists it once, however many runs reported it.
    assert [(row.source_ref, row.reason) for row in store.failures(connector.source_id)] == [
        missing
    ]


def write_case_files(root: Path, files: dict[str, bytes]) -> None:
    """The files under ``root``, readable by ``team:a``."""
    for relative, data in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (root / "_acl.json").write_text(json.dumps({"acl": ["team:a"], "deny": []}))


def assert_found_first(searcher: HybridSearcher, phrases: dict[str, str]) -> None:
    """Each phrase, searched within CASE-9 as team:a, finds its file first."""
    for where, phrase in phrases.items():
        result = searcher.search(
            SearchRequest(
                text=phrase,
                scope=AccessScope.of("team:a"),
                filters=SearchFilters(case_id="CASE-9"),
                mode="bm25",
                understand=False,
            )
        )
        expected = "files:" + where.split("#")[0]
        assert result.hits, where
        assert result.hits[0].document_id == expected, (where, [h.document_id for h in result.hits])
        assert all(w.lower() in result.hits[0].snippet.text.lower() for w in phrase.split()[:2])


def test_a_fixed_file_or_manifest_row_leaves_the_failures_list(
    tmp_path: Path, indexer: Indexer, store: RecordStore
) -> None:
    """Failures are stored under the file's path or the manifest line, not a record id, so
    a complete run that no longer reports one is what clears it."""
    root = tmp_path / "case-files"
    write_case_files(
        root,
        {
            "CASE-9/case_note/a.txt": b"Mia was seen alone in her bedroom.",
            "CASE-9/letter/broken.pdf": b"%PDF-1.7 this is not really a PDF",
        },
    )
    (root / "manifest.csv").write_text(
        "path,doc_type\nCASE-9/case_note/a.txt,visit_note\nCASE-9/case_note/gone.txt,case_note\n"
    )
    connector = FilesConnector(root)
    first = indexer.run(connector)
    refs = sorted(ref for ref, _ in first.failures)
    assert refs == ["CASE-9/letter/broken.pdf", "manifest.csv:3"]
    assert sorted(row.source_ref for row in store.failures(connector.source_id)) == refs

    (root / "CASE-9" / "letter" / "broken.pdf").write_bytes(text_pdf([["Letter from the GP."]]))
    (root / "manifest.csv").write_text("path,doc_type\nCASE-9/case_note/a.txt,visit_note\n")
    second = indexer.run(FilesConnector(root))
    assert (second.added, second.failed, second.resolved) == (1, 0, 2)
    assert store.failures(connector.source_id) == []
    assert store.document("files:CASE-9/letter/broken.pdf") is not None

    third = indexer.run(FilesConnector(root))
    assert (third.added, third.failed, third.resolved) == (0, 0, 0)


def test_dates_and_types_read_from_the_files_filter_the_search(
    tmp_path: Path, indexer: Indexer, searcher: HybridSearcher
) -> None:
    root = tmp_path / "case-files"
    write_case_files(
        root,
        {
            # no type folders and every file copied today: only the documents know
            "CASE-9/plan.txt": b"Safety plan - 3 March 2024\nGran collects Mia from school.",
            "CASE-9/visit.docx": docx_bytes(
                ["Record of home visit", "Date of visit: 04/03/2024", "Mia collects stickers."]
            ),
            "CASE-9/mail.eml": email_bytes(subject="Re: Tuesday", body="Mia collects at three."),
        },
    )
    summary = indexer.run(FilesConnector(root))
    assert summary.added == 3

    def found(**filters: object) -> list[str]:
        result = searcher.search(
            SearchRequest(
                text="Mia collects",
                scope=AccessScope.of("team:a"),
                filters=SearchFilters(case_id="CASE-9", **filters),  # type: ignore[arg-type]
                mode="bm25",
                understand=False,
            )
        )
        return sorted(hit.document_id for hit in result.hits)

    assert found(doc_types=("safety_plan",)) == ["files:CASE-9/plan.txt"]
    assert found(doc_types=("visit_note",)) == ["files:CASE-9/visit.docx"]
    # the e-mail's Date header is 5 March 2024
    early_march = {"date_from": dt.date(2024, 3, 1), "date_to": dt.date(2024, 3, 4)}
    assert found(**early_march) == ["files:CASE-9/plan.txt", "files:CASE-9/visit.docx"]
    assert found(doc_types=("email",), date_from=dt.date(2024, 3, 5)) == ["files:CASE-9/mail.eml"]


def test_the_progress_bar_has_a_total_and_says_when_the_model_loads(
    tmp_path: Path, store: RecordStore, embedder: Embedder, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "case-files"
    write_case_files(root, {f"CASE-9/note-{n}.txt": f"Note {n}.".encode() for n in range(5)})
    indexer = Indexer(store, embedder, ChunkingConfig(max_words=60), progress=True)
    indexer.run(FilesConnector(root))
    shown = capsys.readouterr().err.replace("\r", "\n")
    assert "loading the model" in shown
    assert "0/5" in shown  # a total from the first moment, not "0 records, ? records/s"
    assert "5/5" in shown
