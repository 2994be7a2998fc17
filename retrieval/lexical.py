"""BM25 over the FTS5 chunk table, restricted to the candidate records.

FTS5's ``bm25()`` is Okapi BM25 with k1 = 1.2 and b = 0.75 (SQLite FTS5 documentation); it
returns lower-is-better values, negated here so that higher is better everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection


def match_expression(query_terms: Sequence[str]) -> str | None:
    """An FTS5 MATCH string OR-ing the distinct terms (each quoted), or None if there are none.

    Terms come from ``retrieval.analysis`` and hold word characters only, so quoting is safe.
    """
    distinct = list(dict.fromkeys(t for t in query_terms if t))
    if not distinct:
        return None
    return " OR ".join(f'"{t}"' for t in distinct)


def bm25_search(
    conn: Connection,
    query_terms: Sequence[str],
    candidate_sql: str,
    candidate_params: Sequence[Any],
    limit: int,
) -> list[tuple[int, int, float]]:
    """Top ``limit`` chunks as ``(chunk_pk, record_pk, bm25)``, best first, ties by chunk pk."""
    expression = match_expression(query_terms)
    if expression is None or limit <= 0:
        return []
    rows = conn.exec_driver_sql(
        "SELECT f.rowid, c.record_pk, -bm25(chunks_fts) AS score"
        " FROM chunks_fts f JOIN chunks c ON c.pk = f.rowid"
        f" WHERE chunks_fts MATCH ? AND c.record_pk IN ({candidate_sql})"
        " ORDER BY score DESC, f.rowid LIMIT ?",
        (expression, *candidate_params, limit),
    ).all()
    return [(int(pk), int(rpk), float(score)) for pk, rpk, score in rows]
