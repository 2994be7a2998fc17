"""Revision 0003 gives both stores an index on ``records.generation``, which the query for
records changed since a generation (Qdrant's sync) uses instead of scanning every record."""

from __future__ import annotations

from retrieval.store import RecordStore


def test_changed_records_are_found_through_the_generation_index(store: RecordStore) -> None:
    explain = "EXPLAIN QUERY PLAN " if not store.postgresql else "EXPLAIN "
    with store.snapshot() as conn:
        if store.postgresql:
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = " ".join(
            str(row[-1])
            for row in conn.exec_driver_sql(
                f"{explain}SELECT pk FROM records WHERE generation > ?", (0,)
            )
        )
    assert "records_generation" in plan
