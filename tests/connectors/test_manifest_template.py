"""``casesearch manifest init DIR`` writes a manifest to fill in, listing the files read."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from connector_contract import fetch_all, records

from app import cli
from connectors.file_metadata import MANIFEST_COLUMNS
from connectors.files import FilesConnector


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "cases"
    (folder / "CASE-1" / "visit_note").mkdir(parents=True)
    (folder / "_acl.json").write_text(json.dumps({"acl": ["team:a"]}))
    (folder / "CASE-1" / "visit_note" / "visit.txt").write_text("Home visit 3 March 2024.")
    (folder / "CASE-1" / "plan.md").write_text("# Safety plan")
    (folder / "CASE-1" / "notes.xyz").write_text("not a type that is read")
    (folder / ".hidden.txt").write_text("hidden")
    return folder


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_init_lists_every_file_that_is_read_with_every_column(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["manifest", "init", str(root)]) == 0
    assert "listing 2 files" in capsys.readouterr().out
    written = rows(root / "manifest.csv")
    assert [row["path"] for row in written] == ["CASE-1/plan.md", "CASE-1/visit_note/visit.txt"]
    assert list(written[0]) == list(MANIFEST_COLUMNS)
    assert all(value == "" for row in written for key, value in row.items() if key != "path")


def test_the_unfilled_template_changes_no_record(root: Path) -> None:
    before = {r.id: r for r in records(fetch_all(FilesConnector(root)))}
    cli.main(["manifest", "init", str(root)])
    after = {r.id: r for r in records(fetch_all(FilesConnector(root)))}
    assert after == before
    assert len(after) == 2


def test_a_filled_in_row_is_used(root: Path) -> None:
    cli.main(["manifest", "init", str(root)])
    manifest = root / "manifest.csv"
    text = manifest.read_text(encoding="utf-8").replace(
        "CASE-1/plan.md,,,,", "CASE-1/plan.md,,,cin_plan,"
    )
    manifest.write_text(text, encoding="utf-8")
    plan = {r.id: r for r in records(fetch_all(FilesConnector(root)))}["files:CASE-1/plan.md"]
    assert (plan.doc_type, plan.extra["doc_type_source"]) == ("cin_plan", "manifest")


def test_an_existing_manifest_is_never_overwritten(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (root / "manifest.jsonl").write_text('{"path": "CASE-1/plan.md", "acl": ["team:b"]}\n')
    assert cli.main(["manifest", "init", str(root)]) == 1
    assert "manifest.jsonl already exists" in capsys.readouterr().err
    assert not (root / "manifest.csv").exists()


def test_a_missing_folder_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["manifest", "init", str(tmp_path / "nowhere")]) == 1
    assert "is not a folder" in capsys.readouterr().err
