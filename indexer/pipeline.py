"""Incremental, crash-safe indexing.

For each record the indexer compares two hashes with what the store holds:
- content hash (text + retrieval metadata) changed or new → chunk, embed, replace atomically;
- only the ACL hash changed → rewrite permissions, no embedding;
- neither → nothing (an unchanged source costs no embedding at all).

Items are applied in batches, each batch one SQLite transaction. A connector ``Checkpoint`` is
saved in the same transaction as the records before it, so a ``kill -9`` at any point leaves
either the batch and its checkpoint or neither; a rerun resumes from the last checkpoint and
re-applies idempotent upserts. Deletions: tombstones, and (after a full pass) store ids of this
source missing from ``connector.list_ids()``.

Sharding. Several processes can split one source: ``run(connector, shard=Shard(k, n))`` indexes
only the records, tombstones and failures whose key (record id, or a failure's reference) falls
in shard ``k`` of ``n`` (``Shard.owns``), keeps its checkpoint and last run under its own key
(``Shard.key``), clears only its own failures, and deletes only its own ids that the source no
longer lists. The ``n`` processes together index the whole source once, each record by exactly
one of them; each reads the whole source but prepares (chunks, embeds) only its share.

A second index. With a ``QdrantIndex`` (``CASESEARCH_QDRANT_URL``), the indexer has it follow
the store after each committed batch and at the end of a run (``QdrantIndex.sync``, which
replays everything the store committed since Qdrant last acknowledged). A batch's sync that
fails is logged and left for the next one: the store's change log is the outbox, so nothing
committed is lost; the sync at the end of a run raises.

One record never stops a run. A record that cannot be prepared (chunking, analysis or
embedding raises, e.g. spaCy's E088 on a text past ``nlp.max_length``, or a string that is not
storable UTF-8) becomes a stored failure under its record id, with a reason starting
``not indexed:``, and the rest of its batch is indexed. Its connector's checkpoint still moves
past it (re-reading would fail the same way), so such a failure is kept until the record is
indexed or deleted, even for connectors whose failures are otherwise cleared when a run no
longer reports them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from tqdm import tqdm

from connectors.base import Checkpoint, Connector, Failure
from connectors.media import MediaCopies
from connectors.record import Record, Tombstone
from connectors.record import Subject as RecordSubject
from retrieval import analysis
from retrieval.chunking import ChunkingConfig, ChunkSpan, chunk_text
from retrieval.embedding import Embedder
from retrieval.errors import IndexSyncError
from retrieval.models import ChunkRow, Document, Subject
from retrieval.qdrant_index import QdrantIndex
from retrieval.store import RecordStore

logger = logging.getLogger(__name__)

_SHARD = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


def shard_of(key: str, count: int) -> int:
    """The number (1 … ``count``) of the shard that owns the record id (or failure reference)
    ``key``: the first 8 bytes of its UTF-8 SHA-256, modulo ``count``."""
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


@dataclass(frozen=True, slots=True)
class Shard:
    """Shard ``number`` of ``count`` (1 ≤ number ≤ count) of a source's records.

    A record belongs to the shard given by the SHA-256 of its id (``owns``), never by its
    position in the source. Its place in a file or table moves whenever lines are added,
    removed or rewritten and a re-read starts from another checkpoint, but its id does not: a
    record, every later version of it and its tombstone all fall in the same shard, on every
    run and in every process. So one process owns a record's whole history, which keeps the
    connector's net-state reading (a revocation is never undone by an older line) and lets that
    process alone decide the record is gone. SHA-256 rather than Python's ``hash()``, which is
    salted per process. Changing ``count`` moves most records to another shard; the new shards
    have no checkpoint, read the source from the start, and find the records already stored
    unchanged (nothing is embedded again).

    Raises ``ValueError`` for a number outside 1..count.
    """

    number: int
    count: int

    def __post_init__(self) -> None:
        if not 1 <= self.number <= self.count:
            raise ValueError(
                f"a shard is K/N with 1 ≤ K ≤ N (N processes, K = 1 … N); got {self.label}"
            )

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"K/N"`` as a shard; ``ValueError`` with the reason when it is not one."""
        match = _SHARD.fullmatch(text)
        if match is None:
            raise ValueError(f"a shard is written K/N, e.g. 1/2 or 3/4; got {text!r}")
        return cls(int(match[1]), int(match[2]))

    @property
    def label(self) -> str:
        return f"{self.number}/{self.count}"

    def key(self, source: str) -> str:
        """Where this shard's checkpoint and last run are kept (the source's own key is left
        to unsharded runs)."""
        return f"{source}#shard {self.label}"

    def owns(self, key: str) -> bool:
        """Whether the record id (or failure reference) ``key`` belongs to this shard."""
        return shard_of(key, self.count) == self.number


@dataclass(slots=True)
class IndexSummary:
    """What one run did. ``failures`` holds ``(source_ref, reason)`` pairs; ``resolved`` counts
    earlier failures that a complete run found fixed. ``shard`` is ``"K/N"`` for a sharded run
    (and only then in ``as_dict``)."""

    source: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    acl_changed: int = 0
    failed: int = 0
    resolved: int = 0
    chunks_embedded: int = 0
    elapsed_s: float = 0.0
    rebuilt: bool = False
    failures: list[tuple[str, str]] = field(default_factory=list)
    shard: str | None = None

    def as_dict(self) -> dict[str, Any]:
        shard = {} if self.shard is None else {"shard": self.shard}
        return {
            **shard,
            "source": self.source,
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
            "acl_changed": self.acl_changed,
            "failed": self.failed,
            "resolved": self.resolved,
            "chunks_embedded": self.chunks_embedded,
            "elapsed_s": round(self.elapsed_s, 3),
            "rebuilt": self.rebuilt,
            "failures": [{"source_ref": r, "reason": why} for r, why in self.failures],
        }


@dataclass(slots=True)
class _Prepared:
    record: Record
    chunks: list[ChunkRow]


# Reasons of failures the indexer itself records start with this (see the module docstring).
NOT_INDEXED = "not indexed: "


@runtime_checkable
class Estimating(Protocol):
    """A connector that can say cheaply about how many items a fetch will yield (files: a
    walk with ``stat``; JSONL: the lines after the checkpoint), for the progress bar's total
    and ETA. Others show a count and a rate only."""

    def estimate_items(self, checkpoint: Checkpoint) -> int | None: ...


@runtime_checkable
class Transcribing(Protocol):
    """A connector that transcribes recordings (files): the seconds of audio transcribed and
    the seconds that took, for the progress line, and the copies of the recordings it keeps
    (``None``: none), pruned after each run to those a stored record still names."""

    transcribed_s: float
    transcribing_s: float
    media: MediaCopies | None


class Indexer:
    """Applies connector items to a store. Not thread-safe; one indexer per process."""

    def __init__(
        self,
        store: RecordStore,
        embedder: Embedder,
        chunking: ChunkingConfig,
        *,
        batch_size: int = 64,
        progress: bool = False,
        qdrant: QdrantIndex | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.chunking = chunking
        self.batch_size = batch_size
        self.progress = progress
        self.qdrant = qdrant
        self._loaded = False  # the model was loaded in this run (see _load_model)
        self._progress: dict[str, object] = {}  # the progress line's figures

    # -- public entry points ------------------------------------------------------------------

    def ensure_settings(self) -> bool:
        """Rebuild every record if the store was built with another model or chunking.

        Returns True when a rebuild ran. Vectors of two models are never mixed.
        """
        if self.store.check_index_settings(self.embedder.fingerprint, self.chunking.fingerprint()):
            return False
        self.rebuild()
        return True

    def run(
        self, connector: Connector, *, detect_deletions: bool = True, shard: Shard | None = None
    ) -> IndexSummary:
        """Index what changed in ``connector``'s source since its stored checkpoint.

        With ``shard``, only that shard's records, tombstones and failures, from and to that
        shard's checkpoint (module docstring); without it, all of them from the source's.
        """
        started = time.perf_counter()
        source = connector.source_id
        key = source if shard is None else shard.key(source)
        summary = IndexSummary(source=source, shard=None if shard is None else shard.label)
        summary.rebuilt = self.ensure_settings()
        checkpoint = connector.load_checkpoint(self.store.get_checkpoint(key))
        pending: list[Record | Tombstone | Failure] = []
        total = None
        if self.progress and isinstance(connector, Estimating):
            total = connector.estimate_items(checkpoint)
        bar = tqdm(
            desc=f"indexing {source}" + ("" if shard is None else f" (shard {shard.label})"),
            unit=" records",
            total=total,
            disable=not self.progress,
            leave=False,
        )
        self._loaded = False
        self._progress = {}
        try:
            for item in connector.fetch(checkpoint):
                if isinstance(item, Checkpoint):
                    self._apply(pending, summary, source, checkpoint=item, key=key, bar=bar)
                    pending = []
                    continue
                bar.update(1)  # as read: a file's extraction (OCR) can take longer than a batch
                if isinstance(connector, Transcribing) and connector.transcribing_s > 0:
                    # seconds of audio transcribed per second: above 1, faster than real time
                    rate = connector.transcribed_s / connector.transcribing_s
                    self._progress["audio_s_per_s"] = f"{rate:.1f}"
                    bar.set_postfix(self._progress)
                if bar.total is not None and bar.n > bar.total:
                    bar.total = bar.n  # the estimate missed some (metadata-only changes)
                if shard is not None and not shard.owns(_shard_key(item)):
                    continue  # another shard's process indexes it
                pending.append(item)
                if len(pending) >= self.batch_size:
                    self._apply(pending, summary, source, checkpoint=None, key=key, bar=bar)
                    pending = []
            self._apply(pending, summary, source, checkpoint=None, key=key, bar=bar)
            if connector.reports_failures_every_run:
                # a complete run: what it did not report again has been fixed. Another shard's
                # failures are its own to clear: they count as still failing here.
                still_failing = {ref for ref, _ in summary.failures} | {
                    row.source_ref
                    for row in self.store.failures(source)
                    if row.reason.startswith(NOT_INDEXED)
                    or (shard is not None and not shard.owns(row.source_ref))
                }
                with self.store.transaction() as conn:
                    summary.resolved = self.store.clear_failures_except(conn, source, still_failing)
            if detect_deletions:
                summary.deleted += self.remove_absent(
                    source, set(connector.list_ids()), shard=shard
                )
        finally:
            bar.close()
        if isinstance(connector, Transcribing) and connector.media is not None:
            # deleted and replaced recordings: their copies go once no record names them
            connector.media.prune(self.store.media_in_use())
        summary.elapsed_s = time.perf_counter() - started
        self.store.save_run_summary(
            key, {k: v for k, v in summary.as_dict().items() if k != "failures"}
        )
        self.sync_index()
        return summary

    def apply(self, items: Iterable[Record | Tombstone], *, source: str) -> IndexSummary:
        """Apply pushed records and tombstones (the CMS push API); no checkpoint involved.

        Only the last item of each id is applied (in order of last appearance): a push that
        holds a record and later its narrowed version or tombstone never commits the earlier
        one, however the push is cut into batches.
        """
        started = time.perf_counter()
        summary = IndexSummary(source=source)
        summary.rebuilt = self.ensure_settings()
        batch: list[Record | Tombstone | Failure] = []
        for item in _last_wins(list(items)):
            batch.append(item)
            if len(batch) >= self.batch_size:
                self._apply(batch, summary, source, checkpoint=None, bar=None)
                batch = []
        self._apply(batch, summary, source, checkpoint=None, bar=None)
        summary.elapsed_s = time.perf_counter() - started
        return summary

    def rebuild(self) -> int:
        """Re-chunk and re-embed every stored record with the current settings."""
        with self.store.snapshot() as conn:
            ids = [record_id for record_id, _, _, _ in self.store.record_index(conn)]
        for start in range(0, len(ids), self.batch_size):
            docs = [self.store.document(i) for i in ids[start : start + self.batch_size]]
            present = [d for d in docs if d is not None]
            prepared, failed = self._prepare([_record_of(d) for d in present])
            with self.store.transaction() as conn:
                generation = self.store.next_generation(conn)
                for prep in prepared:
                    self._write(conn, prep, source=None, generation=generation, keep_source=True)
                # A record the new settings cannot prepare leaves the index rather than keep
                # vectors of the old model beside the new ones.
                sources = self.store.stored_states([f.source_ref for f in failed], conn)
                for failure in failed:
                    state = sources.get(failure.source_ref)
                    self.store.delete_document(conn, failure.source_ref, generation)
                    if state is not None and state.source is not None:
                        self.store.record_failure(
                            conn, state.source, failure.source_ref, failure.reason
                        )
        with self.store.transaction() as conn:
            self.store.set_meta(conn, "embedder", self.embedder.fingerprint)
            self.store.set_meta(conn, "chunking", self.chunking.fingerprint())
        self.follow_index()
        return len(ids)

    def sync_index(self) -> None:
        """Bring the second index (if any) up to the store; ``IndexSyncError`` naming what
        failed when it cannot (the changes stay in the store's log, for the next sync)."""
        if self.qdrant is None:
            return
        try:
            self.qdrant.sync(self.store)
        except Exception as exc:
            raise IndexSyncError(
                f"the records are in the store, but the Qdrant index could not take them"
                f" ({type(exc).__name__}: {exc}); run the command again or 'casesearch reconcile'"
            ) from exc

    def follow_index(self) -> None:
        """``sync_index`` after a committed batch or push: a failure is logged, not raised
        (the next sync replays it from the store's log), so a second index that is down does
        not stop the store's writes."""
        try:
            self.sync_index()
        except Exception as exc:  # the store has the change; Qdrant gets it on the next sync
            logger.warning(
                "the Qdrant index could not follow the store (%s); the next sync replays it",
                type(exc.__cause__ or exc).__name__,
            )

    # -- internals ----------------------------------------------------------------------------

    def _apply(
        self,
        items: Sequence[Record | Tombstone | Failure],
        summary: IndexSummary,
        source: str,
        *,
        checkpoint: Checkpoint | None,
        bar: Any,
        key: str | None = None,
    ) -> None:
        """Prepare ``items`` and write them in one transaction, with ``checkpoint`` saved under
        ``key`` (default: ``source``). Counts go to ``summary`` (mutated)."""
        if not items and checkpoint is None:
            return
        records = _last_wins([i for i in items if isinstance(i, Record | Tombstone)])
        with self.store.engine.connect() as conn:
            states = self.store.stored_states([r.id for r in records], conn)
        to_embed: list[Record] = []
        acl_only: list[Record] = []
        deletions: list[str] = []
        for item in records:
            if isinstance(item, Tombstone):
                deletions.append(item.id)
                continue
            state = states.get(item.id)
            if state is None or state.content_hash != item.content_hash():
                to_embed.append(item)
            elif state.acl_hash != item.acl_hash():
                acl_only.append(item)
            else:
                summary.unchanged += 1
        if to_embed and bar is not None:
            self._load_model(bar)
        prepared, not_indexed = self._prepare(to_embed)
        with self.store.transaction() as conn:
            generation = self.store.next_generation(conn)
            for prep in prepared:
                self._write(conn, prep, source=source, generation=generation)
                if prep.record.id in states:
                    summary.updated += 1
                else:
                    summary.added += 1
                summary.chunks_embedded += len(prep.chunks)
                self.store.clear_failure(conn, source, prep.record.id)
            for record in acl_only:
                self.store.update_permissions(
                    conn,
                    record.id,
                    record.acl,
                    record.deny,
                    acl_hash=record.acl_hash(),
                    generation=generation,
                )
                summary.acl_changed += 1
            for record_id in deletions:
                if self.store.delete_document(conn, record_id, generation):
                    summary.deleted += 1
                self.store.clear_failure(conn, source, record_id)
            for failure in [*(i for i in items if isinstance(i, Failure)), *not_indexed]:
                self.store.record_failure(conn, source, failure.source_ref, failure.reason)
                summary.failed += 1
                summary.failures.append((failure.source_ref, failure.reason))
            if checkpoint is not None:
                self.store.save_checkpoint(conn, key or source, checkpoint.model_dump_json())
        self.follow_index()
        if bar is not None:
            elapsed = max(bar.format_dict.get("elapsed", 0.0), 1e-6)
            done = (
                summary.added
                + summary.updated
                + summary.unchanged
                + summary.acl_changed
                + summary.deleted
                + summary.failed
            )
            # the bar counts what was read; this, what is stored
            self._progress.update(
                indexed=done, chunks_per_s=f"{summary.chunks_embedded / elapsed:.0f}"
            )
            bar.set_postfix(self._progress)

    def _load_model(self, bar: Any) -> None:
        """Load the model before the first batch is embedded, saying so on the bar.

        The load (seconds to minutes on a busy machine) used to sit unannounced inside the
        first batch, while the bar said "0 records, ? records/s".
        """
        if self._loaded:
            return
        self._loaded = True
        if bar.disable:
            return
        description = bar.desc
        bar.set_description_str(f"{description}: loading the model", refresh=True)
        self.embedder.embed(["warm up"], progress=False)
        bar.set_description_str(description, refresh=False)

    def _prepare(self, records: Sequence[Record]) -> tuple[list[_Prepared], list[Failure]]:
        """Chunk and embed records (outside any transaction: embedding is the slow part).

        Returns the prepared records in input order and a ``Failure`` (named by record id,
        reason starting ``NOT_INDEXED``) for each record whose preparation raised; the others
        are unaffected. Embedding runs once for the whole batch and, only if that raises, once
        per record to find the one at fault.
        """
        analysed: list[tuple[Record, list[ChunkSpan], list[str]]] = []
        failures: list[Failure] = []
        for record in records:
            try:
                _check_storable(record)
                chunks = chunk_text(record.text, self.chunking)
                title_terms = " ".join(analysis.terms(record.title))
                terms = [
                    f"{title_terms} {' '.join(analysis.terms(c.text))}".strip() for c in chunks
                ]
            except Exception as exc:  # one record's text must not stop the batch
                failures.append(_not_indexed(record, exc))
                continue
            analysed.append((record, chunks, terms))
        texts = [_embedding_text(r.title, c.text) for r, chunks, _ in analysed for c in chunks]
        try:
            vectors: list[Any] = list(self.embedder.embed(texts, progress=False)) if texts else []
        except Exception:
            vectors, analysed = self._embed_one_by_one(analysed, failures)
        out: list[_Prepared] = []
        row = 0
        for record, chunks, terms in analysed:
            rows: list[ChunkRow] = []
            for c, chunk_terms in zip(chunks, terms, strict=True):
                rows.append(
                    ChunkRow(
                        ordinal=c.ordinal,
                        char_start=c.char_start,
                        char_end=c.char_end,
                        terms=chunk_terms,
                        vector=vectors[row].tobytes(),
                    )
                )
                row += 1
            out.append(_Prepared(record, rows))
        return out, failures

    def _embed_one_by_one(
        self,
        analysed: list[tuple[Record, list[ChunkSpan], list[str]]],
        failures: list[Failure],
    ) -> tuple[list[Any], list[tuple[Record, list[ChunkSpan], list[str]]]]:
        """Embed each record alone; the records that raise go to ``failures`` (mutated)."""
        vectors: list[Any] = []
        kept: list[tuple[Record, list[ChunkSpan], list[str]]] = []
        for record, chunks, terms in analysed:
            texts = [_embedding_text(record.title, c.text) for c in chunks]
            try:
                found = list(self.embedder.embed(texts, progress=False)) if texts else []
            except Exception as exc:
                failures.append(_not_indexed(record, exc))
                continue
            vectors.extend(found)
            kept.append((record, chunks, terms))
        return vectors, kept

    def _write(
        self,
        conn: Any,
        prep: _Prepared,
        *,
        source: str | None,
        generation: int,
        keep_source: bool = False,
    ) -> None:
        record = prep.record
        if keep_source:
            existing = self.store.stored_states([record.id], conn).get(record.id)
            source = existing.source if existing else source
        self.store.upsert_document(
            conn,
            _document_of(record),
            prep.chunks,
            content_hash=record.content_hash(),
            acl_hash=record.acl_hash(),
            source=source,
            generation=generation,
        )

    def remove_absent(self, source: str, present: set[str], *, shard: Shard | None = None) -> int:
        """Delete the records of ``source`` whose ids are not in ``present`` (with ``shard``:
        only those the shard owns); return how many."""
        stored = self.store.ids_for_source(source)
        if shard is not None:
            stored = {record_id for record_id in stored if shard.owns(record_id)}
        missing = sorted(stored - present)
        deleted = 0
        for start in range(0, len(missing), 500):
            with self.store.transaction() as conn:
                generation = self.store.next_generation(conn)
                for record_id in missing[start : start + 500]:
                    deleted += self.store.delete_document(conn, record_id, generation)
            self.follow_index()
        return deleted


def _check_storable(record: Record) -> None:
    """Raise ``UnicodeEncodeError`` when a string of ``record`` cannot be stored as UTF-8.

    ``parse_record`` refuses lone surrogates; this covers records built any other way, which
    would otherwise fail inside the batch's transaction and take the whole batch with them.
    """
    json.dumps(record.to_json(), ensure_ascii=False).encode("utf-8")


def _not_indexed(record: Record, exc: Exception) -> Failure:
    detail = str(exc) or type(exc).__name__
    if len(detail) > 300:
        detail = detail[:297] + "..."
    # The id itself may be what cannot be stored: keep it printable.
    ref = record.id.encode("utf-8", "backslashreplace").decode("utf-8")
    detail = detail.encode("utf-8", "backslashreplace").decode("utf-8")
    return Failure(ref, f"{NOT_INDEXED}{type(exc).__name__}: {detail}")


def _shard_key(item: Record | Tombstone | Failure) -> str:
    """What decides an item's shard: a record's or tombstone's id, a failure's reference (the
    record id for the indexer's own failures, a file or line for a connector's)."""
    return item.source_ref if isinstance(item, Failure) else item.id


def _embedding_text(title: str, text: str) -> str:
    return f"{title}\n{text}" if title else text


def _last_wins(items: Sequence[Record | Tombstone]) -> list[Record | Tombstone]:
    """Keep only the last item per record id, in order of last appearance."""
    last: dict[str, Record | Tombstone] = {}
    for item in items:
        last.pop(item.id, None)
        last[item.id] = item
    return list(last.values())


def _document_of(record: Record) -> Document:
    return Document(
        id=record.id,
        text=record.text,
        acl=record.acl,
        deny=record.deny,
        case_id=record.case_id,
        doc_type=record.doc_type,
        title=record.title,
        created_at=record.created_at,
        updated_at=record.updated_at,
        author=record.author,
        source_uri=record.source_uri,
        attachments=record.attachments,
        extra=record.extra,
        subjects=tuple(
            Subject(s.id, s.name, s.role, s.other_names, s.dob) for s in record.subjects
        ),
    )


def _record_of(doc: Document) -> Record:
    return Record(
        id=doc.id,
        text=doc.text,
        acl=doc.acl,
        deny=doc.deny,
        case_id=doc.case_id,
        doc_type=doc.doc_type,
        title=doc.title,
        created_at=doc.created_at,
        updated_at=doc.updated_at,
        author=doc.author,
        source_uri=doc.source_uri,
        attachments=doc.attachments,
        extra=doc.extra,
        subjects=tuple(
            RecordSubject(s.id, s.name, s.role, s.other_names, s.dob) for s in doc.subjects
        ),
    )
