"""Verbatim snippets with highlight spans.

The snippet is the best window of up to ``max_sentences`` consecutive sentences inside the
best chunk: the one matching the most distinct query terms (lemma-aware, through the same
analysis as BM25), the earliest on a tie. A chunk that matched only by meaning gives its
opening sentences. The snippet is always a slice of the record text:
``record.text[char_start:char_end] == snippet.text``; highlights are offsets into the snippet.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from typing import Any

from retrieval.analysis import sentences, tokens
from retrieval.models import Snippet


def make_snippet(
    text: str,
    chunk_start: int,
    chunk_end: int,
    query_terms: Set[str],
    *,
    max_sentences: int = 2,
    max_chars: int = 480,
) -> Snippet:
    """Cut the snippet for one chunk (see module docstring)."""
    chunk_text = text[chunk_start:chunk_end]
    spans = [(chunk_start + s.start, chunk_start + s.end) for s in sentences(chunk_text)]
    if not spans:
        spans = [(chunk_start, chunk_end)]
    # per sentence, its tokens that are query terms (the only ones that count)
    matches = [
        [(s + t.start, s + t.end, t.term) for t in tokens(text[s:e]) if t.term in query_terms]
        for s, e in spans
    ]
    best = (0, 0.0)
    best_window = (0, 1)
    # no query term in the chunk: every window scores (0, 0.0), so the first one stays
    for i in range(len(spans) if any(matches) else 0):
        for width in range(1, max_sentences + 1):
            j = i + width
            if j > len(spans):
                break
            if width > 1 and spans[j - 1][1] - spans[i][0] > max_chars:
                break
            hit_terms = [hit[2] for m in matches[i:j] for hit in m]
            score = (len(set(hit_terms)), len(hit_terms) / (1 + width))
            if score > best:
                best = score
                best_window = (i, j)
    i, j = best_window
    start, end = spans[i][0], spans[j - 1][1]
    hits = [(a, b) for m in matches[i:j] for a, b, _ in m]
    if end - start > max_chars:
        start, end = _trim_window(text, start, end, hits, max_chars)
    highlights = tuple((a - start, b - start) for a, b in _merge(hits) if a >= start and b <= end)
    return Snippet(text=text[start:end], char_start=start, char_end=end, highlights=highlights)


def _trim_window(
    text: str, start: int, end: int, hits: list[tuple[int, int]], max_chars: int
) -> tuple[int, int]:
    """Narrow an over-long window around its first hit, cutting at whitespace."""
    anchor = hits[0][0] if hits else start
    new_start = max(start, anchor - max_chars // 4)
    if new_start > start:
        space = text.find(" ", new_start, anchor if anchor > new_start else end)
        new_start = space + 1 if space != -1 else new_start
    new_end = min(end, new_start + max_chars)
    if new_end < end:
        space = text.rfind(" ", new_start, new_end)
        new_end = space if space > new_start else new_end
    while new_end > new_start and text[new_end - 1].isspace():
        new_end -= 1
    return new_start, new_end


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(set(spans)):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def recording_time(
    extra: Mapping[str, Any], char_start: int, char_end: int
) -> tuple[float, float] | None:
    """Seconds ``(start, end)`` of the recording in which the characters ``[char_start,
    char_end)`` of its transcript were heard; ``None`` for a record that is no recording
    (no ``extra["media"]["segments"]``, written by ``connectors.media``) or no overlap.

    Each segment is ``[char_start, char_end, t_start, t_end]``. Within a segment, time is
    taken as proportional to characters: an estimate, exact at segment boundaries, where a
    snippet's sentences mostly fall (segments are cut at pauses).
    """
    media = extra.get("media")
    segments = media.get("segments") if isinstance(media, Mapping) else None
    if not isinstance(segments, list):
        return None
    first: float | None = None
    last: float | None = None
    for segment in segments:
        try:
            c0, c1, t0, t1 = (float(value) for value in segment)
        except (TypeError, ValueError):
            continue
        if c1 <= char_start or c0 >= char_end:
            continue
        width = max(c1 - c0, 1.0)
        begin = t0 + (t1 - t0) * max(0.0, (char_start - c0) / width)
        finish = t0 + (t1 - t0) * min(1.0, (char_end - c0) / width)
        first = begin if first is None else min(first, begin)
        last = finish if last is None else max(last, finish)
    if first is None or last is None:
        return None
    return round(first, 2), round(last, 2)
