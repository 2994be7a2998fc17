"""The indexer's progress bar gets its total from ``estimate_items``: what a fetch will yield."""

from __future__ import annotations

import json
import os
from pathlib import Path

from connector_contract import fetch_all, final_checkpoint

from connectors.base import Checkpoint, Connector
from connectors.files import FilesConnector
from connectors.jsonl import JsonlConnector


def yielded(connector: Connector, checkpoint: Checkpoint) -> int:
    """Items (records, tombstones, failures) a fetch from ``checkpoint`` yields."""
    return sum(1 for item in connector.fetch(checkpoint) if not isinstance(item, Checkpoint))


def line(number: int) -> str:
    return json.dumps({"id": f"r{number}", "text": f"note {number}", "acl": ["team:a"]}) + "\n"


def test_jsonl_counts_the_lines_after_the_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    path.write_text("".join(line(n) for n in range(5)) + "not json\n")
    connector = JsonlConnector(path)
    start = connector.initial_checkpoint()
    assert connector.estimate_items(start) == yielded(connector, start) == 6
    done = final_checkpoint(fetch_all(connector))
    assert connector.estimate_items(done) == 0
    with path.open("a") as handle:
        handle.write(line(5) + line(6).rstrip("\n"))  # the last one without a newline
    assert connector.estimate_items(done) == yielded(connector, done) == 2


def test_jsonl_counts_from_the_start_of_a_truncated_file(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    path.write_text("".join(line(n) for n in range(4)))
    connector = JsonlConnector(path)
    done = final_checkpoint(fetch_all(connector))
    path.write_text(line(9))
    assert connector.estimate_items(done) == 1


def test_files_counts_new_changed_and_removed_files(tmp_path: Path) -> None:
    root = tmp_path / "cases"
    (root / "CASE-1").mkdir(parents=True)
    (root / "_acl.json").write_text(json.dumps({"acl": ["team:a"]}))
    for name in ("a.txt", "b.txt", "c.txt"):
        (root / "CASE-1" / name).write_text(f"Note {name}.")
    (root / "CASE-1" / "skipped.xyz").write_text("not read")
    connector = FilesConnector(root)
    start = connector.initial_checkpoint()
    assert connector.estimate_items(start) == yielded(connector, start) == 3
    done = final_checkpoint(fetch_all(connector))
    assert connector.estimate_items(done) == 0
    (root / "CASE-1" / "a.txt").write_text("Note a, longer now.")
    os.utime(root / "CASE-1" / "a.txt", ns=(2_000_000_000_000_000_000,) * 2)
    (root / "CASE-1" / "b.txt").unlink()
    (root / "CASE-1" / "d.txt").write_text("A new note.")
    assert connector.estimate_items(done) == yielded(connector, done) == 3
