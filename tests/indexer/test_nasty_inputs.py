"""No single input stops an indexing run: a bad file, line or record becomes a stored failure
naming it, the rest is indexed, and the next run goes past it too."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from connectors.files import FilesConnector
from connectors.jsonl import JsonlConnector
from connectors.sandbox import IsolatedExtractor
from indexer import Indexer
from indexer.pipeline import NOT_INDEXED
from retrieval.chunking import ChunkingConfig
from retrieval.embedding import Embedder, Vectors
from retrieval.store import RecordStore

sys.path.append(str(Path(__file__).resolve().parents[1] / "connectors"))
from connector_documents import docx_bytes, email_bytes, text_pdf
from factories import make_record
from nasty_inputs import (
    nested_multipart_email,
    peak_rss_bytes,
    reset_peak_rss,
    write_bytes_named,
    write_docx_bomb,
)

GOOD = "Home visit: the family were seen together and the plan was agreed."


class PoisonedEmbedder:
    """The real embedder, except that a batch holding ``POISON`` raises (a model crash)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner

    @property
    def fingerprint(self) -> str:
        return self.inner.fingerprint

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        if any("POISON" in text for text in texts):
            raise RuntimeError("the model failed on this text")
        return self.inner.embed(texts, progress=progress)


def acl(root: Path) -> None:
    (root / "_acl.json").write_text(json.dumps({"acl": ["team:north-1"]}))


# --- one record at index time -------------------------------------------------------------------


def test_a_text_spacy_refuses_fails_alone_and_its_batch_is_indexed(
    indexer: Indexer, store: RecordStore
) -> None:
    before, after = make_record(text=GOOD), make_record(text=GOOD + " Second.")
    # Built directly, past parse_record's cap: spaCy's own limit (E088) is what stops it.
    huge = dataclasses.replace(make_record(), text="a " * 10_000_001)
    summary = indexer.apply([before, huge, after], source="push")
    assert summary.added == 2
    assert len(summary.failures) == 1
    ref, reason = summary.failures[0]
    assert ref == huge.id
    assert reason.startswith(NOT_INDEXED)
    assert "E088" in reason
    assert store.document(before.id) is not None
    assert store.document(after.id) is not None
    assert store.document(huge.id) is None
    assert [row.source_ref for row in store.failures("push")] == [huge.id]


def test_a_lone_surrogate_in_a_record_built_directly_fails_alone(
    indexer: Indexer, store: RecordStore
) -> None:
    good = make_record(text=GOOD)
    bad = dataclasses.replace(make_record(), text="broken \ud800 text")
    summary = indexer.apply([bad, good], source="push")
    assert summary.added == 1
    assert summary.failures[0][0] == bad.id
    assert "UnicodeEncodeError" in summary.failures[0][1]
    assert store.document(good.id) is not None


def test_an_embedding_crash_fails_only_its_record(store: RecordStore, embedder: Embedder) -> None:
    indexer = Indexer(store, PoisonedEmbedder(embedder), ChunkingConfig(max_words=60))
    good, bad = make_record(text=GOOD), make_record(text="POISON " + GOOD)
    summary = indexer.apply([good, bad], source="push")
    assert summary.added == 1
    assert [ref for ref, _ in summary.failures] == [bad.id]
    assert "the model failed on this text" in summary.failures[0][1]


def test_an_index_time_failure_is_kept_across_runs_until_the_file_goes(
    tmp_path: Path, store: RecordStore, embedder: Embedder
) -> None:
    root = tmp_path / "cases"
    root.mkdir()
    acl(root)
    (root / "good.txt").write_text(GOOD)
    (root / "bad.txt").write_text("POISON " + GOOD)
    indexer = Indexer(store, PoisonedEmbedder(embedder), ChunkingConfig(max_words=60))
    first = indexer.run(FilesConnector(root))
    assert [ref for ref, _ in first.failures] == ["files:bad.txt"]
    # The file is checkpointed (re-reading it would fail the same way), so the next complete
    # run does not report it; the failure must stay anyway.
    second = indexer.run(FilesConnector(root))
    assert second.failures == []
    assert second.resolved == 0
    assert [row.source_ref for row in store.failures()] == ["files:bad.txt"]
    (root / "bad.txt").unlink()
    indexer.run(FilesConnector(root))
    assert store.failures() == []


# --- whole runs ----------------------------------------------------------------------------------


def test_a_jsonl_run_goes_past_bad_lines_and_so_does_the_next(
    tmp_path: Path, indexer: Indexer, store: RecordStore
) -> None:
    def line(record_id: str, text: str = GOOD) -> str:
        return json.dumps({"id": record_id, "text": text, "acl": ["team:north-1"]})

    path = tmp_path / "cms.jsonl"
    lines = [
        line("r1"),
        '{"id": "r2", "text": "broken \\ud800 escape", "acl": ["team:north-1"]}',
        '{"id": "r3", "deleted": "true"}',
        line("r4", "a" * (20 * 2**20)),
        line("r5"),
    ]
    path.write_text("".join(f"{text}\n" for text in lines))
    summary = indexer.run(JsonlConnector(path, checkpoint_every=1))
    assert sorted(ref for ref, _ in summary.failures) == [f"{path}:{n}" for n in (2, 3, 4)]
    assert {store.document(i) is not None for i in ("r1", "r5")} == {True}
    with path.open("a") as handle:
        handle.write(line("r6") + "\n")
    again = indexer.run(JsonlConnector(path, checkpoint_every=1))
    assert again.added == 1
    assert again.failures == []
    assert len(store.failures()) == 3


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_folder_of_nasty_files_is_indexed_around_them(
    tmp_path: Path, indexer: Indexer, store: RecordStore
) -> None:
    root = tmp_path / "nasty"
    root.mkdir()
    acl(root)
    good = {
        "good/note.txt": GOOD.encode(),
        "good/minutes.docx": docx_bytes(["Core group agreed weekly unannounced visits."]),
        "good/letter.pdf": text_pdf([["Dear colleague,", "Mia has a persistent wheeze."]]),
        "good/from-school.eml": email_bytes(
            subject="Attendance", body="Lunch money taken by older pupils."
        ),
        "good/update.html": b"<p>Attendance has fallen to seventy percent.</p>",
    }
    for rel, data in good.items():
        (root / rel).parent.mkdir(exist_ok=True)
        (root / rel).write_bytes(data)
    (root / "bad").mkdir()
    (root / "bad/deep.eml").write_bytes(nested_multipart_email(3000))
    os.mkfifo(root / "bad/pipe.txt")
    write_bytes_named(root / "bad", b"name-\xff.txt", b"A note with a name that is not UTF-8.")
    (root / "bad/long.txt").write_text("word " * 1_000_001)
    write_docx_bomb(root / "bad/bomb.docx", 300_000_000)
    (root / "bad/broken.pdf").write_bytes(b"%PDF-1.4 not really a PDF")
    (root / "bad/link.txt").symlink_to(root / "good/note.txt")  # skipped, as documented

    reset_peak_rss()
    connector = FilesConnector(root)
    assert isinstance(connector.extractor, IsolatedExtractor)
    started = time.perf_counter()
    summary = indexer.run(connector)
    elapsed = time.perf_counter() - started
    peak = peak_rss_bytes()
    child_peak = connector.extractor.peak_rss_bytes

    failed = dict(summary.failures)
    print(
        f"\nnasty-file run: {elapsed:.1f} s, indexer peak RSS {peak / 2**20:.0f} MiB, "
        f"extraction child peak RSS {child_peak / 2**20:.0f} MiB"
    )
    for ref, reason in sorted(failed.items()):
        print(f"  {ref}: {reason}")
    assert sorted(failed) == [
        "bad/bomb.docx",
        "bad/broken.pdf",
        "bad/deep.eml",
        "bad/long.txt",
        "bad/name-\\xff.txt",
        "bad/pipe.txt",
    ]
    assert "XML elements" in failed["bad/bomb.docx"]
    assert "multipart sections" in failed["bad/deep.eml"]
    assert "5,000,000-character limit" in failed["bad/long.txt"]
    assert "not valid UTF-8" in failed["bad/name-\\xff.txt"]
    assert "FIFO" in failed["bad/pipe.txt"]
    assert summary.added == len(good)
    for rel in good:
        assert store.document(f"files:{rel}") is not None, rel
    stored = {row.source_ref for row in store.failures()}
    assert stored == set(failed)
    # The next run goes past them again: nothing new, the same failures.
    again = indexer.run(FilesConnector(root))
    assert again.added == 0
    assert sorted(dict(again.failures)) == sorted(failed)
