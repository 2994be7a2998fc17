"""What a clean build of the store determines, for comparing a crashed and resumed build with
it (``tests/indexer``): records, permissions, chunks with their FTS terms, vectors, orphans."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from retrieval.store import RecordStore


def store_snapshot(path: Path) -> dict[str, Any]:
    """Records, permissions, chunks (with FTS terms), their vectors, and FTS rows whose chunk
    is gone, in a stable order."""
    store = RecordStore(path)
    try:
        with store.snapshot() as conn:
            records = conn.exec_driver_sql(
                "SELECT id, content_hash, acl_hash, text FROM records ORDER BY id"
            ).all()
            principals = conn.exec_driver_sql(
                "SELECT r.id, p.principal, p.effect FROM principals p"
                " JOIN records r ON r.pk = p.record_pk ORDER BY 1, 2, 3"
            ).all()
            chunks = conn.exec_driver_sql(
                "SELECT r.id, c.ordinal, c.char_start, c.char_end, c.vector, f.terms"
                " FROM chunks c JOIN records r ON r.pk = c.record_pk"
                " JOIN chunks_fts f ON f.rowid = c.pk ORDER BY 1, 2"
            ).all()
            orphans = conn.exec_driver_sql(
                "SELECT count(*) FROM chunks_fts WHERE rowid NOT IN (SELECT pk FROM chunks)"
            ).scalar_one()
    finally:
        store.close()
    return {
        "records": [tuple(r) for r in records],
        "principals": [tuple(p) for p in principals],
        "chunks": [(*tuple(c[:4]), c[5]) for c in chunks],
        "vectors": np.stack([np.frombuffer(c[4], dtype=np.float32) for c in chunks]),
        "orphans": orphans,
    }
