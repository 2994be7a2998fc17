"""The connector contract.

A connector is small: an initial checkpoint, ``fetch(checkpoint)`` yielding one stream of
records, tombstones, failures and new checkpoints, and ``list_ids()`` for deletion detection.

Ordering guarantee: every item yielded before a ``Checkpoint`` is covered by it. The indexer
commits a checkpoint only after everything before it is durably indexed, so a crash resumes
from the last committed checkpoint and, at worst, re-reads (never skips) records. Records are
idempotent upserts, so re-reading is harmless.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import ClassVar, Self, TypeAlias

from pydantic import BaseModel, ConfigDict

from connectors.errors import RecordError
from connectors.record import Record, Tombstone


class Checkpoint(BaseModel):
    """Where a connector got to. Frozen; round-trips through JSON (``model_dump_json``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass(frozen=True, slots=True)
class Failure:
    """One record or file that could not be read; the run goes on."""

    source_ref: str
    reason: str

    @classmethod
    def from_error(cls, error: RecordError) -> Failure:
        return cls(source_ref=error.source_ref, reason=error.reason)


SourceItem: TypeAlias = Record | Tombstone | Failure | Checkpoint


class Connector(ABC):
    """Base of every connector. Subclasses set ``scheme`` and ``checkpoint_type``."""

    scheme: ClassVar[str]
    checkpoint_type: ClassVar[type[Checkpoint]]
    reports_failures_every_run: ClassVar[bool] = False
    """True when ``fetch`` reports every unresolved failure again on every run (failed items are
    never covered by a checkpoint). The indexer then treats a stored failure that a complete
    run did not report as resolved. False (the default) keeps a failure until its record is
    indexed under the same reference."""

    @property
    @abstractmethod
    def source_id(self) -> str:
        """Stable name of this source (e.g. ``jsonl:/data/cms.jsonl``) for checkpoints."""

    @abstractmethod
    def initial_checkpoint(self) -> Checkpoint:
        """The checkpoint of a source never read before."""

    @abstractmethod
    def fetch(self, checkpoint: Checkpoint) -> Iterator[SourceItem]:
        """Yield what changed since ``checkpoint``, ending with a checkpoint covering it all.

        Raises ``FatalConnectorError`` when the source cannot be read at all; per-record
        problems are yielded as ``Failure`` items instead.
        """

    @abstractmethod
    def list_ids(self) -> Iterable[str]:
        """Every record id the source currently holds (for deletion detection)."""

    def close(self) -> None:
        """Release what the connector holds (connection pools). Idempotent; default: nothing."""
        return None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def load_checkpoint(self, raw: str | None) -> Checkpoint:
        """Parse a stored checkpoint, or the initial one when nothing is stored."""
        if not raw:
            return self.initial_checkpoint()
        return self.checkpoint_type.model_validate_json(raw)
