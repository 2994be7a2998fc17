"""Sentence-aligned chunking with exact character offsets.

A chunk is a run of whole sentences of one record whose lexical length stays within
``max_words`` (a single longer sentence is split at word boundaries). Consecutive chunks share
up to ``overlap_sentences`` sentences so that a passage straddling a boundary is whole in one
of them. ``record.text[chunk.char_start:chunk.char_end] == chunk.text`` always holds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from retrieval.analysis import ANALYSIS_VERSION, Sentence, sentences


@dataclass(frozen=True, slots=True)
class ChunkSpan:
    ordinal: int
    char_start: int
    char_end: int
    text: str


@dataclass(frozen=True, slots=True)
class ChunkingConfig:
    max_words: int = 200
    overlap_sentences: int = 1

    def __post_init__(self) -> None:
        if self.max_words < 8:
            raise ValueError("max_words must be at least 8")
        if self.overlap_sentences < 0:
            raise ValueError("overlap_sentences must not be negative")

    def fingerprint(self) -> str:
        """Names everything that shapes chunks and their terms (stored with the index)."""
        return (
            f"sentences-v1:max_words={self.max_words}:overlap={self.overlap_sentences}"
            f":{ANALYSIS_VERSION}"
        )


_WORD = re.compile(r"\S+")


def chunk_text(text: str, config: ChunkingConfig) -> list[ChunkSpan]:
    """Split ``text`` into chunks (see module docstring). Empty text gives no chunks."""
    units = _units(text, sentences(text), config.max_words)
    if not units:
        return []
    chunks: list[ChunkSpan] = []
    i = 0
    while i < len(units):
        words = 0
        j = i
        while j < len(units) and (j == i or words + units[j][2] <= config.max_words):
            words += units[j][2]
            j += 1
        start, end = units[i][0], units[j - 1][1]
        chunks.append(ChunkSpan(len(chunks), start, end, text[start:end]))
        if j >= len(units):
            break
        # step forward, keeping up to `overlap_sentences` sentences, but always progress
        i = max(i + 1, j - config.overlap_sentences)
    return chunks


def _units(text: str, spans: Sequence[Sentence], max_words: int) -> list[tuple[int, int, int]]:
    """(start, end, words) per sentence; sentences longer than ``max_words`` are split."""
    units: list[tuple[int, int, int]] = []
    for span in spans:
        words = list(_WORD.finditer(text, span.start, span.end))
        if len(words) <= max_words:
            units.append((span.start, span.end, len(words)))
            continue
        for k in range(0, len(words), max_words):
            piece = words[k : k + max_words]
            units.append((piece[0].start(), piece[-1].end(), len(piece)))
    return units
