"""Drift between the record store and its Qdrant collection, found and repaired.

``QdrantIndex.sync`` keeps Qdrant in step with what the store commits; drift is what it cannot
see: a point deleted or edited in Qdrant by hand, a collection restored from an older snapshot,
points of another store, or changes not yet synced. ``reconcile`` compares every chunk of one
store snapshot with the point of the same id (``point_id``) and sorts the differences:

- **missing**: a chunk of the store with no point;
- **stray**: a point no chunk of the store has;
- **content**: a point whose ``content_hash`` (terms and vector it was written from) or chunk
  pk is not the store's chunk's: written from another version of the chunk;
- **stale**: any other difference of the payload from what the store says (permissions and
  their ``acl_hash``, case, type, day, record pk), or a field the store does not know.

With ``repair``, missing and content points are upserted from the store's stored terms and
vectors (nothing is embedded), stale payloads overwritten, strays deleted, and the snapshot's
generation acknowledged: Qdrant then equals that snapshot. Without, nothing is written.

It runs under the same lock as ``sync`` (no sync moves underneath it). The content hash is
compared as the payload holds it: a vector edited in Qdrant without its hash is not read back
(that would read every vector).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from qdrant_client import models

from retrieval.qdrant_index import SYNC_LOCK, QdrantIndex
from retrieval.qdrant_points import expected_payload, indexed_chunk
from retrieval.store import RecordStore


@dataclass(slots=True)
class Drift:
    """What ``reconcile`` found (and, with ``repaired``, set right): counts of points."""

    chunks: int = 0
    missing: int = 0
    stray: int = 0
    content: int = 0
    stale: int = 0
    generation: int = 0
    acknowledged: int | None = None
    repaired: bool = False
    examples: list[str] = field(default_factory=list)  # a few point ids, for the operator

    @property
    def total(self) -> int:
        return self.missing + self.stray + self.content + self.stale


EXAMPLES = 5


def reconcile(store: RecordStore, index: QdrantIndex, *, repair: bool, batch: int = 500) -> Drift:
    """Compare ``store`` (one snapshot) with ``index`` and, with ``repair``, make the index
    equal to it (module docstring). Raises what qdrant-client raises; a repair cut short is
    finished by running it again (each step is idempotent)."""
    with index.sync_lock(), store.exclusive(SYNC_LOCK):
        held = store.get_meta(index.acknowledged_key)
        drift = Drift(acknowledged=None if held is None else int(held))
        expected_ids: set[str] = set()
        with store.snapshot() as conn:
            drift.generation = store.generation(conn)
            pks = store.record_pks(conn)
            for start in range(0, len(pks), batch):
                records = store.indexed_records(conn, pks[start : start + batch])
                rows = store.chunks_with_pks(conn, list(records))
                wanted = {
                    index.point_id(records[pk].id, chunk.ordinal): (records[pk], chunk_pk, chunk)
                    for pk in records
                    for chunk_pk, chunk in rows.get(pk, [])
                }
                expected_ids.update(wanted)
                drift.chunks += len(wanted)
                payloads = index.payloads(list(wanted))
                rewrite = []
                overwrite: list[models.UpdateOperation] = []
                for pid, (record, chunk_pk, chunk) in wanted.items():
                    expected = expected_payload(record, chunk_pk, chunk, index.tenant)
                    payload = payloads.get(pid)
                    if payload is None:
                        drift.missing += 1
                    elif any(payload.get(k) != expected[k] for k in ("content_hash", "chunk_pk")):
                        drift.content += 1
                    elif payload != expected:
                        drift.stale += 1
                        overwrite.append(
                            models.OverwritePayloadOperation(
                                overwrite_payload=models.SetPayload(payload=expected, points=[pid])
                            )
                        )
                        _example(drift, pid)
                        continue
                    else:
                        continue
                    _example(drift, pid)
                    rewrite.append(indexed_chunk(record, chunk_pk, chunk))
                if repair:
                    index.upsert(rewrite)
                    if overwrite:
                        index.client.batch_update_points(
                            index.name, update_operations=overwrite, wait=True
                        )
        strays = [pid for pid in index.point_ids() if pid not in expected_ids]
        drift.stray = len(strays)
        for pid in strays:
            _example(drift, pid)
        if repair:
            index.delete_points(strays)
            with store.transaction() as conn:
                store.set_meta(conn, index.acknowledged_key, str(drift.generation))
            drift.repaired = True
    return drift


def _example(drift: Drift, pid: str) -> None:
    if len(drift.examples) < EXAMPLES:
        drift.examples.append(pid)
