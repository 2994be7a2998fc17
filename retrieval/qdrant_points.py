"""What a Qdrant point is made of: the chunk it is written from (``IndexedChunk``), its
deterministic id, its dense and BM25 sparse vectors, and its payload (record fields, chunk
fields, content and ACL hashes, tenant). One writer for each part, so an upsert, a payload
update and ``casesearch reconcile``'s expected payload cannot drift apart. The design is in
``retrieval.qdrant_index``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from qdrant_client import models
from sqlalchemy import Connection

from retrieval.lexical import K1, B
from retrieval.models import ChunkRow
from retrieval.store import IndexedRecord, RecordStore

DENSE = "dense"
SPARSE = "bm25"
REFERENCE_LENGTH = 60.0
"""The chunk length (terms) BM25's length normalisation divides by, fixed so that no hidden
chunk can move a weight (``retrieval.qdrant_index``)."""
TENANT = "tenant"
"""The payload key naming the council a point belongs to when several share a collection."""
_NAMESPACE = uuid.UUID("6f1c1f1e-6c2b-4f7e-9a55-0c9a3c1d2e70")


@dataclass(frozen=True, slots=True)
class IndexedChunk:
    """One chunk as the index holds it: where it comes from, what it says, who may see it."""

    record_id: str
    ordinal: int
    case_id: str | None
    doc_type: str | None
    created: dt.date | None
    allow: tuple[str, ...]
    deny: tuple[str, ...]
    terms: str  # the analysed terms, space-separated (``retrieval.analysis``)
    vector: np.ndarray  # float32, unit length
    record_pk: int | None = None  # where the store keeps it (None: not from a store)
    chunk_pk: int | None = None


def point_id(record_id: str, ordinal: int, tenant: str | None = None) -> str:
    """The chunk's point id: the same for the same record and ordinal (and tenant) on every
    replay; two councils' records of one id are two points."""
    key = f"{record_id}\x00{ordinal}" if tenant is None else f"{tenant}\x00{record_id}\x00{ordinal}"
    return str(uuid.uuid5(_NAMESPACE, key))


def term_index(term: str) -> int:
    """The sparse dimension of ``term``: 32 bits of its BLAKE2b hash (stable across runs and
    machines, unlike ``hash``)."""
    return int.from_bytes(hashlib.blake2b(term.encode("utf-8"), digest_size=4).digest(), "big")


def bm25_sparse(terms: str) -> models.SparseVector:
    """The chunk's BM25 term weights without IDF (Qdrant multiplies it in at query time):
    ``tf·(k1+1) / (tf + k1·(1 − b + b·len/REFERENCE_LENGTH))`` with FTS5's k1 and b. Two
    terms hashing to one dimension add up (about one pair in a hundred thousand terms)."""
    words = terms.split()
    counts: dict[int, int] = {}
    for word in words:
        key = term_index(word)
        counts[key] = counts.get(key, 0) + 1
    norm = K1 * (1 - B + B * len(words) / REFERENCE_LENGTH)
    ordered = sorted(counts.items())
    return models.SparseVector(
        indices=[k for k, _ in ordered],
        values=[tf * (K1 + 1) / (tf + norm) for _, tf in ordered],
    )


def query_sparse(terms: Iterable[str]) -> models.SparseVector:
    """A query's terms, each once with weight 1 (the chunk side carries tf and length)."""
    keys = sorted({term_index(t) for t in terms})
    return models.SparseVector(indices=keys, values=[1.0] * len(keys))


def content_hash(terms: str, vector: bytes) -> str:
    """A chunk's terms and float32 vector as the store holds them, hashed (what a point was
    written from: ``casesearch reconcile`` compares it with the store's)."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(terms.encode("utf-8"))
    digest.update(b"\x00")
    digest.update(vector)
    return digest.hexdigest()


def acl_hash(allow: Iterable[str], deny: Iterable[str]) -> str:
    """The permissions a point carries, hashed (order and repeats do not count)."""
    text = json.dumps([sorted(set(allow)), sorted(set(deny))], ensure_ascii=False)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def point_payload(c: IndexedChunk, tenant: str | None) -> dict[str, object]:
    return {
        **_record_payload(
            c.record_id, c.record_pk, c.case_id, c.doc_type, c.created, c.allow, c.deny
        ),
        "chunk_pk": c.chunk_pk,
        "ordinal": c.ordinal,
        "content_hash": content_hash(c.terms, c.vector.astype(np.float32).tobytes()),
        **_tenant_field(tenant),
    }


def _tenant_field(tenant: str | None) -> dict[str, object]:
    return {} if tenant is None else {TENANT: tenant}


def record_fields(record: IndexedRecord) -> dict[str, object]:
    """The payload fields every point of ``record`` shares (as ``point_payload`` writes them)."""
    return _record_payload(
        record.id, record.pk, record.case_id, record.doc_type, record.created, record.allow,
        record.deny,
    )  # fmt: skip


def _record_payload(
    record_id: str,
    record_pk: int | None,
    case_id: str | None,
    doc_type: str | None,
    created: dt.date | None,
    allow: Sequence[str],
    deny: Sequence[str],
) -> dict[str, object]:
    """The fields a point takes from its record: one writer, so a payload update, an upsert
    and reconcile's expected payload cannot drift apart."""
    return {
        "record_id": record_id,
        "record_pk": record_pk,
        "case_id": case_id,
        "doc_type": doc_type,
        "day": created.toordinal() if created else None,
        "allow": sorted(set(allow)),
        "deny": sorted(set(deny)),
        "acl_hash": acl_hash(allow, deny),
    }


def expected_payload(
    record: IndexedRecord, chunk_pk: int, chunk: ChunkRow, tenant: str | None = None
) -> dict[str, object]:
    """The payload the point of ``chunk`` must hold (what ``upsert`` writes for it)."""
    return {
        **record_fields(record),
        "chunk_pk": chunk_pk,
        "ordinal": chunk.ordinal,
        "content_hash": content_hash(chunk.terms, chunk.vector),
        **_tenant_field(tenant),
    }


def indexed_chunk(record: IndexedRecord, chunk_pk: int, chunk: ChunkRow) -> IndexedChunk:
    return IndexedChunk(
        record_id=record.id,
        ordinal=chunk.ordinal,
        case_id=record.case_id,
        doc_type=record.doc_type,
        created=record.created,
        allow=record.allow,
        deny=record.deny,
        terms=chunk.terms,
        vector=np.frombuffer(chunk.vector, dtype=np.float32),
        record_pk=record.pk,
        chunk_pk=chunk_pk,
    )


def indexed_chunks(
    store: RecordStore, conn: Connection, pks: Sequence[int], records: Mapping[int, IndexedRecord]
) -> list[IndexedChunk]:
    """Every chunk of the records ``pks`` as the index holds it, read in ``conn``'s snapshot."""
    rows = store.chunks_with_pks(conn, pks)
    return [
        indexed_chunk(records[pk], chunk_pk, chunk)
        for pk in pks
        for chunk_pk, chunk in rows.get(pk, [])
    ]
