"""The contract every connector passes (in the spirit of meltano's shared tap tests).

A test module applies it by subclassing ``ConnectorContract`` and overriding the ``harness``
fixture with a ``SourceHarness``: a writable stand-in for one source (a JSONL file, a folder, a
SQL table) that knows how to add, change, delete and break records, and what id the connector
will give each one.

(Named ``connector_contract`` rather than ``contract`` so it cannot shadow another test
package's helper module of the same name under pytest's rootdir-less imports.)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator

import pydantic
import pytest

from connectors.base import Checkpoint, Connector, Failure, SourceItem
from connectors.record import Record, Tombstone

ACL = ["team:contract"]
KEYS = ("a", "b", "c", "d", "e", "f", "g")


class SourceHarness(ABC):
    """A source the contract can write to. Keys are short names; ids are the connector's."""

    @abstractmethod
    def connector(self) -> Connector:
        """A fresh connector over the source that checkpoints every two or so records."""

    @abstractmethod
    def put(self, key: str, text: str) -> None:
        """Create the record for ``key``, or change it, visible to ``ACL``."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the record for ``key`` from the source."""

    @abstractmethod
    def put_bad(self, key: str) -> str:
        """Add something unreadable; return text the failure's ``source_ref`` must contain."""

    @abstractmethod
    def record_id(self, key: str) -> str:
        """The id the connector gives the record for ``key``."""


def text_for(key: str, version: int = 1) -> str:
    return f"Record {key} version {version}: visit note about the child's home."


def merge(items: Iterable[SourceItem], into: dict[str, Record] | None = None) -> dict[str, Record]:
    """What an indexer would hold after applying ``items`` (upserts and deletions)."""
    state = dict(into or {})
    for item in items:
        if isinstance(item, Record):
            state[item.id] = item
        elif isinstance(item, Tombstone):
            state.pop(item.id, None)
    return state


def records(items: Iterable[SourceItem]) -> list[Record]:
    return [item for item in items if isinstance(item, Record)]


def changes(items: Iterable[SourceItem]) -> list[Record | Tombstone]:
    return [item for item in items if isinstance(item, Record | Tombstone)]


def failures(items: Iterable[SourceItem]) -> list[Failure]:
    return [item for item in items if isinstance(item, Failure)]


def checkpoints(items: Iterable[SourceItem]) -> Iterator[tuple[int, Checkpoint]]:
    for index, item in enumerate(items):
        if isinstance(item, Checkpoint):
            yield index, item


def roundtrip(connector: Connector, checkpoint: Checkpoint) -> Checkpoint:
    """The checkpoint as the indexer would store and load it."""
    return connector.load_checkpoint(checkpoint.model_dump_json())


def fetch_all(connector: Connector, checkpoint: Checkpoint | None = None) -> list[SourceItem]:
    start = checkpoint if checkpoint is not None else connector.initial_checkpoint()
    return list(connector.fetch(roundtrip(connector, start)))


def final_checkpoint(items: list[SourceItem]) -> Checkpoint:
    last = items[-1]
    assert isinstance(last, Checkpoint), f"the stream must end with a checkpoint, not {last!r}"
    return last


class ConnectorContract:
    """Tests every connector must pass. Subclasses override the ``harness`` fixture."""

    @pytest.fixture
    def harness(self) -> SourceHarness:
        raise NotImplementedError("a contract test class must provide a harness fixture")

    @pytest.fixture
    def filled(self, harness: SourceHarness) -> SourceHarness:
        for key in KEYS:
            harness.put(key, text_for(key))
        return harness

    def test_initial_checkpoint_round_trips_through_json(self, harness: SourceHarness) -> None:
        connector = harness.connector()
        initial = connector.initial_checkpoint()
        assert isinstance(initial, connector.checkpoint_type)
        assert connector.checkpoint_type.model_validate_json(initial.model_dump_json()) == initial
        assert connector.load_checkpoint(initial.model_dump_json()) == initial
        assert connector.load_checkpoint(None) == initial
        assert connector.load_checkpoint("") == initial

    def test_source_id_starts_with_the_scheme(self, harness: SourceHarness) -> None:
        connector = harness.connector()
        assert connector.source_id.startswith(f"{connector.scheme}:")
        assert connector.source_id == harness.connector().source_id

    def test_empty_source_yields_only_a_checkpoint(self, harness: SourceHarness) -> None:
        items = fetch_all(harness.connector())
        assert items
        assert all(isinstance(item, Checkpoint) for item in items)
        assert list(harness.connector().list_ids()) == []

    def test_full_fetch_yields_every_record_and_ends_with_a_checkpoint(
        self, filled: SourceHarness
    ) -> None:
        connector = filled.connector()
        items = fetch_all(connector)
        assert all(isinstance(item, Record | Tombstone | Failure | Checkpoint) for item in items)
        final_checkpoint(items)
        assert not failures(items)
        read = {record.id: record.text for record in records(items)}
        assert read.keys() == {filled.record_id(key) for key in KEYS}
        for key in KEYS:
            assert text_for(key) in read[filled.record_id(key)]
        assert all(record.acl == tuple(ACL) for record in records(items))

    def test_every_checkpoint_is_frozen_and_round_trips(self, filled: SourceHarness) -> None:
        connector = filled.connector()
        found = list(checkpoints(fetch_all(connector)))
        assert len(found) >= 3, "the harness should checkpoint every few records"
        for _, checkpoint in found:
            assert isinstance(checkpoint, connector.checkpoint_type)
            assert roundtrip(connector, checkpoint) == checkpoint
            field = next(iter(type(checkpoint).model_fields))
            with pytest.raises(pydantic.ValidationError):
                setattr(checkpoint, field, None)

    def test_no_change_yields_no_records(self, filled: SourceHarness) -> None:
        connector = filled.connector()
        final = final_checkpoint(fetch_all(connector))
        again = fetch_all(filled.connector(), final)
        assert changes(again) == []
        final_checkpoint(again)

    def test_a_change_yields_exactly_the_changed_records(self, filled: SourceHarness) -> None:
        final = final_checkpoint(fetch_all(filled.connector()))
        filled.put("b", text_for("b", version=2))
        filled.put("new", text_for("new"))
        items = fetch_all(filled.connector(), final)
        read = {record.id: record.text for record in records(items)}
        assert read.keys() == {filled.record_id("b"), filled.record_id("new")}
        assert text_for("b", version=2) in read[filled.record_id("b")]
        assert not failures(items)
        after = fetch_all(filled.connector(), final_checkpoint(items))
        assert changes(after) == []

    def test_a_deletion_yields_a_tombstone(self, filled: SourceHarness) -> None:
        final = final_checkpoint(fetch_all(filled.connector()))
        filled.delete("c")
        items = fetch_all(filled.connector(), final)
        assert changes(items) == [Tombstone(filled.record_id("c"))]
        assert filled.record_id("c") not in set(filled.connector().list_ids())

    def test_resuming_from_any_checkpoint_loses_nothing(self, filled: SourceHarness) -> None:
        connector = filled.connector()
        full = fetch_all(connector)
        expected = merge(full)
        found = list(checkpoints(full))
        assert len(found) >= 3
        for index, checkpoint in found:
            # A crash after committing this checkpoint: what was applied before it stays,
            # the rest is read again from the checkpoint.
            resumed = merge(fetch_all(filled.connector(), checkpoint), into=merge(full[:index]))
            assert resumed == expected, f"resuming from item {index} gave a different result"

    def test_resuming_after_the_source_changed_loses_nothing(self, filled: SourceHarness) -> None:
        full = fetch_all(filled.connector())
        found = list(checkpoints(full))
        index, middle = found[len(found) // 2]
        filled.put("a", text_for("a", version=2))
        filled.put("g", text_for("g", version=3))
        filled.put("h", text_for("h"))
        filled.delete("d")
        resumed = merge(fetch_all(filled.connector(), middle), into=merge(full[:index]))
        expected = merge(fetch_all(filled.connector()))
        assert resumed == expected
        assert set(resumed) == set(filled.connector().list_ids())

    def test_list_ids_matches_the_records_read(self, filled: SourceHarness) -> None:
        connector = filled.connector()
        read = merge(fetch_all(connector))
        assert sorted(connector.list_ids()) == sorted(read)

    def test_bad_input_yields_a_failure_and_the_run_goes_on(self, harness: SourceHarness) -> None:
        harness.put("a", text_for("a"))
        expected_ref = harness.put_bad("bad")
        harness.put("z", text_for("z"))
        connector = harness.connector()
        items = fetch_all(connector)
        problems = failures(items)
        assert len(problems) == 1, problems
        assert expected_ref in problems[0].source_ref
        assert problems[0].reason
        assert set(merge(items)) == {harness.record_id("a"), harness.record_id("z")}
        assert set(merge(items)) <= set(connector.list_ids())
        final = final_checkpoint(items)
        assert changes(fetch_all(harness.connector(), final)) == []
