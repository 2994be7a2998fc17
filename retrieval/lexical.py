"""BM25 over the FTS5 chunk table, restricted to the candidate records.

FTS5's ``bm25()`` is Okapi BM25 with k1 = 1.2 and b = 0.75 (SQLite FTS5 documentation); it
returns lower-is-better values, negated here so that higher is better everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

TermGroup = tuple[str, ...]
"""One query term, or the terms of a wording that must appear near each other to match."""

GROUP_SLACK = 2
"""Other terms allowed inside a group's match ("practice nurse" matches "nurse at the GP
practice"; stop words are not in the index, so they never count)."""


def single_terms(terms: Sequence[str]) -> list[TermGroup]:
    """Each term as a group of its own (a plain bag-of-words query)."""
    return [(t,) for t in terms]


def match_expression(groups: Sequence[TermGroup]) -> str | None:
    """An FTS5 MATCH string OR-ing the distinct groups, or None if there are none.

    A one-term group is a quoted term; a longer one is an FTS5 ``NEAR`` group, which matches
    when all its terms occur in any order with at most ``GROUP_SLACK`` other terms among them.
    Terms come from ``retrieval.analysis`` and hold word characters only, so quoting is safe.
    """
    distinct = list(dict.fromkeys(g for g in groups if g and all(g)))
    if not distinct:
        return None
    return " OR ".join(_group_expression(g) for g in distinct)


def _group_expression(group: TermGroup) -> str:
    quoted = " ".join(f'"{t}"' for t in group)
    if len(group) == 1:
        return quoted
    # NEAR counts the terms between the first and the last of the group
    return f"NEAR({quoted}, {len(group) - 2 + GROUP_SLACK})"


def bm25_search(
    conn: Connection,
    groups: Sequence[TermGroup],
    candidate_sql: str,
    candidate_params: Sequence[Any],
    limit: int,
) -> list[tuple[int, int, float]]:
    """Top ``limit`` chunks as ``(chunk_pk, record_pk, bm25)``, best first, ties by chunk pk."""
    expression = match_expression(groups)
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
