"""A dense search over a few records (one child's case) finds their rows through the rows
ordered by record, not a pass over every row: it must return what the pass returns, to the
last bit, however the store was written, deleted from and compacted since the order was made.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retrieval import dense
from retrieval.dense import DenseIndex
from retrieval.models import ChunkRow, Document
from retrieval.store import RecordStore

DIMENSION = 8
RECORDS = [f"R{i}" for i in range(12)]

# one step: write a record with this many chunks (0: delete it), then sync
_steps = st.lists(st.tuples(st.sampled_from(RECORDS), st.integers(0, 3)), min_size=1, max_size=30)


def _vector(seed: int) -> bytes:
    return np.random.default_rng(seed).standard_normal(DIMENSION).astype(np.float32).tobytes()


def _write(store: RecordStore, record_id: str, chunks: int, seed: int) -> None:
    with store.transaction() as conn:
        generation = store.next_generation(conn)
        if chunks == 0:
            store.delete_document(conn, record_id, generation=generation)
            return
        text = " ".join(["word"] * chunks)
        rows = [ChunkRow(i, 2 * i, 2 * i + 1, "word", _vector(seed + i)) for i in range(chunks)]
        store.upsert_document(
            conn,
            Document(id=record_id, text=text, acl=("all",), case_id="CASE"),
            rows,
            content_hash=f"{record_id}-{seed}",
            acl_hash="all",
            source="t",
            generation=generation,
        )


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=_steps, asked=st.lists(st.sets(st.integers(1, 14)), min_size=1, max_size=4))
def test_a_few_records_rows_found_by_order_are_every_rows(
    steps: list[tuple[str, int]], asked: list[set[int]]
) -> None:
    index = DenseIndex(DIMENSION)
    query = np.random.default_rng(0).standard_normal(DIMENSION).astype(np.float32)
    with tempfile.TemporaryDirectory() as folder:
        store = RecordStore(Path(folder) / "s.db")
        try:
            for n, (record_id, chunks) in enumerate(steps):
                _write(store, record_id, chunks, seed=7 * n)
                with store.snapshot() as conn:
                    index.sync(store, conn)
                for pks in asked:
                    allowed = np.zeros(16, dtype=np.bool_)
                    allowed[list(pks)] = True
                    by_order = index.search(query, allowed, 100)
                    with pytest.MonkeyPatch.context() as patch:
                        patch.setattr(dense, "FEW_RECORDS", -1)  # the pass over every row
                        every = index.search(query, allowed, 100)
                    assert by_order == every
        finally:
            store.close()


@pytest.fixture(autouse=True)
def _small_tail(monkeypatch: pytest.MonkeyPatch) -> None:
    # made again after a row or two appended, so both the order and the scanned tail are used
    monkeypatch.setattr(dense, "UNORDERED_MIN", 2)
    monkeypatch.setattr(dense, "UNORDERED_TAIL", 0.0)
