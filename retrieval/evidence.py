"""The quoted sentence of a hit found by meaning alone: the one nearest the query's meaning.

A snippet is cut around the query's words (``snippets.make_snippet``). A record that matched
by meaning alone holds none of them in its best chunk, and the word-based cut falls back to
the chunk's opening, which often shows nothing ("Reflection: Mum appeared low today.") while
the evidence ("flies around the kitchen bin… two dental appointments missed") is further on.
For those hits only, each sentence of the chunk is embedded with the search's own model and
the snippet becomes the sentence nearest the vector the dense list was ranked by (the query's,
moved towards a named concern's exemplars for a concept query).

Cost follows the page, not the store: at most ``MAX_SENTENCES`` sentences of each such hit,
all hits of the page in one batch, and each sentence's vector kept (``SentenceVectors``) so a
refined query over the same records (results as you type) embeds nothing again. The quote is
always a slice of the record (``record.text[char_start:char_end] == snippet.text``).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from retrieval.analysis import sentences
from retrieval.embedding import Embedder
from retrieval.models import Snippet

MAX_SENTENCES = 12
"""Sentences of one chunk compared (the chunk's first ones); a chunk holds about 10."""

MIN_CHARS = 20
"""Shorter sentences ("Present:", "Seen alone.") are quoted only when nothing longer is."""


@dataclass(frozen=True, slots=True)
class MeaningOnly:
    """One hit to re-quote: its record text and its best chunk's character span."""

    text: str
    chunk_start: int
    chunk_end: int


class SentenceVectors:
    """Unit vectors of sentences, kept by the sentence's SHA-256 (bounded, least recently
    used first out); thread-safe. Keyed by content, so an edited record misses and is
    embedded again, and nothing here outlives what the text says."""

    def __init__(self, capacity: int = 20_000) -> None:
        self.capacity = capacity
        self._kept: OrderedDict[bytes, np.ndarray[Any, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def vectors(self, embedder: Embedder, texts: Sequence[str]) -> np.ndarray[Any, Any]:
        keys = [hashlib.sha256(t.encode("utf-8")).digest() for t in texts]
        out: list[np.ndarray[Any, Any] | None] = []
        with self._lock:
            for key in keys:
                found = self._kept.get(key)
                if found is not None:
                    self._kept.move_to_end(key)
                out.append(found)
        missing = [i for i, v in enumerate(out) if v is None]
        if missing:
            made = np.asarray(embedder.embed([texts[i] for i in missing]), dtype=np.float32)
            made /= np.maximum(np.linalg.norm(made, axis=1, keepdims=True), 1e-12)
            with self._lock:
                for i, vector in zip(missing, made, strict=True):
                    out[i] = vector
                    self._kept[keys[i]] = vector
                    self._kept.move_to_end(keys[i])
                while len(self._kept) > self.capacity:
                    self._kept.popitem(last=False)
        if not out:
            return np.empty((0, embedder.dimension), dtype=np.float32)
        return np.stack([v for v in out if v is not None])


def nearest_sentences(
    items: Sequence[MeaningOnly],
    query_vector: np.ndarray[Any, Any],
    embedder: Embedder,
    kept: SentenceVectors,
    max_chars: int,
    min_cosine: float,
) -> list[Snippet | None]:
    """For each item, its chunk's sentence nearest ``query_vector`` as a snippet without
    highlights; None where the chunk has a single sentence (the word-based cut already
    quotes it), no sentence fits in ``max_chars``, or the nearest is under ``min_cosine``
    (a sentence no nearer than that says no more than the chunk's opening, which names the
    record)."""
    spans: list[list[tuple[int, int]]] = []
    for item in items:
        chunk = item.text[item.chunk_start : item.chunk_end]
        found = [
            (item.chunk_start + s.start, item.chunk_start + s.end)
            for s in sentences(chunk)
            if s.end - s.start <= max_chars
        ][:MAX_SENTENCES]
        long_enough = [(a, b) for a, b in found if b - a >= MIN_CHARS]
        spans.append((long_enough or found) if len(found) > 1 else [])
    texts = [item.text[a:b] for item, own in zip(items, spans, strict=True) for a, b in own]
    if not texts:
        return [None] * len(items)
    query = np.asarray(query_vector, dtype=np.float32)
    query = query / max(float(np.linalg.norm(query)), 1e-12)
    scores = kept.vectors(embedder, texts) @ query
    out: list[Snippet | None] = []
    at = 0
    for item, own in zip(items, spans, strict=True):
        if not own:
            out.append(None)
            continue
        mine = scores[at : at + len(own)]
        at += len(own)
        best = int(np.argmax(mine))
        if float(mine[best]) < min_cosine:
            out.append(None)
            continue
        start, end = own[best]
        out.append(
            Snippet(text=item.text[start:end], char_start=start, char_end=end, highlights=())
        )
    return out
