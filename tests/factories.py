"""Test data factories."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from connectors.record import Record, parse_record


def record_factory(prefix: str = "REC") -> Callable[..., Record]:
    """A record maker with numbering of its own: ids ``PREFIX-00001``… and titles ``Case note
    N``. Titles are indexed, so a module that makes many records with its own maker leaves the
    numbers, and so the rankings, of every other module's records as they were."""
    numbers = itertools.count(1)

    def make(**fields: Any) -> Record:
        """A valid record; any field can be overridden (``acl`` defaults to ``team:a``)."""
        number = next(numbers)
        raw: dict[str, Any] = {
            "id": f"{prefix}-{number:05d}",
            "case_id": "CASE-1",
            "doc_type": "case_note",
            "title": f"Case note {number}",
            "text": "The social worker visited the family home and spoke with the child.",
            "created_at": "2024-03-02",
            "acl": ["team:a"],
        }
        raw.update(fields)
        return parse_record(raw)

    return make


make_record = record_factory()


CASE_NOTE_PHRASES = (
    "Home visit completed; the children were seen together and then alone.",
    "Mum reported that the ex-partner had been calling from a withheld number.",
    "School said attendance dropped to 82% this half term.",
    "Health visitor noted the baby's weight had fallen below the 9th centile.",
    "Police shared a notification after a verbal argument at the address.",
    "The safety plan was reviewed and signed by both parents.",
    "Grandmother offered to look after the children at weekends.",
    "The child said she felt safe at home but worried about her brother.",
)
"""Sentences of the kind case notes hold, for tests that make many records of random text."""


class HashEmbedder:
    """Unit vectors from a hash of each text: an embedder with no model to load, for tests
    of the plumbing around vectors (sync, reconcile, settings), not of ranking."""

    fingerprint = "test-hash-384"
    dimension = 384

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")
            v = np.random.default_rng(seed).normal(size=self.dimension).astype(np.float32)
            out[i] = v / np.linalg.norm(v)
        return out


def dated_case_file(
    cases: Mapping[str, Sequence[str]], *, acl: Sequence[str], tail: Sequence[str] = ()
) -> list[Record]:
    """One record per text of each case (ids ``CASE-i``), the i-th dated the 15th of month
    i + 1 of 2024, each case's texts followed by ``tail``: a small case file for the pattern
    view and the assertion rules."""
    return [
        make_record(
            id=f"{case}-{i}",
            case_id=case,
            text=text,
            created_at=f"2024-{1 + i:02d}-15",
            acl=list(acl),
        )
        for case, texts in cases.items()
        for i, text in enumerate([*texts, *tail])
    ]


@contextmanager
def searcher_over(folder: Path, embedder: Any, records: Sequence[Record]) -> Iterator[Any]:
    """A ``HybridSearcher`` over a new SQLite store in ``folder`` holding ``records``."""
    from indexer import Indexer
    from retrieval.chunking import ChunkingConfig
    from retrieval.search import HybridSearcher
    from retrieval.store import RecordStore

    opened = RecordStore(folder / "store.sqlite3")
    try:
        Indexer(opened, embedder, ChunkingConfig(max_words=60)).apply(records, source="t")
        yield HybridSearcher(opened, embedder)
    finally:
        opened.close()
