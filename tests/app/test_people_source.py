"""A people source supplies or corrects who each case is about (JSONL or a SQL table), without
re-sending records: names on results, name resolution in queries, audit by person and erasure
all follow it; a bad line is a failure naming the file and line; the rest loads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from app_helpers import bearer, settings_for_cli
from factories import make_record
from fastapi.testclient import TestClient

from app import cli
from app.services import Services
from app.settings import Settings, get_settings
from connectors.errors import FatalConnectorError
from indexer.people import load_people

pytestmark = pytest.mark.conformance

NORTH = ["team:north"]


def _index(services: Services) -> None:
    services.indexer.apply(
        [
            make_record(
                id="W-1",
                case_id="CASE-21",
                doc_type="safety_plan",
                title="Safety plan",
                text="Safety plan: the child stays with her grandmother at weekends.",
                acl=NORTH,
                subjects=[{"id": "P-21", "name": "Ruht Walkr", "role": "child"}],
            ),
            make_record(
                id="W-2",
                case_id="CASE-21",
                doc_type="visit_note",
                title="Home visit",
                text="Home visit: the kitchen was clean and there was food in the fridge.",
                acl=NORTH,
            ),
            make_record(
                id="S-1",
                case_id="CASE-22",
                doc_type="safety_plan",
                title="Safety plan",
                text="Safety plan: no contact with the neighbour.",
                acl=["team:south"],
            ),
        ],
        source="test",
    )


def _write(path: Path, lines: list[Any]) -> Path:
    path.write_text(
        "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines),
        encoding="utf-8",
    )
    return path


RUTH = {"id": "P-21", "name": "Ruth Walker", "other_names": ["Ruthie"], "role": "child"}
MUM = {"id": "P-21-M", "name": "Kerry Walker", "role": "mother"}
ZARA = {"id": "P-22", "name": "Zara Hidden", "role": "child"}


def test_a_correction_reaches_every_record_of_the_case_and_the_search(
    client: TestClient, services: Services, settings: Settings, tmp_path: Path
) -> None:
    _index(services)
    source = _write(
        tmp_path / "people.jsonl",
        [
            {"case_id": "CASE-21", "subjects": [RUTH, MUM]},
            {"case_id": "CASE-22", "subjects": [ZARA]},
        ],
    )
    load = load_people(services.store, f"jsonl:{source}")
    assert (load.cases, load.people, load.changed_cases, load.failures) == (2, 3, 2, [])

    north = bearer(settings, "amy", "team:north")
    doc = client.get("/v1/documents/W-2", headers=north).json()  # had no subjects of its own
    assert [(s["id"], s["name"]) for s in doc["subjects"]] == [
        ("P-21", "Ruth Walker"),
        ("P-21-M", "Kerry Walker"),
    ]
    corrected = client.get("/v1/documents/W-1", headers=north).json()
    assert [s["name"] for s in corrected["subjects"]] == ["Ruth Walker", "Kerry Walker"]

    body = client.post("/v1/search", json={"query": "Ruthie's safety plan"}, headers=north).json()
    assert body["query"]["people"] == [
        {"id": "P-21", "name": "Ruth Walker", "case_ids": ["CASE-21"]}
    ]
    assert {r["case_id"] for r in body["results"]} == {"CASE-21"}

    # a child the people source names on a case she may not see is an unknown name to her
    hidden = client.post("/v1/search", json={"query": "Zara's safety plan"}, headers=north).json()
    assert "people" not in hidden["query"]
    assert all(r["case_id"] != "CASE-22" for r in hidden["results"])


def test_the_source_is_a_snapshot_unless_a_line_failed(services: Services, tmp_path: Path) -> None:
    _index(services)
    first = _write(tmp_path / "a.jsonl", [{"case_id": "CASE-21", "subjects": [RUTH]}])
    load_people(services.store, f"jsonl:{first}")
    doc = services.store.document("W-1")
    assert doc is not None
    assert [s.name for s in doc.subjects] == ["Ruth Walker"]

    broken = _write(
        tmp_path / "b.jsonl",
        [
            "{not json",
            {"case_id": "CASE-22", "subjects": [ZARA]},
            {"case_id": "CASE-23", "subjects": [{"id": "X", "name": "Y"}]},
        ],
    )
    load = load_people(services.store, f"jsonl:{broken}")
    assert not load.complete
    assert [ref for ref, _ in load.failures] == [f"{broken}:1", f"{broken}:3"]
    assert "not JSON" in load.failures[0][1]
    assert "subjects[0].role" in load.failures[1][1]
    failures = {f.source_ref for f in services.store.failures(load.source)}
    assert failures == {f"{broken}:1", f"{broken}:3"}
    doc = services.store.document("W-1")
    assert doc is not None
    assert [s.name for s in doc.subjects] == ["Ruth Walker"]  # kept: a failed line may be it

    complete = _write(tmp_path / "c.jsonl", [{"case_id": "CASE-22", "subjects": [ZARA]}])
    load_people(services.store, f"jsonl:{complete}")
    doc = services.store.document("W-1")
    assert doc is not None
    assert [s.name for s in doc.subjects] == ["Ruht Walkr"]  # back to the record's own


def test_a_sql_table_is_a_people_source(services: Services, tmp_path: Path) -> None:
    _index(services)
    url = f"sqlite:///{tmp_path / 'cms.sqlite3'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE people (case_id TEXT, person_id TEXT, name TEXT, role TEXT,"
            " other_names TEXT, dob DATE)"
        )
        conn.exec_driver_sql(
            "INSERT INTO people VALUES ('CASE-21', 'P-21', 'Ruth Walker', 'child',"
            " '[\"Ruthie\"]', '2015-06-01'), ('CASE-21', 'P-21-M', 'Kerry Walker', 'mother',"
            " NULL, NULL), ('CASE-22', 'P-22', 'Zara Hidden', 'child', 'Zed', NULL)"
        )
    engine.dispose()
    load = load_people(services.store, f"sql:{url}", table="people")
    assert load.cases == 1  # CASE-22's row is refused, CASE-21 loads
    assert load.failures == [
        ("people case CASE-22", "'other_names' must be a JSON list of strings")
    ]
    doc = services.store.document("W-2")
    assert doc is not None
    assert [(s.name, s.other_names, str(s.dob)) for s in doc.subjects] == [
        ("Ruth Walker", ("Ruthie",), "2015-06-01"),
        ("Kerry Walker", (), "None"),
    ]
    with pytest.raises(FatalConnectorError, match="lacks column"):
        load_people(services.store, f"sql:{url}", table="sqlite_master")


def test_the_cli_loads_and_audit_and_erasure_follow_the_source(
    client: TestClient,
    services: Services,
    settings: Settings,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _index(services)
    source = _write(
        tmp_path_factory.mktemp("cms") / "people.jsonl",
        [{"case_id": "CASE-21", "subjects": [RUTH, MUM]}],
    )
    settings_for_cli(settings, monkeypatch)
    try:
        assert cli.main(["people", "--source", f"jsonl:{source}"]) == 0
        assert "1 cases, 2 people; 1 cases changed; 0 failed" in capsys.readouterr().out
    finally:
        get_settings.cache_clear()

    north = bearer(settings, "amy", "team:north")
    assert client.get("/v1/documents/W-2", headers=north).status_code == 200
    auditor = bearer(settings, "dpo", "role:auditor")
    events = client.get("/v1/audit", params={"person": "P-21-M"}, headers=auditor).json()
    assert [e["record_ids"] for e in events["events"] if e["action"] == "view"] == [["W-2"]]

    with services.store.snapshot() as conn:
        assert services.store.record_ids_naming(conn, "P-21-M") == ["W-1", "W-2"]
    from app.actions import erase

    outcome = erase(services, "dpo", reason="ticket DPO-7", person_id="P-21-M")
    assert outcome.record_ids == ("W-1", "W-2")
    with services.store.snapshot() as conn:
        assert services.store.record_ids_naming(conn, "P-21") == []
    holding = [
        p.name for p in settings.data_dir.rglob("*") if p.is_file() and b"Kerry" in p.read_bytes()
    ]
    assert holding == []
