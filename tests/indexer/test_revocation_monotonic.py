"""A revocation holds while a source is read again: no record passes through an older state.

Finding (fail-safe issue, item 1): editing any earlier line of a JSONL source makes the indexer
read it from the start, committing every few records. A record's old lines then restored its
old ACL, or brought a tombstoned record back, until its later lines were reached; a run killed
inside that window left them so. The rule checked here: at every moment of a run, killed or
not, each record is either as it was before the run or as the source's last line for it says.
It never takes a state in between, so nothing is ever visible that neither of those allows.

The indexer is watched between every two items it pulls from the source: each batch and each
checkpoint is committed there, so every state a reader could see is observed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.base import Checkpoint, Connector, SourceItem
from connectors.jsonl import JsonlConnector
from indexer import Indexer
from retrieval.chunking import ChunkingConfig
from retrieval.embedding import Embedder
from retrieval.store import RecordStore

# What a record looks like to access control: its allow and deny lists, or None when absent.
State = tuple[frozenset[str], frozenset[str]] | None

TEXTS = (
    "Home visit: the children were seen together and then alone.",
    "Mum said the ex-partner had been calling from a withheld number.",
    "School reported that attendance fell this half term.",
)


def record_line(rid: str, acl: Iterable[str], deny: Iterable[str] = (), text: int = 0) -> str:
    return json.dumps(
        {
            "id": rid,
            "case_id": "CASE-1",
            "doc_type": "case_note",
            "title": "Case note",
            "text": TEXTS[text % len(TEXTS)],
            "created_at": "2024-03-02",
            "acl": sorted(acl),
            "deny": sorted(deny),
        }
    )


def tombstone_line(rid: str) -> str:
    return json.dumps({"id": rid, "deleted": True})


def net_states(lines: list[str]) -> dict[str, State]:
    """What the file says of each id once read to the end (later lines win)."""
    states: dict[str, State] = {}
    for line in lines:
        value = json.loads(line)
        if value.get("deleted") is True:
            states[value["id"]] = None
        else:
            states[value["id"]] = (frozenset(value["acl"]), frozenset(value.get("deny", [])))
    return states


def stored_states(store: RecordStore, ids: Iterable[str]) -> dict[str, State]:
    out: dict[str, State] = {}
    for rid in ids:
        doc = store.document(rid)
        out[rid] = None if doc is None else (frozenset(doc.acl), frozenset(doc.deny))
    return out


class Killed(Exception):
    """Stands for the indexer process dying between two items."""


@dataclass
class Watched(Connector):
    """Passes ``inner``'s items on, calling ``watch`` before each; dies after ``kill_after``."""

    inner: JsonlConnector
    watch: Any
    kill_after: int | None = None

    scheme = "jsonl"
    checkpoint_type = JsonlConnector.checkpoint_type

    @property
    def source_id(self) -> str:
        return self.inner.source_id

    def initial_checkpoint(self) -> Checkpoint:
        return self.inner.initial_checkpoint()

    def fetch(self, checkpoint: Checkpoint) -> Iterator[SourceItem]:
        for pulled, item in enumerate(self.inner.fetch(checkpoint)):
            self.watch()
            if self.kill_after is not None and pulled >= self.kill_after:
                raise Killed
            yield item
        self.watch()

    def list_ids(self) -> Iterable[str]:
        return self.inner.list_ids()


def run_watched(
    store: RecordStore,
    embedder: Embedder,
    path: Path,
    lines: list[str],
    *,
    kill_after: int | None = None,
) -> list[str]:
    """Index ``path`` (holding ``lines``) in small batches; the violations seen, if any."""
    ids = sorted({json.loads(line)["id"] for line in lines} | store.ids_for_source(_source(path)))
    before = stored_states(store, ids)
    after = net_states(lines)
    violations: list[str] = []

    def watch() -> None:
        for rid, now in stored_states(store, ids).items():
            if now != before.get(rid) and now != after.get(rid):
                violations.append(f"{rid}: {now} is neither {before.get(rid)} nor {after.get(rid)}")

    indexer = Indexer(store, embedder, ChunkingConfig(max_words=60), batch_size=2)
    connector = Watched(JsonlConnector(path, checkpoint_every=2), watch, kill_after)
    try:
        indexer.run(connector)
    except Killed:
        watch()
    return violations


def _source(path: Path) -> str:
    return JsonlConnector(path).source_id


def write(path: Path, lines: list[str]) -> None:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


@pytest.fixture
def fresh_store(tmp_path: Path) -> Iterator[RecordStore]:
    s = RecordStore(tmp_path / "store.sqlite3")
    yield s
    s.close()


def _history() -> list[str]:
    """A file whose early lines are superseded: R1 moves team, R2 is deleted, R3 gains a deny."""
    lines = [
        record_line("R1", ["team:a"]),
        record_line("R2", ["team:a"]),
        record_line("R3", ["team:a"]),
    ]
    lines += [record_line(f"F{i}", ["team:b"], text=i) for i in range(8)]
    lines += [
        record_line("R1", ["team:b"]),
        tombstone_line("R2"),
        record_line("R3", ["team:a"], deny=["user:x"]),
    ]
    return lines


@pytest.mark.parametrize("kill_after", [None, 1, 3, 5, 8])
def test_an_in_place_edit_never_restores_revoked_access(
    tmp_path: Path, fresh_store: RecordStore, embedder: Embedder, kill_after: int | None
) -> None:
    path = tmp_path / "cms.jsonl"
    lines = _history()
    write(path, lines)
    assert run_watched(fresh_store, embedder, path, lines) == []
    revoked = stored_states(fresh_store, ["R1", "R2", "R3"])
    assert revoked == {
        "R1": (frozenset({"team:b"}), frozenset()),
        "R2": None,
        "R3": (frozenset({"team:a"}), frozenset({"user:x"})),
    }
    # An operator fixes a typo in an unrelated early line: the whole file is read again.
    lines[4] = record_line("F1", ["team:b"], text=2)
    write(path, lines)
    assert run_watched(fresh_store, embedder, path, lines, kill_after=kill_after) == []
    assert stored_states(fresh_store, ["R1", "R2", "R3"]) == revoked
    # and the run after a kill finishes the job
    assert run_watched(fresh_store, embedder, path, lines) == []
    assert stored_states(fresh_store, ["F1"])["F1"] is not None
    assert fresh_store.document("F1").text == TEXTS[2]  # type: ignore[union-attr]


def test_a_cms_push_with_two_versions_of_a_record_applies_only_the_last(
    fresh_store: RecordStore, embedder: Embedder
) -> None:
    """A pushed batch longer than the indexer's batch never commits a superseded version."""
    from connectors.record import parse_record

    indexer = Indexer(fresh_store, embedder, ChunkingConfig(max_words=60), batch_size=2)
    first = parse_record(json.loads(record_line("P1", ["team:b"])))
    indexer.apply([first], source="push")
    seen: list[State] = []

    class Watching(Indexer):
        def _apply(self, *args: Any, **kwargs: Any) -> None:
            super()._apply(*args, **kwargs)
            seen.append(stored_states(fresh_store, ["P1"])["P1"])

    watching = Watching(fresh_store, embedder, ChunkingConfig(max_words=60), batch_size=2)
    push = [parse_record(json.loads(record_line("P1", ["team:a", "team:b"])))]
    push += [parse_record(json.loads(record_line(f"Q{i}", ["team:b"]))) for i in range(4)]
    push += [parse_record(json.loads(record_line("P1", ["team:b"], deny=["user:x"])))]
    watching.apply(push, source="push")
    narrowed = (frozenset({"team:b"}), frozenset({"user:x"}))
    assert set(seen) <= {(frozenset({"team:b"}), frozenset()), narrowed}
    assert seen[-1] == narrowed


# -- the property: any history of appends, in-place edits, re-reads and kills ------------------

IDS = ("A", "B", "C")
GROUPS = ("team:a", "team:b")

line_st = st.one_of(
    st.builds(
        record_line,
        st.sampled_from(IDS),
        st.sets(st.sampled_from(GROUPS), min_size=1),
        st.sets(st.just("user:x")),
        st.integers(0, 2),
    ),
    st.builds(tombstone_line, st.sampled_from(IDS)),
)
step_st = st.one_of(
    st.tuples(st.just("append"), line_st, st.integers(0)),
    st.tuples(st.just("edit"), line_st, st.integers(0, 50)),
    st.tuples(st.just("run"), st.none(), st.one_of(st.none(), st.integers(0, 12))),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step_st, min_size=1, max_size=14))
def test_property_no_run_ever_shows_a_superseded_state(
    tmp_path_factory: pytest.TempPathFactory,
    embedder: Embedder,
    steps: list[tuple[str, str | None, int | None]],
) -> None:
    root = tmp_path_factory.mktemp("monotonic")
    path = root / "cms.jsonl"
    store = RecordStore(root / "store.sqlite3")
    lines: list[str] = [record_line(rid, ["team:a"]) for rid in IDS]
    try:
        write(path, lines)
        assert run_watched(store, embedder, path, lines) == []
        for action, line, number in steps:
            if action == "append" and line is not None:
                lines.append(line)
                write(path, lines)
            elif action == "edit" and line is not None and number is not None:
                lines[number % len(lines)] = line
                write(path, lines)
            else:
                assert run_watched(store, embedder, path, lines, kill_after=number) == [], steps
        assert run_watched(store, embedder, path, lines) == []
        final = stored_states(store, IDS)
        assert final == {rid: net_states(lines).get(rid) for rid in IDS}
    finally:
        store.close()
