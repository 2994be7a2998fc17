"""Our BM25 ranking agrees with rank-bm25's BM25Okapi (the reference implementation)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rank_bm25 import BM25Okapi
from sqlalchemy import Connection

from retrieval import analysis
from retrieval.access import visible_records
from retrieval.dense import DenseIndex
from retrieval.lexical import bm25_search, group_matches, single_terms
from retrieval.models import AccessScope, ChunkRow, Document
from retrieval.store import RecordStore

MEDLINE = Path(__file__).resolve().parents[3] / "shared" / "eval-data" / "medline"


def _fixture_corpus() -> tuple[list[tuple[str, str]], list[str]]:
    if not (MEDLINE / "corpus.jsonl").exists():
        pytest.skip("shared/eval-data/medline is not present")
    with (MEDLINE / "corpus.jsonl").open() as fh:
        docs = [json.loads(line) for line, _ in zip(fh, range(400), strict=False)]
    with (MEDLINE / "queries.jsonl").open() as fh:
        queries = [json.loads(line)["text"] for line in fh]
    return [(d["_id"], d["text"]) for d in docs], queries


def _index(store: RecordStore, docs: list[tuple[str, str]]) -> None:
    zero = bytes(4 * 384)
    with store.transaction() as conn:
        for doc_id, text in docs:
            store.upsert_document(
                conn,
                Document(id=doc_id, text=text, acl=("all",)),
                [ChunkRow(0, 0, len(text), " ".join(analysis.terms(text)), zero)],
                content_hash="x",
                acl_hash="y",
                source="t",
                generation=1,
            )


def _ours(conn: Connection, store: RecordStore, query: str) -> list[str]:
    mirror = DenseIndex(384)
    mirror.sync(store, conn)
    visible, _ = visible_records(conn, AccessScope.of("all"))
    population = mirror.population(visible)
    groups = single_terms(analysis.terms(query))
    matches = group_matches(conn, groups)
    hits = bm25_search(conn, groups, matches, population.restrict(visible), population, 10)
    docs = store.documents_by_pk(conn, [r for _, r, _ in hits])
    return [docs[r].id for _, r, _ in hits]


def test_fts5_bm25_matches_rank_bm25_on_medline(store: RecordStore) -> None:
    docs, queries = _fixture_corpus()
    _index(store, docs)
    reference = BM25Okapi([analysis.terms(text) for _, text in docs], k1=1.2, b=0.75, epsilon=0.0)
    ids = [doc_id for doc_id, _ in docs]
    overlaps, same_top = [], 0
    with store.snapshot() as conn:
        for query in queries:
            # our lexical query ORs each distinct term once
            scores = reference.get_scores(list(dict.fromkeys(analysis.terms(query))))
            expected = [ids[i] for i in sorted(range(len(ids)), key=lambda i: -scores[i])[:10]]
            ours = _ours(conn, store, query)
            overlaps.append(len(set(ours) & set(expected)) / 10)
            same_top += ours[0] == expected[0]
    mean_overlap = sum(overlaps) / len(overlaps)
    # Scores agree; top-10 sets differ only where fewer than ten documents match at all and
    # rank-bm25 fills the list with arbitrary zero-score documents.
    assert mean_overlap >= 0.9, mean_overlap
    assert same_top == len(queries)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("seen at A&E", ["aande"]),
        ("W&F: Jo", ["wandf", "jo"]),
        ("Mum & Dad", ["mum", "dad"]),  # words joined by "&" stay words
    ],
)
def test_ampersand_initials_are_one_term(text: str, expected: list[str]) -> None:
    """ "A&E" once indexed as the lone letter "e" (and "W&F" as "w", matching "w/c")."""
    assert analysis.terms(text) == expected
