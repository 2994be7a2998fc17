"""Source specs (`--source jsonl:PATH`, `files:DIR`, `sql:URL#table`) become connectors."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.errors import ConnectorError
from connectors.files import FilesConnector
from connectors.jsonl import JsonlConnector
from connectors.registry import connector_from_source
from connectors.sql import SqlConnector


def test_jsonl_spec(tmp_path: Path) -> None:
    connector = connector_from_source(f"jsonl:{tmp_path / 'cms.jsonl'}")
    assert isinstance(connector, JsonlConnector)
    assert connector.source_id == f"jsonl:{(tmp_path / 'cms.jsonl').resolve()}"


def test_files_spec(tmp_path: Path) -> None:
    connector = connector_from_source(f"files:{tmp_path}")
    assert isinstance(connector, FilesConnector)
    assert connector.root == tmp_path


def test_sql_spec_keeps_colons_and_masks_the_password() -> None:
    connector = connector_from_source("sql:postgresql+psycopg://cms:pw@127.0.0.1:5432/cms#records")
    assert isinstance(connector, SqlConnector)
    assert connector.table_name == "records"
    assert connector.source_id == "sql:postgresql+psycopg://cms:***@127.0.0.1:5432/cms#records"


def test_sql_spec_with_a_schema_and_a_sqlite_path(tmp_path: Path) -> None:
    connector = connector_from_source(f"sql:sqlite:///{tmp_path}/cms.db#cms.records")
    assert isinstance(connector, SqlConnector)
    assert connector.table_name == "cms.records"


def test_the_scheme_is_case_insensitive(tmp_path: Path) -> None:
    assert isinstance(connector_from_source(f"JSONL:{tmp_path}/x.jsonl"), JsonlConnector)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("ftp://host/file", "unknown source scheme 'ftp'"),
        ("records.jsonl", "has no scheme"),
        ("jsonl:", "names no location"),
        ("files:   ", "names no location"),
        ("sql:sqlite:///cms.db", "sql:URL#table"),
        ("sql:sqlite:///cms.db#", "sql:URL#table"),
        ("sql:#records", "sql:URL#table"),
        ("sql:not a url#records", "malformed database URL"),
    ],
)
def test_malformed_specs_are_clear_errors(spec: str, message: str) -> None:
    with pytest.raises(ConnectorError) as info:
        connector_from_source(spec)
    assert message in str(info.value)
