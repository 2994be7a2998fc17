"""Reading one generated document through the files connector, for the extraction tests."""

from __future__ import annotations

import json
from pathlib import Path

from connectors.base import Failure
from connectors.files import FilesConnector
from connectors.record import Record


def documents_folder(tmp_path: Path) -> Path:
    """An empty folder of documents that everyone in ``team:north-1`` may read."""
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "_acl.json").write_text(json.dumps({"acl": ["team:north-1"]}))
    return folder


def extract_one(root: Path, name: str, data: bytes, **options: object) -> Record | str:
    """The record for one file (alone in the folder), or the reason it could not be read."""
    for old in root.iterdir():
        if old.name != "_acl.json":
            old.unlink()
    (root / name).write_bytes(data)
    connector = FilesConnector(root, **options)  # type: ignore[arg-type]
    items = list(connector.fetch(connector.initial_checkpoint()))
    for item in items:
        if isinstance(item, Record):
            return item
    problems = [item for item in items if isinstance(item, Failure)]
    assert len(problems) == 1, items
    assert problems[0].source_ref == name
    return problems[0].reason


def record_of(result: Record | str) -> Record:
    assert isinstance(result, Record), f"expected a record, got the failure {result!r}"
    return result


def failure_of(result: Record | str) -> str:
    assert isinstance(result, str), f"expected a failure, got {result!r}"
    return result
