"""No single input stops, hangs or exhausts a connector: each becomes a failure naming it.

Every test puts a good file (or line) beside the bad one and checks that it is still read.
"""

from __future__ import annotations

import io
import json
import os
import socket
import zipfile
from pathlib import Path

import pytest
from connector_contract import failures, fetch_all, final_checkpoint, records
from connector_documents import docx_bytes
from nasty_inputs import (
    current_rss_bytes,
    nested_multipart_email,
    peak_rss_bytes,
    reset_peak_rss,
    write_bytes_named,
    write_docx_bomb,
)

from connectors.base import SourceItem
from connectors.errors import ExtractionError, RecordError
from connectors.files import FilesConnector
from connectors.jsonl import JsonlConnector
from connectors.limits import MAX_TEXT_CHARS, ExtractionLimits
from connectors.record import Tombstone, parse_record
from connectors.registry import connector_from_source
from connectors.sandbox import IsolatedExtractor

GOOD = "Home visit: the family were seen together and the plan was agreed."


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "cases"
    folder.mkdir()
    (folder / "_acl.json").write_text(json.dumps({"acl": ["team:north-1"]}))
    (folder / "good.txt").write_text(GOOD)
    return folder


def read(root: Path, **options: object) -> list[SourceItem]:
    return fetch_all(FilesConnector(root, **options))  # type: ignore[arg-type]


def reasons(items: list[SourceItem]) -> dict[str, str]:
    return {failure.source_ref: failure.reason for failure in failures(items)}


def assert_good_file_read(items: list[SourceItem]) -> None:
    assert [record.id for record in records(items)] == ["files:good.txt"]


# --- e-mail -----------------------------------------------------------------------------------


def test_an_email_with_3000_nested_multiparts_is_a_failure(root: Path) -> None:
    (root / "deep.eml").write_bytes(nested_multipart_email(3000))
    items = read(root)
    assert "3,000 multipart sections" in reasons(items)["deep.eml"]
    assert_good_file_read(items)


def test_an_email_nested_past_the_depth_limit_is_a_failure(root: Path) -> None:
    # Under the multipart count limit, so the parsed tree's depth is what stops it.
    (root / "deep.eml").write_bytes(nested_multipart_email(200))
    items = read(root)
    assert "nested more than 32 levels deep" in reasons(items)["deep.eml"]
    assert_good_file_read(items)


def test_an_email_nested_a_few_levels_is_read(root: Path) -> None:
    (root / "mail.eml").write_bytes(nested_multipart_email(5))
    items = read(root)
    assert "mail.eml" not in reasons(items)
    assert "files:mail.eml" in {r.id for r in records(items)}


# --- special files, names ---------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_a_fifo_is_skipped_with_a_reason_and_never_opened(root: Path) -> None:
    os.mkfifo(root / "pipe.txt")
    os.mkfifo(root / "other.fifo")  # an unknown extension is reported too: it is no document
    items = read(root)
    found = reasons(items)
    assert found["pipe.txt"].startswith("is a FIFO (named pipe), not a regular file")
    assert "other.fifo" in found
    assert_good_file_read(items)


@pytest.mark.timeout(60)
def test_a_socket_is_skipped_with_a_reason(root: Path) -> None:
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(root / "daemon.txt"))
        items = read(root)
    finally:
        server.close()
    assert reasons(items)["daemon.txt"].startswith("is a socket")
    assert_good_file_read(items)


@pytest.mark.timeout(60)
def test_a_fifo_swapped_in_after_the_walk_is_not_opened_blocking(root: Path) -> None:
    connector = FilesConnector(root)
    os.mkfifo(root / "late.txt")
    with pytest.raises(ExtractionError, match="not a regular file"):
        connector._read(root / "late.txt")


def test_a_file_name_that_is_not_utf8_is_reported_printably(root: Path) -> None:
    write_bytes_named(root, b"visit-\xff\xfe.txt", b"A note with a Latin-1 name.")
    os.mkdir(os.fsencode(root) + b"/folder-\xe9")
    write_bytes_named(root, b"folder-\xe9/inside.txt", b"Never read.")
    connector = FilesConnector(root)
    items = fetch_all(connector)
    found = reasons(items)
    assert "not valid UTF-8" in found["visit-\\xff\\xfe.txt"]
    assert "nothing in it is read" in found["folder-\\xe9/"]
    assert_good_file_read(items)
    assert list(connector.list_ids()) == ["files:good.txt"]
    json.dumps(found).encode("utf-8")  # storable as they are


# --- size caps --------------------------------------------------------------------------------


def test_a_text_over_the_cap_is_a_failure(root: Path) -> None:
    (root / "long.txt").write_text("word " * 400)
    items = read(root, limits=ExtractionLimits(max_text_chars=1000))
    assert "2,000 characters, more than the 1,000-character limit" in reasons(items)["long.txt"]
    assert_good_file_read(items)


def test_the_default_text_cap_is_five_million_characters(root: Path) -> None:
    assert MAX_TEXT_CHARS == 5_000_000
    (root / "long.txt").write_text("a" * (MAX_TEXT_CHARS + 1))
    items = read(root)
    assert "more than the 5,000,000-character limit" in reasons(items)["long.txt"]
    assert_good_file_read(items)


def test_a_text_over_the_cap_is_a_failure_in_an_isolated_format(root: Path) -> None:
    (root / "long.docx").write_bytes(docx_bytes(["word " * 400]))
    items = read(root, limits=ExtractionLimits(max_text_chars=1000))
    assert "more than the 1,000-character limit" in reasons(items)["long.docx"]
    assert_good_file_read(items)


def test_a_docx_bomb_fails_without_taking_the_indexers_memory(root: Path) -> None:
    write_docx_bomb(root / "bomb.docx", 300_000_000)
    assert (root / "bomb.docx").stat().st_size < 1_000_000
    can_reset = reset_peak_rss()
    before = current_rss_bytes() if can_reset else peak_rss_bytes()
    items = read(root)
    growth = peak_rss_bytes() - before
    reason = reasons(items)["bomb.docx"]
    assert "more than 4,000,000 XML elements" in reason
    assert_good_file_read(items)
    assert growth < 300 * 2**20, f"the parent grew by {growth / 2**20:.0f} MiB"


def test_xml_nested_past_the_depth_limit_is_a_failure(root: Path) -> None:
    deep = "<w:p>" * 300 + "x" + "</w:p>" * 300
    source = zipfile.ZipFile(io.BytesIO(docx_bytes(["placeholder"])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            body = source.read(info)
            if info.filename == "word/document.xml":
                body = body.replace(b"<w:body>", b"<w:body>" + deep.encode())
            target.writestr(info, body)
    (root / "deep.docx").write_bytes(out.getvalue())
    items = read(root)
    assert "more than 256 levels deep" in reasons(items)["deep.docx"]
    assert_good_file_read(items)


# --- the child process --------------------------------------------------------------------------


def test_extraction_past_the_memory_limit_is_a_failure_and_the_next_file_is_read(
    root: Path,
) -> None:
    # 40 MB of base64 in one e-mail: parsing and decoding it needs several copies.
    body = ("QUJD" * 19 + "\n") * 500_000
    mail = (
        "From: a@example.org\nSubject: big\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain\n\nhi\n'
        "--b\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n"
        'Content-Disposition: attachment; filename="x.pdf"\n\n' + body + "--b--\n"
    )
    (root / "big.eml").write_text(mail)
    (root / "small.docx").write_bytes(docx_bytes(["Read after the big one."]))
    connector = FilesConnector(root, limits=ExtractionLimits(memory_bytes=192 * 2**20))
    assert isinstance(connector.extractor, IsolatedExtractor)
    items = fetch_all(connector)
    reason = reasons(items)["big.eml"]
    assert "192 MiB" in reason, reason
    assert {r.id for r in records(items)} == {"files:good.txt", "files:small.docx"}


def test_extraction_past_the_time_limit_is_a_failure_and_the_worker_is_replaced(
    root: Path,
) -> None:
    extractor = IsolatedExtractor(limits=ExtractionLimits(timeout_s=0.001))
    try:
        with pytest.raises(ExtractionError, match=r"took longer than 0\.001 s"):
            extractor.extract(".docx", docx_bytes(["Slow enough."]))
        assert extractor.started == 1
        with pytest.raises(ExtractionError, match="took longer"):
            extractor.extract(".docx", docx_bytes(["Slow enough."]))
        assert extractor.started == 2  # a fresh child after the one that was killed
    finally:
        extractor.close()


def test_one_worker_serves_many_files(root: Path) -> None:
    for n in range(5):
        (root / f"doc-{n}.docx").write_bytes(docx_bytes([f"Document number {n}."]))
    connector = FilesConnector(root)
    assert isinstance(connector.extractor, IsolatedExtractor)
    items = fetch_all(connector)
    assert len(records(items)) == 6
    assert connector.extractor.started == 1
    assert connector.extractor._process is None  # stopped when the fetch ended


def test_the_registry_passes_the_limits_on(tmp_path: Path) -> None:
    limits = ExtractionLimits(max_text_chars=123, timeout_s=5)
    files = connector_from_source(f"files:{tmp_path}", limits=limits)
    assert isinstance(files, FilesConnector)
    assert files.limits == limits
    jsonl = connector_from_source(f"jsonl:{tmp_path / 'x.jsonl'}", limits=limits)
    assert isinstance(jsonl, JsonlConnector)
    assert jsonl.max_text_chars == 123


# --- JSONL and pushed records -------------------------------------------------------------------


def jsonl_items(tmp_path: Path, lines: list[str], **options: object) -> list[SourceItem]:
    path = tmp_path / "cms.jsonl"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return fetch_all(JsonlConnector(path, **options))  # type: ignore[arg-type]


def good_line(record_id: str) -> str:
    return json.dumps({"id": record_id, "text": GOOD, "acl": ["team:north-1"]})


def test_a_jsonl_text_with_a_lone_surrogate_escape_is_a_failure_naming_the_line(
    tmp_path: Path,
) -> None:
    bad = '{"id": "r2", "text": "broken \\ud800 escape", "acl": ["team:north-1"]}'
    assert "\\ud800" in bad  # the six characters of the JSON escape
    items = jsonl_items(tmp_path, [good_line("r1"), bad, good_line("r3")])
    found = reasons(items)
    assert list(found) == [f"{tmp_path / 'cms.jsonl'}:2"]
    assert "lone surrogate \\ud800" in next(iter(found.values()))
    assert [r.id for r in records(items)] == ["r1", "r3"]


def test_a_tombstone_id_with_a_lone_surrogate_is_a_failure(tmp_path: Path) -> None:
    bad = '{"id": "r\\udfff", "deleted": true}'
    items = jsonl_items(tmp_path, [bad, good_line("r1")])
    assert "lone surrogate" in reasons(items)[f"{tmp_path / 'cms.jsonl'}:1"]
    assert not any(isinstance(item, Tombstone) for item in items)


def test_a_pushed_record_with_a_lone_surrogate_is_refused() -> None:
    with pytest.raises(RecordError, match="lone surrogate"):
        parse_record({"id": "r1", "text": "a \ud800 b", "acl": ["team:a"]})
    with pytest.raises(RecordError, match="lone surrogate"):
        parse_record({"id": "r1", "text": "ok", "acl": ["team:a"], "extra": {"k": "\udc80"}})


@pytest.mark.parametrize("flag", ['"true"', "1", "null", '"yes"', "{}"])
def test_a_deleted_flag_that_is_not_a_boolean_is_a_failure(tmp_path: Path, flag: str) -> None:
    bad = f'{{"id": "r2", "text": "{GOOD}", "acl": ["team:north-1"], "deleted": {flag}}}'
    items = jsonl_items(tmp_path, [good_line("r1"), bad, '{"id": "r3", "deleted": "true"}'])
    found = reasons(items)
    path = tmp_path / "cms.jsonl"
    assert set(found) == {f"{path}:2", f"{path}:3"}
    assert "a tombstone needs the JSON boolean true" in found[f"{path}:3"]
    assert [r.id for r in records(items)] == ["r1"]
    assert not any(isinstance(item, Tombstone) for item in items)


def test_deleted_false_is_a_record_and_true_a_tombstone(tmp_path: Path) -> None:
    live = json.dumps({"id": "r1", "text": GOOD, "acl": ["team:a"], "deleted": False})
    items = jsonl_items(tmp_path, [live, '{"id": "r2", "deleted": true}'])
    assert [r.id for r in records(items)] == ["r1"]
    assert Tombstone("r2") in items


def test_a_jsonl_record_over_the_text_cap_is_a_failure_naming_the_line(tmp_path: Path) -> None:
    long = json.dumps({"id": "r2", "text": "word " * 400, "acl": ["team:a"]})
    items = jsonl_items(tmp_path, [good_line("r1"), long, good_line("r3")], max_text_chars=1000)
    found = reasons(items)
    assert "more than the 1,000-character limit" in found[f"{tmp_path / 'cms.jsonl'}:2"]
    assert [r.id for r in records(items)] == ["r1", "r3"]


def test_a_20_mib_jsonl_record_is_a_failure_under_the_default_cap(tmp_path: Path) -> None:
    huge = json.dumps({"id": "r2", "text": "a" * (20 * 2**20), "acl": ["team:a"]})
    items = jsonl_items(tmp_path, [huge, good_line("r1")])
    assert (
        "more than the 5,000,000-character limit" in reasons(items)[f"{tmp_path / 'cms.jsonl'}:1"]
    )
    assert [r.id for r in records(items)] == ["r1"]


def test_a_jsonl_line_over_the_byte_limit_is_read_past_and_the_checkpoint_holds(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cms.jsonl"
    long = json.dumps({"id": "r2", "text": "word " * 100, "acl": ["team:a"]})
    path.write_text(f"{good_line('r1')}\n{long}\n{good_line('r3')}\n")
    connector = JsonlConnector(path, max_line_bytes=200)
    items = fetch_all(connector)
    assert "more than the 200-byte limit" in reasons(items)[f"{path}:2"]
    assert [r.id for r in records(items)] == ["r1", "r3"]
    # The running hash covered the skipped line: an append is read alone, not from the start.
    with path.open("a") as handle:
        handle.write(good_line("r4") + "\n")
    again = fetch_all(connector, final_checkpoint(items))
    assert [r.id for r in records(again)] == ["r4"]
    assert reasons(again) == {}


def test_an_unterminated_jsonl_line_over_the_limit_is_left_for_the_next_run(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cms.jsonl"
    path.write_text(good_line("r1") + "\n" + '{"id": "r2", "text": "' + "x" * 500)
    connector = JsonlConnector(path, max_line_bytes=200)
    items = fetch_all(connector)
    assert "incomplete last line" in reasons(items)[f"{path}:2"]
    with path.open("a") as handle:
        handle.write('", "acl": ["team:a"]}\n')
    again = fetch_all(connector, final_checkpoint(items))
    assert "more than the 200-byte limit" in reasons(again)[f"{path}:2"]
