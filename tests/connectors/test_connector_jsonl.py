"""JSONL connector: the shared contract plus resume, rewrite and malformed-line behaviour."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from connector_contract import (
    ACL,
    ConnectorContract,
    SourceHarness,
    changes,
    failures,
    fetch_all,
    final_checkpoint,
    merge,
    records,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.base import Checkpoint
from connectors.errors import FatalConnectorError
from connectors.jsonl import JsonlCheckpoint, JsonlConnector
from connectors.record import Record, Tombstone, parse_record


def record_line(record_id: str, text: str = "Seen at home.", **fields: Any) -> str:
    return json.dumps({"id": record_id, "text": text, "acl": ACL, **fields}) + "\n"


class JsonlHarness(SourceHarness):
    def __init__(self, path: Path) -> None:
        self.path = path
        path.write_text("")

    def connector(self) -> JsonlConnector:
        return JsonlConnector(self.path, checkpoint_every=2)

    def _append(self, line: str) -> None:
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(line)

    def put(self, key: str, text: str) -> None:
        self._append(record_line(key, text))

    def delete(self, key: str) -> None:
        self._append(json.dumps({"id": key, "deleted": True}) + "\n")

    def put_bad(self, key: str) -> str:
        lines = self.path.read_text().count("\n")
        self._append('{"id": "' + key + '", "text": oops}\n')
        return f"{self.path}:{lines + 1}"

    def record_id(self, key: str) -> str:
        return key


class TestJsonlContract(ConnectorContract):
    @pytest.fixture
    def harness(self, tmp_path: Path) -> SourceHarness:
        return JsonlHarness(tmp_path / "records.jsonl")


# --- behaviour specific to JSONL ---------------------------------------------------------------


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "cms.jsonl"


def test_a_malformed_line_is_a_failure_naming_path_and_line(path: Path) -> None:
    path.write_text(
        record_line("r1")
        + "{not json\n"
        + "\n"
        + "[1, 2]\n"
        + json.dumps({"id": "r5", "text": "no acl"})
        + "\n"
        + record_line("r6")
    )
    items = fetch_all(JsonlConnector(path))
    assert [r.id for r in records(items)] == ["r1", "r6"]
    problems = {f.source_ref: f.reason for f in failures(items)}
    assert problems.keys() == {f"{path}:2", f"{path}:4", f"{path}:5"}
    assert "not valid JSON" in problems[f"{path}:2"]
    assert "JSON object" in problems[f"{path}:4"]
    assert "acl" in problems[f"{path}:5"]


def test_line_numbers_stay_right_after_a_resume(path: Path) -> None:
    path.write_text(record_line("r1") + record_line("r2"))
    first = final_checkpoint(fetch_all(JsonlConnector(path)))
    with path.open("a") as handle:
        handle.write(record_line("r3") + "garbage\n")
    items = fetch_all(JsonlConnector(path), first)
    assert [r.id for r in records(items)] == ["r3"]
    assert [f.source_ref for f in failures(items)] == [f"{path}:4"]


def test_an_appended_file_is_read_from_where_it_stopped(path: Path) -> None:
    path.write_text(record_line("r1") + record_line("r2"))
    first = final_checkpoint(fetch_all(JsonlConnector(path)))
    assert isinstance(first, JsonlCheckpoint)
    assert first.offset == path.stat().st_size
    assert first.line == 2
    with path.open("a") as handle:
        handle.write(record_line("r3") + json.dumps({"id": "r1", "deleted": True}) + "\n")
    assert changes(fetch_all(JsonlConnector(path), first)) == [
        parse_record(json.loads(record_line("r3")), source_ref="x"),
        Tombstone("r1"),
    ]


def test_a_rewritten_file_is_read_from_the_start(path: Path) -> None:
    path.write_text(record_line("r1") + record_line("r2"))
    first = final_checkpoint(fetch_all(JsonlConnector(path)))
    # Longer than before, different from byte one: a new export, not an append.
    path.write_text(record_line("x1") + record_line("x2") + record_line("x3"))
    items = fetch_all(JsonlConnector(path), first)
    assert [r.id for r in records(items)] == ["x1", "x2", "x3"]


def test_a_rewrite_that_keeps_the_first_bytes_is_still_detected(path: Path) -> None:
    head = record_line("r0", "x" * 5000)
    path.write_text(head + record_line("r1"))
    first = final_checkpoint(fetch_all(JsonlConnector(path)))
    path.write_text(head + record_line("r9") + record_line("r10"))
    items = fetch_all(JsonlConnector(path), first)
    assert [r.id for r in records(items)] == ["r0", "r9", "r10"]


def test_a_truncated_file_is_read_from_the_start(path: Path) -> None:
    path.write_text(record_line("r1") + record_line("r2"))
    first = final_checkpoint(fetch_all(JsonlConnector(path)))
    path.write_text(record_line("r1"))
    assert [r.id for r in records(fetch_all(JsonlConnector(path), first))] == ["r1"]


def test_a_checkpoint_every_n_records_and_one_at_the_end(path: Path) -> None:
    path.write_text("".join(record_line(f"r{i}") for i in range(5)))
    items = fetch_all(JsonlConnector(path, checkpoint_every=2))
    kinds = ["C" if isinstance(item, Checkpoint) else "R" for item in items]
    assert kinds == ["R", "R", "C", "R", "R", "C", "R", "C"]


def test_the_last_line_without_a_newline(path: Path) -> None:
    path.write_text(record_line("r1") + record_line("r2").rstrip("\n"))
    items = fetch_all(JsonlConnector(path))
    assert [r.id for r in records(items)] == ["r1", "r2"]
    with path.open("a") as handle:
        handle.write("\n" + record_line("r3"))
    assert [r.id for r in records(fetch_all(JsonlConnector(path), final_checkpoint(items)))] == [
        "r3"
    ]


def test_a_half_written_last_line_is_reported_but_read_again_once_complete(path: Path) -> None:
    whole = record_line("r2")
    path.write_text(record_line("r1") + whole[:20])
    items = fetch_all(JsonlConnector(path))
    assert [r.id for r in records(items)] == ["r1"]
    assert [f.source_ref for f in failures(items)] == [f"{path}:2"]
    assert "incomplete last line" in failures(items)[0].reason
    with path.open("a") as handle:
        handle.write(whole[20:])
    again = fetch_all(JsonlConnector(path), final_checkpoint(items))
    assert [r.id for r in records(again)] == ["r2"]
    assert failures(again) == []


def test_list_ids_last_line_wins_and_tombstones_remove(path: Path) -> None:
    path.write_text(
        record_line("a")
        + record_line("b")
        + json.dumps({"id": "a", "deleted": True})
        + "\n"
        + record_line("c")
        + json.dumps({"id": "c", "deleted": True})
        + "\n"
        + record_line("c", "back again")
        + "not json\n"
    )
    assert sorted(JsonlConnector(path).list_ids()) == ["b", "c"]


def test_fetch_yields_only_the_last_line_of_each_id(path: Path) -> None:
    """Superseded lines are never yielded, so a reader never sees a record's older ACL again."""
    path.write_text(
        record_line("a", "first", acl=["team:wide"])
        + record_line("b")
        + record_line("a", "narrowed", acl=["team:narrow"])
        + record_line("c")
        + json.dumps({"id": "c", "deleted": True})
        + "\n"
    )
    items = fetch_all(JsonlConnector(path, checkpoint_every=1))
    yielded = [i for i in items if isinstance(i, Record | Tombstone)]
    assert [(type(i).__name__, i.id) for i in yielded] == [
        ("Record", "b"),
        ("Record", "a"),
        ("Tombstone", "c"),
    ]
    assert records(items)[1].acl == ("team:narrow",)


def test_a_byte_order_mark_is_ignored(path: Path) -> None:
    path.write_bytes(b"\xef\xbb\xbf" + record_line("r1").encode())
    assert [r.id for r in records(fetch_all(JsonlConnector(path)))] == ["r1"]


def test_a_tombstone_without_an_id_is_a_failure(path: Path) -> None:
    path.write_text(json.dumps({"deleted": True}) + "\n")
    items = fetch_all(JsonlConnector(path))
    assert [f.source_ref for f in failures(items)] == [f"{path}:1"]


def test_a_missing_file_is_fatal(tmp_path: Path) -> None:
    connector = JsonlConnector(tmp_path / "missing.jsonl")
    with pytest.raises(FatalConnectorError, match="cannot open"):
        list(connector.fetch(connector.initial_checkpoint()))
    with pytest.raises(FatalConnectorError):
        connector.list_ids()


def test_a_checkpoint_of_another_connector_is_refused(path: Path) -> None:
    path.write_text("")
    with pytest.raises(TypeError):
        list(JsonlConnector(path).fetch(Checkpoint()))


# --- properties --------------------------------------------------------------------------------

_word = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\x00"),
    min_size=1,
    max_size=40,
).filter(lambda s: s.strip() != "")
_principal = st.from_regex(r"\A(team|role|user):[a-z0-9-]{1,12}\Z")
_raw_record = st.fixed_dictionaries(
    {"id": _word.map(str.strip), "text": _word, "acl": st.lists(_principal, min_size=1)},
    optional={
        "case_id": _word.map(str.strip),
        "doc_type": st.sampled_from(["case_note", "safety_plan", "made_up_type"]),
        "title": _word.map(str.strip),
        "created_at": st.dates().map(lambda d: d.isoformat()),
        "deny": st.lists(_principal),
        "attachments": st.lists(_word),
        "extra_field": st.integers() | _word,
    },
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raws=st.lists(_raw_record, max_size=12))
def test_property_valid_records_read_back_equal(
    raws: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("prop") / "records.jsonl"
    expected = [parse_record(raw) for raw in raws]
    path.write_text("".join(json.dumps(r.to_json()) + "\n" for r in expected), encoding="utf-8")
    items = fetch_all(JsonlConnector(path, checkpoint_every=3))
    assert failures(items) == []
    # each id once, from its last line, in file order (superseded lines are never yielded)
    last = [
        r for i, r in enumerate(expected) if all(r.id != later.id for later in expected[i + 1 :])
    ]
    assert records(items) == last
    assert sorted(JsonlConnector(path).list_ids()) == sorted(merge(items))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(st.binary(max_size=60) | st.text(max_size=60).map(str.encode), max_size=10))
def test_property_garbage_never_crashes_the_connector(
    lines: list[bytes], tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("garbage") / "records.jsonl"
    path.write_bytes(record_line("good").encode() + b"\n".join(lines))
    items = fetch_all(JsonlConnector(path, checkpoint_every=2))
    final_checkpoint(items)
    assert all(
        isinstance(item, Record | Tombstone | Checkpoint) or item.source_ref for item in items
    )
    for failure in failures(items):
        assert failure.source_ref.startswith(f"{path}:")
    assert "good" in merge(items) or any(isinstance(i, Tombstone) for i in items)
    again = fetch_all(JsonlConnector(path), final_checkpoint(items))
    assert changes(again) == []


def test_an_in_place_edit_of_the_same_length_is_read_again(tmp_path: Path) -> None:
    """Narrowing an ACL can keep the file's length: the checkpoint must still notice."""
    lines = [
        json.dumps({"id": f"R{i:03d}", "text": f"Note {i}.", "acl": ["team:aa"]})
        for i in range(300)
    ]
    path = tmp_path / "records.jsonl"
    path.write_text("\n".join(lines) + "\n")
    connector = JsonlConnector(path)
    first = list(connector.fetch(connector.initial_checkpoint()))
    final = first[-1]
    assert isinstance(final, JsonlCheckpoint)
    lines[150] = lines[150].replace("team:aa", "team:bb")  # same length, middle of the file
    path.write_text("\n".join(lines) + "\n")
    again = [i for i in connector.fetch(final) if isinstance(i, Record)]
    assert {r.id: r.acl for r in again}["R150"] == ("team:bb",)
    assert len(again) == 300
