"""TREC run files: ``qid Q0 docid rank score tag``, one line per retrieved document.

Within a query, lines are written best first with ranks 1, 2, … . trec_eval and ir_measures
ignore the rank column and re-sort by score (ties broken by document id), so a run whose scores
are not strictly decreasing can score slightly differently there than in our harness, which uses
the order as returned.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from evaluation import EvaluationError

Run = Mapping[str, Sequence[tuple[str, float]]]
"""Query id -> (document id, score) pairs, best first."""

DEFAULT_DEPTH = 100


class RunFileError(EvaluationError):
    """A run cannot be written (bad id, non-finite score) or a run file does not parse."""


def format_run(run: Run, *, tag: str, depth: int = DEFAULT_DEPTH) -> str:
    """The run as TREC text: queries in ``run`` order, at most ``depth`` lines per query.

    Scores are written with ``repr`` so they read back exactly. Raises ``RunFileError`` when an
    id or the tag is empty or contains whitespace, a query repeats a document, or a score is
    not finite; ``ValueError`` when ``depth < 1``.
    """
    if depth < 1:
        raise ValueError(f"depth must be >= 1, got {depth}")
    _check_token(tag, "tag")
    lines: list[str] = []
    for query_id, hits in run.items():
        _check_token(query_id, "query id")
        seen: set[str] = set()
        for rank, (doc_id, score) in enumerate(hits[:depth], start=1):
            _check_token(doc_id, "document id")
            if doc_id in seen:
                raise RunFileError(f"query {query_id!r} lists document {doc_id!r} twice")
            seen.add(doc_id)
            value = float(score)
            if not math.isfinite(value):
                raise RunFileError(f"query {query_id!r}, document {doc_id!r}: score {value}")
            lines.append(f"{query_id} Q0 {doc_id} {rank} {value!r} {tag}\n")
    return "".join(lines)


def write_run(path: str | Path, run: Run, *, tag: str, depth: int = DEFAULT_DEPTH) -> None:
    """Write ``format_run(run, tag=tag, depth=depth)`` to ``path`` (UTF-8), creating parents.

    The file is replaced only once the text is complete, so a failed run leaves no half file.
    """
    text = format_run(run, tag=tag, depth=depth)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(target)


def read_run(path: str | Path) -> dict[str, list[tuple[str, float]]]:
    """Read a TREC run file: query id -> (document id, score) pairs sorted by the rank column.

    Queries keep first-appearance order. Blank lines are skipped. Raises ``RunFileError``
    naming file and line when a line does not have six fields, rank is not an integer or
    score not a finite number, or a query repeats a rank or a document.
    """
    source = Path(path)
    ranked: dict[str, list[tuple[int, str, float]]] = {}
    seen_docs: dict[str, set[str]] = {}
    seen_ranks: dict[str, set[int]] = {}
    with source.open(encoding="utf-8") as handle:
        for line_no, raw in enumerate(handle, start=1):
            fields = raw.split()
            if not fields:
                continue
            where = f"{source}:{line_no}"
            if len(fields) != 6:
                raise RunFileError(f"{where}: expected 'qid Q0 docid rank score tag'")
            query_id, _, doc_id, rank_text, score_text, _ = fields
            try:
                rank = int(rank_text)
                score = float(score_text)
            except ValueError:
                raise RunFileError(f"{where}: rank or score is not a number") from None
            if not math.isfinite(score):
                raise RunFileError(f"{where}: score {score_text!r} is not finite")
            docs = seen_docs.setdefault(query_id, set())
            ranks = seen_ranks.setdefault(query_id, set())
            if doc_id in docs or rank in ranks:
                raise RunFileError(f"{where}: query {query_id!r} repeats a document or rank")
            docs.add(doc_id)
            ranks.add(rank)
            ranked.setdefault(query_id, []).append((rank, doc_id, score))
    return {
        query_id: [(doc_id, score) for _, doc_id, score in sorted(rows)]
        for query_id, rows in ranked.items()
    }


def _check_token(value: str, what: str) -> None:
    if not value or any(ch.isspace() for ch in value):
        raise RunFileError(f"{what} {value!r} is empty or contains whitespace")
