"""A folder of real documents is indexed and each one is found by a phrase from its text."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from connectors.files import FilesConnector
from indexer import Indexer
from retrieval.models import AccessScope, SearchFilters, SearchRequest
from retrieval.search import HybridSearcher

sys.path.append(str(Path(__file__).resolve().parents[1] / "connectors"))
from connector_documents import (
    docx_bytes,
    email_bytes,
    image_only_pdf,
    scan_png,
    text_pdf,
)

pytestmark = pytest.mark.slow
needs_ocr = pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract not installed")

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
    for relative, data in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if isinstance(data, bytes) else data.encode())
    (root / "_acl.json").write_text(json.dumps({"acl": ["team:a"], "deny": []}))

    summary = indexer.run(FilesConnector(root))
    assert (summary.added, summary.failed) == (len(files), 0), summary.failures

    for where, phrase in PHRASES.items():
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
    nobody = searcher.search(
        SearchRequest(text="wheeze inhaler", scope=AccessScope.of("team:b"), understand=False)
    )
    assert nobody.hits == ()
