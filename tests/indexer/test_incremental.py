"""Incremental indexing: unchanged costs nothing, edits re-embed only what changed."""

from __future__ import annotations

from dataclasses import replace

from factories import make_record

from indexer import Indexer
from retrieval.chunking import ChunkingConfig
from retrieval.embedding import Embedder
from retrieval.models import AccessScope, SearchRequest
from retrieval.search import HybridSearcher
from retrieval.store import RecordStore


class CountingEmbedder:
    """Counts texts sent to the real model (the model still computes every vector)."""

    def __init__(self, inner: Embedder, fingerprint: str | None = None) -> None:
        self.inner = inner
        self.texts = 0
        self._fingerprint = fingerprint or inner.fingerprint

    @property
    def fingerprint(self) -> str:
        return self._fingerprint

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def embed(self, texts, *, progress=False):  # type: ignore[no-untyped-def]
        self.texts += len(texts)
        return self.inner.embed(texts, progress=progress)


def _search(searcher: HybridSearcher, text: str, *principals: str) -> list[str]:
    result = searcher.search(
        SearchRequest(text=text, scope=AccessScope.of(*principals), understand=False)
    )
    return [h.document_id for h in result.hits]


def test_rerun_of_unchanged_records_embeds_nothing(store: RecordStore, embedder: Embedder) -> None:
    counting = CountingEmbedder(embedder)
    indexer = Indexer(store, counting, ChunkingConfig(max_words=40))
    records = [
        make_record(text=f"Visit {i}: the child was seen alone in her bedroom.") for i in range(5)
    ]
    first = indexer.apply(records, source="t")
    assert (first.added, first.chunks_embedded) == (5, 5)
    embedded = counting.texts
    second = indexer.apply(records, source="t")
    assert (second.unchanged, second.added, second.updated, second.chunks_embedded) == (5, 0, 0, 0)
    assert counting.texts == embedded


def test_edit_reembeds_only_the_edited_record(store: RecordStore, embedder: Embedder) -> None:
    counting = CountingEmbedder(embedder)
    indexer = Indexer(store, counting, ChunkingConfig(max_words=40))
    records = [make_record(text=f"Note {i}. School reported good attendance.") for i in range(4)]
    indexer.apply(records, source="t")
    before = counting.texts
    edited = replace(records[2], text="Note 2. Mum disclosed a new partner with convictions.")
    summary = indexer.apply([*records[:2], edited, records[3]], source="t")
    assert (summary.updated, summary.unchanged) == (1, 3)
    assert counting.texts - before == summary.chunks_embedded == 1


def test_acl_change_applies_without_embedding_and_at_once(
    store: RecordStore, embedder: Embedder
) -> None:
    counting = CountingEmbedder(embedder)
    indexer = Indexer(store, counting, ChunkingConfig(max_words=40))
    searcher = HybridSearcher(store, counting)
    record = make_record(text="Strategy discussion held with police and health.", acl=["team:a"])
    indexer.apply([record], source="t")
    assert _search(searcher, "strategy discussion police", "team:a") == [record.id]
    before = counting.texts
    restricted = replace(record, acl=("team:managers",))
    summary = indexer.apply([restricted], source="t")
    assert summary.acl_changed == 1
    assert counting.texts == before  # permissions only: nothing re-embedded
    assert _search(searcher, "strategy discussion police", "team:a") == []
    assert _search(searcher, "strategy discussion police", "team:managers") == [record.id]


def test_tombstone_removes_the_record_from_every_index(
    store: RecordStore, indexer: Indexer, searcher: HybridSearcher
) -> None:
    from connectors.record import Tombstone

    keep = make_record(text="Health visitor contact: weight gain on track.")
    gone = make_record(text="Health visitor contact: missed appointment, no access.")
    indexer.apply([keep, gone], source="t")
    assert gone.id in _search(searcher, "health visitor", "team:a")
    summary = indexer.apply([Tombstone(gone.id)], source="t")
    assert summary.deleted == 1
    assert _search(searcher, "health visitor", "team:a") == [keep.id]
    assert store.counts() == {"records": 1, "chunks": 1}
    assert store.lexical_chunks() == 1


def test_changed_embedding_model_triggers_a_rebuild(store: RecordStore, embedder: Embedder) -> None:
    old = Indexer(store, CountingEmbedder(embedder, "old-model"), ChunkingConfig(max_words=40))
    old.apply([make_record(), make_record()], source="t")
    new_model = CountingEmbedder(embedder, "new-model")
    new = Indexer(store, new_model, ChunkingConfig(max_words=40))
    summary = new.apply([], source="t")
    assert summary.rebuilt
    assert new_model.texts == 2
    assert store.get_meta("embedder") == "new-model"
    assert not new.ensure_settings()
