from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retrieval.chunking import ChunkingConfig, chunk_text

SENTENCE = st.builds(
    lambda words, end: " ".join(words) + end,
    st.lists(
        st.sampled_from(
            [
                "mum",
                "said",
                "the",
                "child",
                "was",
                "seen",
                "alone",
                "at",
                "school",
                "GP",
                "s47",
                "café",
                "visit",
            ]
        ),
        min_size=1,
        max_size=40,
    ),
    st.sampled_from([".", "!", "?", ""]),
)
TEXT = st.builds(
    lambda sents, seps: "".join(s + sep for s, sep in zip(sents, seps, strict=False)),
    st.lists(SENTENCE, min_size=1, max_size=30),
    st.lists(st.sampled_from([" ", "  ", "\n", "\n\n", "\r\n\r\n "]), min_size=30, max_size=30),
)


@settings(max_examples=60, deadline=None)
@given(TEXT, st.integers(min_value=8, max_value=80), st.integers(min_value=0, max_value=3))
def test_chunks_are_exact_slices_that_cover_every_word(
    text: str, max_words: int, overlap: int
) -> None:
    chunks = chunk_text(text, ChunkingConfig(max_words=max_words, overlap_sentences=overlap))
    for c in chunks:
        assert text[c.char_start : c.char_end] == c.text
        assert c.text == c.text.strip()
        assert len(c.text.split()) <= max_words or "." not in c.text[:-1]
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    covered: set[int] = set()
    for c in chunks:
        covered.update(range(c.char_start, c.char_end))
    words_outside = [i for i, ch in enumerate(text) if not ch.isspace() and i not in covered]
    assert words_outside == []
    starts = [c.char_start for c in chunks]
    assert starts == sorted(starts)


def test_overlap_repeats_the_boundary_sentence() -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(12))
    chunks = chunk_text(text, ChunkingConfig(max_words=12, overlap_sentences=1))
    assert len(chunks) > 2
    for before, after in itertools.pairwise(chunks):
        assert after.char_start < before.char_end  # shares a sentence


def test_a_single_very_long_sentence_is_split_at_word_boundaries() -> None:
    text = " ".join(["word"] * 100)
    chunks = chunk_text(text, ChunkingConfig(max_words=30, overlap_sentences=0))
    assert [len(c.text.split()) for c in chunks] == [30, 30, 30, 10]


def test_empty_text_has_no_chunks_and_bad_config_is_refused() -> None:
    assert chunk_text("   \n ", ChunkingConfig()) == []
    with pytest.raises(ValueError, match="max_words"):
        ChunkingConfig(max_words=2)
