"""Files connector: the shared contract, metadata conventions and change detection.

Text extraction per format is tested in ``test_connector_extract.py``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import pathlib
from pathlib import Path

import pytest
from connector_contract import (
    ACL,
    ConnectorContract,
    SourceHarness,
    changes,
    failures,
    fetch_all,
    final_checkpoint,
    records,
)
from connector_documents import email_bytes, text_pdf

from connectors.base import SourceItem
from connectors.errors import FatalConnectorError
from connectors.files import FilesCheckpoint, FilesConnector
from connectors.record import Record, Tombstone

_CLOCK = itertools.count(1)


def write(path: Path, data: str | bytes) -> Path:
    """Write a file with a strictly later mtime than any before, so a change is always seen."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    stamp = 1_700_000_000_000_000_000 + next(_CLOCK) * 1_000_000_000
    os.utime(path, ns=(stamp, stamp))
    return path


def acl_file(
    folder: Path, acl: list[str], deny: list[str] | None = None, name: str = "_acl.json"
) -> None:
    write(folder / name, json.dumps({"acl": acl, "deny": deny or []}))


class FilesHarness(SourceHarness):
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir()
        acl_file(root, ACL)

    def connector(self) -> FilesConnector:
        return FilesConnector(self.root, checkpoint_every=2)

    def _path(self, key: str, suffix: str = ".txt") -> Path:
        return self.root / "CASE-1" / "case_note" / f"{key}{suffix}"

    def put(self, key: str, text: str) -> None:
        write(self._path(key), text)

    def delete(self, key: str) -> None:
        self._path(key).unlink()

    def put_bad(self, key: str) -> str:
        write(self._path(key, ".pdf"), b"%PDF-1.4 this is not really a PDF")
        return f"CASE-1/case_note/{key}.pdf"

    def record_id(self, key: str) -> str:
        return f"files:CASE-1/case_note/{key}.txt"


class TestFilesContract(ConnectorContract):
    @pytest.fixture
    def harness(self, tmp_path: Path) -> SourceHarness:
        return FilesHarness(tmp_path / "root")


# --- helpers -----------------------------------------------------------------------------------


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "cases"
    folder.mkdir()
    return folder


def read(root: Path, **options: object) -> list[SourceItem]:
    return fetch_all(FilesConnector(root, **options))  # type: ignore[arg-type]


def by_id(items: list[SourceItem]) -> dict[str, Record]:
    return {record.id: record for record in records(items)}


def reasons(items: list[SourceItem]) -> dict[str, str]:
    return {failure.source_ref: failure.reason for failure in failures(items)}


# --- ids, conventions and metadata -------------------------------------------------------------


def test_folder_conventions_give_case_type_id_and_uri(root: Path) -> None:
    acl_file(root, ["team:north-1"])
    write(root / "CASE-1042" / "safety_plan" / "plan v2.txt", "Safety plan: Mia stays with gran.")
    write(root / "CASE-1042" / "loose.md", "# Note\nSeen at school.")
    write(root / "top.txt", "Not filed under a case.")
    items = by_id(read(root))
    plan = items["files:CASE-1042/safety_plan/plan v2.txt"]
    assert (plan.case_id, plan.doc_type) == ("CASE-1042", "safety_plan")
    assert plan.source_uri == "file://CASE-1042/safety_plan/plan%20v2.txt"
    assert plan.title == "plan v2.txt"
    assert plan.acl == ("team:north-1",)
    loose = items["files:CASE-1042/loose.md"]
    assert (loose.case_id, loose.doc_type) == ("CASE-1042", None)
    top = items["files:top.txt"]
    assert (top.case_id, top.doc_type) == (None, None)


def test_created_at_defaults_to_the_modification_date(root: Path) -> None:
    acl_file(root, ["team:a"])
    path = write(root / "note.txt", "Seen.")
    stamp = dt.datetime(2023, 6, 1, 12, 0, tzinfo=dt.UTC).timestamp()
    os.utime(path, (stamp, stamp))
    record = by_id(read(root))["files:note.txt"]
    assert record.created_at == dt.date(2023, 6, 1)
    assert record.updated_at == dt.datetime(2023, 6, 1, 12, 0, tzinfo=dt.UTC)


def test_a_csv_manifest_supplies_metadata(root: Path) -> None:
    acl_file(root, ["team:folder"], deny=["user:folder-deny"])
    write(root / "CASE-9" / "x" / "note.txt", "Home visit: no concerns about neglect.")
    write(
        root / "manifest.csv",
        "path,id,case_id,doc_type,title,created_at,author,acl,deny\n"
        "CASE-9/x/note.txt,CMS-77,CASE-1042,visit_note,Home visit,2024-03-02,"
        "user:sw-1,team:north-1; role:qa,user:sw-3\n",
    )
    record = by_id(read(root))["CMS-77"]
    assert record.case_id == "CASE-1042"
    assert record.doc_type == "visit_note"
    assert record.title == "Home visit"
    assert record.created_at == dt.date(2024, 3, 2)
    assert record.author == "user:sw-1"
    assert record.acl == ("role:qa", "team:north-1")
    # a deny is never lost: the manifest's and the folder's both apply
    assert record.deny == ("user:folder-deny", "user:sw-3")


def test_a_jsonl_manifest_falls_back_to_folders_for_missing_fields(root: Path) -> None:
    write(root / "CASE-5" / "letter" / "a.txt", "Letter to parents.")
    write(root / "CASE-5" / "letter" / "b.txt", "Second letter.")
    write(
        root / "manifest.jsonl",
        json.dumps({"path": "CASE-5/letter/a.txt", "acl": ["team:x"], "title": "Letter A"})
        + "\n"
        + json.dumps({"path": "./CASE-5/letter/b.txt", "acl": "team:y;team:z"})
        + "\n",
    )
    items = by_id(read(root))
    a = items["files:CASE-5/letter/a.txt"]
    assert (a.case_id, a.doc_type, a.title, a.acl) == ("CASE-5", "letter", "Letter A", ("team:x",))
    assert items["files:CASE-5/letter/b.txt"].acl == ("team:y", "team:z")


def test_bad_manifest_rows_are_failures_naming_the_line(root: Path) -> None:
    acl_file(root, ["team:a"])
    write(root / "a.txt", "Fine.")
    write(
        root / "manifest.jsonl",
        "{broken\n"
        + json.dumps({"path": "../outside.txt"})
        + "\n"
        + json.dumps({"id": "x"})
        + "\n",
    )
    items = read(root)
    assert set(reasons(items)) == {"manifest.jsonl:1", "manifest.jsonl:2", "manifest.jsonl:3"}
    assert "files:a.txt" in by_id(items)


def test_a_file_whose_manifest_row_is_bad_fails_instead_of_falling_back(root: Path) -> None:
    acl_file(root, ["team:everyone"])
    write(root / "restricted.txt", "Only the named worker may see this.")
    write(root / "a.txt", "First owner of the id.")
    write(root / "b.txt", "Second claim on the id.")
    write(
        root / "manifest.jsonl",
        json.dumps({"path": "restricted.txt", "acl": 42})
        + "\n"
        + json.dumps({"path": "a.txt", "id": "CMS-1"})
        + "\n"
        + json.dumps({"path": "b.txt", "id": "CMS-1"})
        + "\n",
    )
    items = read(root)
    problems = reasons(items)
    assert set(problems) == {"manifest.jsonl:1", "restricted.txt", "manifest.jsonl:3", "b.txt"}
    assert "already used by a.txt" in problems["b.txt"]
    assert list(by_id(items)) == ["CMS-1"]


def test_a_manifest_row_for_a_missing_file_is_a_failure_naming_the_line(root: Path) -> None:
    acl_file(root, ["team:a"])
    write(root / "CASE-1" / "note.txt", "Present.")
    write(
        root / "manifest.csv",
        "path,title\nCASE-1/note.txt,Note\nCASE-1/letters/gone.pdf,Lost letter\n",
    )
    connector = FilesConnector(root)
    items = fetch_all(connector)
    assert reasons(items) == {
        "manifest.csv:3": "the file named in path, 'CASE-1/letters/gone.pdf', was not found"
    }
    assert [(item.id, type(item)) for item in changes(items)] == [("files:CASE-1/note.txt", Record)]
    assert by_id(items)["files:CASE-1/note.txt"].title == "Note"
    assert list(connector.list_ids()) == ["files:CASE-1/note.txt"]


def test_manifest_rows_naming_files_that_are_not_read_say_why(root: Path) -> None:
    acl_file(root, ["team:a"])
    write(root / "CASE-1" / "note.txt", "Read.")
    write(root / "CASE-1" / "slides.pptx", b"PK")
    write(root / "CASE-1" / "README", "No extension.")
    write(root / "CASE-1" / ".draft.txt", "Hidden file.")
    write(root / ".archive" / "old.txt", "Hidden folder.")
    write(root / "CASE-1" / "~$note.docx", b"Lock file.")
    write(root / "CASE-1" / "scan.png", b"An image, and OCR is off.")
    (root / "CASE-1" / "link.txt").symlink_to(root / "CASE-1" / "note.txt")
    (root / "linked").symlink_to(root / "CASE-1", target_is_directory=True)
    paths = [
        "CASE-1",
        "CASE-1/slides.pptx",
        "CASE-1/README",
        "CASE-1/.draft.txt",
        ".archive/old.txt",
        "CASE-1/~$note.docx",
        "CASE-1/scan.png",
        "CASE-1/link.txt",
        "linked/note.txt",
        "_acl.json",
        "manifest.jsonl",
        "CASE-1/note.txt/inner.txt",
        "CASE-1/note.txt",
    ]
    write(root / "manifest.jsonl", "".join(json.dumps({"path": p}) + "\n" for p in paths))
    items = read(root, ocr=False)
    assert reasons(items) == {
        "manifest.jsonl:1": "path 'CASE-1' names a folder, not a file",
        "manifest.jsonl:2": "path 'CASE-1/slides.pptx' has the extension '.pptx', which is not a "
        "type that is read",
        "manifest.jsonl:3": "path 'CASE-1/README' has no extension, which is not a type that is "
        "read",
        "manifest.jsonl:4": "path 'CASE-1/.draft.txt' is a hidden file (its name starts with "
        "'.'), which is not read",
        "manifest.jsonl:5": "path '.archive/old.txt' is inside the hidden folder '.archive', "
        "which is not read",
        "manifest.jsonl:6": "path 'CASE-1/~$note.docx' is an Office lock file (its name starts "
        "with '~$'), which is not read",
        "manifest.jsonl:7": "path 'CASE-1/scan.png' is an image and OCR is switched off, so it "
        "is not read",
        "manifest.jsonl:8": "path 'CASE-1/link.txt' is a symbolic link; links are not followed "
        "(they could point outside the root)",
        "manifest.jsonl:9": "path 'linked/note.txt' is inside 'linked', which is a symbolic "
        "link; links are not followed (they could point outside the root)",
        "manifest.jsonl:10": "path '_acl.json' is an ACL file, not a document",
        "manifest.jsonl:11": "path 'manifest.jsonl' is the manifest itself, not a document",
        "manifest.jsonl:12": "the file named in path, 'CASE-1/note.txt/inner.txt', was not "
        "found ('CASE-1/note.txt' is a file)",
    }
    assert list(by_id(items)) == ["files:CASE-1/note.txt"]


def test_a_file_deleted_but_still_in_the_manifest_is_withdrawn_and_reported(root: Path) -> None:
    acl_file(root, ["team:a"])
    write(root / "a.txt", "Stays.")
    gone = write(root / "b.txt", "Will be deleted.")
    write(root / "manifest.csv", "path,id\na.txt,CMS-1\nb.txt,CMS-2\n")
    first = read(root)
    assert set(by_id(first)) == {"CMS-1", "CMS-2"}
    assert failures(first) == []
    gone.unlink()
    connector = FilesConnector(root)
    second = fetch_all(connector, final_checkpoint(first))
    assert changes(second) == [Tombstone("CMS-2")]
    assert reasons(second) == {"manifest.csv:3": "the file named in path, 'b.txt', was not found"}
    assert list(connector.list_ids()) == ["CMS-1"]
    # Reported again on the next run (like every manifest problem), with nothing else to do.
    third = fetch_all(FilesConnector(root), final_checkpoint(second))
    assert changes(third) == []
    assert reasons(third) == reasons(second)


def test_two_default_manifests_are_fatal(root: Path) -> None:
    write(root / "manifest.csv", "path\n")
    write(root / "manifest.jsonl", "")
    with pytest.raises(FatalConnectorError, match="keep one"):
        read(root)


def test_a_csv_manifest_without_a_path_column_is_fatal(root: Path) -> None:
    write(root / "manifest.csv", "id,acl\nx,team:a\n")
    with pytest.raises(FatalConnectorError, match="path"):
        read(root)


def test_a_manifest_can_be_named(root: Path, tmp_path: Path) -> None:
    write(root / "a.txt", "Named manifest.")
    manifest = write(tmp_path / "elsewhere.csv", "path,acl\na.txt,team:named\n")
    assert by_id(fetch_all(FilesConnector(root, manifest=manifest)))["files:a.txt"].acl == (
        "team:named",
    )
    with pytest.raises(FatalConnectorError, match="does not exist"):
        read(root, manifest="missing.csv")


def test_the_nearest_acl_file_wins(root: Path) -> None:
    acl_file(root, ["team:everyone"])
    acl_file(root / "CASE-2", ["team:case-2"], deny=["user:conflicted"], name=".acl")
    write(root / "CASE-2" / "note" / "deep.txt", "Deep note.")
    write(root / "CASE-3" / "note.txt", "Other case.")
    items = by_id(read(root))
    deep = items["files:CASE-2/note/deep.txt"]
    assert (deep.acl, deep.deny) == (("team:case-2",), ("user:conflicted",))
    assert items["files:CASE-3/note.txt"].acl == ("team:everyone",)


def test_a_file_without_an_acl_is_a_failure(root: Path) -> None:
    write(root / "CASE-1" / "secret.txt", "Nobody may see this.")
    assert reasons(read(root)) == {
        "CASE-1/secret.txt": "no acl: add a manifest row or an _acl.json"
    }


def test_a_malformed_acl_file_fails_its_files_without_falling_back(root: Path) -> None:
    acl_file(root, ["team:everyone"])
    write(root / "CASE-2" / "_acl.json", "{not json")
    write(root / "CASE-2" / "note.txt", "Restricted note.")
    problems = reasons(read(root))
    assert list(problems) == ["CASE-2/note.txt"]
    assert "CASE-2/_acl.json" in problems["CASE-2/note.txt"]


def test_unknown_hidden_linked_and_control_files_are_skipped(root: Path) -> None:
    acl_file(root, ["team:a"])
    write(root / "note.txt", "Indexed.")
    write(root / "slides.pptx", b"PK\x03\x04")
    write(root / "Thumbs.db", b"\x00")
    write(root / ".hidden.txt", "Hidden.")
    write(root / ".git" / "config.txt", "Hidden folder.")
    write(root / "~$note.txt", "Office lock file.")
    (root / "link.txt").symlink_to(root / "note.txt")
    connector = FilesConnector(root)
    items = fetch_all(connector)
    assert list(by_id(items)) == ["files:note.txt"]
    assert failures(items) == []
    assert connector.skipped == ("Thumbs.db", "slides.pptx")
    assert list(connector.list_ids()) == ["files:note.txt"]


def test_a_missing_root_is_fatal(tmp_path: Path) -> None:
    connector = FilesConnector(tmp_path / "nowhere")
    with pytest.raises(FatalConnectorError, match="not a folder"):
        list(connector.fetch(connector.initial_checkpoint()))


# --- size limit ----------------------------------------------------------------------------


def test_a_file_over_the_limit_is_a_failure(root: Path) -> None:
    acl_file(root, ["team:a"])
    write(root / "big.txt", "x" * 2000)
    write(root / "small.txt", "fine")
    items = read(root, max_bytes=1000)
    assert reasons(items) == {"big.txt": "larger than the 1,000 byte limit"}
    assert list(by_id(items)) == ["files:small.txt"]


def test_the_default_limit_is_50_mb(root: Path) -> None:
    acl_file(root, ["team:a"])
    with (root / "huge.txt").open("wb") as handle:
        handle.truncate(50_000_001)  # sparse: nothing is written or read
    assert reasons(read(root)) == {"huge.txt": "larger than the 50 MB limit"}


# --- change detection ----------------------------------------------------------------------


def test_unchanged_files_are_not_read_again(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    acl_file(root, ["team:a"])
    write(root / "a.txt", "One.")
    write(root / "b.pdf", text_pdf([["Two."]]))
    final = final_checkpoint(read(root))
    opened: list[str] = []
    original = pathlib.Path.read_bytes

    def spy(self: pathlib.Path) -> bytes:
        opened.append(self.name)
        return original(self)

    monkeypatch.setattr(pathlib.Path, "read_bytes", spy)
    assert changes(fetch_all(FilesConnector(root), final)) == []
    assert [name for name in opened if not name.startswith("_")] == []


def test_a_touched_but_unchanged_file_is_hashed_not_re_emitted(root: Path) -> None:
    acl_file(root, ["team:a"])
    path = write(root / "a.txt", "Same.")
    first = final_checkpoint(read(root))
    write(path, "Same.")  # new mtime, same bytes
    items = fetch_all(FilesConnector(root), first)
    assert changes(items) == []
    second = final_checkpoint(items)
    assert isinstance(first, FilesCheckpoint)
    assert isinstance(second, FilesCheckpoint)
    assert second.files["a.txt"].mtime_ns > first.files["a.txt"].mtime_ns
    assert second.files["a.txt"].sha256 == first.files["a.txt"].sha256


def test_an_acl_change_re_emits_the_record(root: Path) -> None:
    acl_file(root, ["team:a"])
    write(root / "a.txt", "Permissions change.")
    first = final_checkpoint(read(root))
    acl_file(root, ["team:b"])
    [record] = changes(fetch_all(FilesConnector(root), first))
    assert isinstance(record, Record)
    assert record.acl == ("team:b",)


def test_losing_the_acl_withdraws_the_record(root: Path) -> None:
    acl_file(root, ["team:a"])
    write(root / "a.txt", "Was visible.")
    first = final_checkpoint(read(root))
    (root / "_acl.json").unlink()
    items = fetch_all(FilesConnector(root), first)
    assert changes(items) == [Tombstone("files:a.txt")]
    assert reasons(items) == {"a.txt": "no acl: add a manifest row or an _acl.json"}
    # reported again next time, but not withdrawn twice
    again = fetch_all(FilesConnector(root), final_checkpoint(items))
    assert changes(again) == []
    assert reasons(again) == reasons(items)


def test_a_new_manifest_id_replaces_the_old_record(root: Path) -> None:
    acl_file(root, ["team:a"])
    write(root / "a.txt", "Renamed record.")
    first = final_checkpoint(read(root))
    write(root / "manifest.csv", "path,id\na.txt,CMS-1\n")
    found = changes(fetch_all(FilesConnector(root), first))
    assert found[0] == Tombstone("files:a.txt")
    assert isinstance(found[1], Record)
    assert found[1].id == "CMS-1"


def test_a_failed_file_is_retried_and_a_fixed_one_indexed(root: Path) -> None:
    acl_file(root, ["team:a"])
    path = write(root / "a.pdf", b"%PDF-1.4 garbage")
    first = read(root)
    assert "corrupt" in reasons(first)["a.pdf"]
    write(path, text_pdf([["Fixed now."]]))
    fixed = fetch_all(FilesConnector(root), final_checkpoint(first))
    assert "Fixed now." in by_id(fixed)["files:a.pdf"].text


def test_an_email_with_a_broken_attachment_is_indexed_and_the_attachment_reported(
    root: Path,
) -> None:
    acl_file(root, ["team:a"])
    write(
        root / "mail.eml",
        email_bytes(
            subject="Referral",
            body="Please see the attached letters.",
            attachments=[
                ("good.pdf", "application/pdf", text_pdf([["Attendance is falling."]])),
                ("broken.pdf", "application/pdf", b"%PDF-1.4 nope"),
            ],
        ),
    )
    items = read(root)
    record = by_id(items)["files:mail.eml"]
    assert "Attendance is falling." in record.text
    assert record.attachments == ("good.pdf", "broken.pdf")
    assert "broken.pdf" in record.extra["attachment_errors"]
    assert list(reasons(items)) == ["mail.eml#broken.pdf"]
    assert "attachment not indexed" in reasons(items)["mail.eml#broken.pdf"]
