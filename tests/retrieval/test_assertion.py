"""Assertion detection: how an indicator mention reads in its sentence (ConText style)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retrieval.assertion import (
    AFFIRMED,
    Assertion,
    LexiconError,
    assess,
    assess_spans,
    default_lexicon,
    parse,
)


def _at(sentence: str, mention: str, record_year: int | None = None) -> Assertion:
    start = sentence.index(mention)
    return assess(sentence, (start, start + len(mention)), record_year=record_year)


@pytest.mark.parametrize(
    ("sentence", "mention", "label"),
    [
        ("There were no concerns about neglect at the visit.", "neglect", "negated"),
        ("Mum denied any drug use.", "drug use", "negated"),  # ConText reads denials as negation
        ("No bruising was seen.", "bruising", "negated"),
        ("The allegation of neglect was unfounded.", "neglect", "negated"),  # backward trigger
        ("Mum no longer uses cannabis.", "cannabis", "negated"),
        (
            "Mum has a history of domestic abuse in a previous relationship.",
            "domestic abuse",
            "historical",
        ),
        ("In 2019 the children were left alone.", "left alone", "historical"),
        ("If mother drinks again the children will be removed.", "drinks", "hypothetical"),
        ("Kayden is at risk of criminal exploitation.", "criminal exploitation", "hypothetical"),
        ("The neighbour's children were left alone.", "left alone", "other person"),
        ("Mum was neglected in her own childhood.", "neglected", "other person"),
        ("Dad hit Kayden with a slipper.", "hit", "affirmed"),
    ],
)
def test_each_class_is_read(sentence: str, mention: str, label: str) -> None:
    assert _at(sentence, mention).label == label


def test_a_negated_history_is_both() -> None:
    found = _at("Mum no longer drinks.", "drinks")
    assert (found.negated, found.temporality) == (True, "historical")


@pytest.mark.parametrize(
    ("sentence", "mention", "cue"),
    [
        (
            "There have been no further missing episodes since May.",
            "missing episodes",
            "no further",
        ),
        ("Mum no longer drinks.", "drinks", "no longer"),
        ("There were no more incidents of domestic abuse.", "domestic abuse", "no more"),
        ("Kayden says he is not being bullied any more.", "bullied", "any more"),
        ("He has not gone missing again.", "gone missing", "again"),
    ],
)
def test_a_negation_that_presupposes_an_earlier_occurrence_says_so(
    sentence: str, mention: str, cue: str
) -> None:
    found = _at(sentence, mention)
    assert found.negated
    assert found.prior
    assert ("prior", cue) in [(c.category, c.text) for c in found.cues]


@pytest.mark.parametrize(
    ("sentence", "mention"),
    [
        ("There have been no missing episodes.", "missing episodes"),
        ("No further action was taken; the children were seen alone.", "seen alone"),
        ("There were no further visits before the conference about neglect.", "neglect"),
    ],
)
def test_a_plain_negation_presupposes_nothing(sentence: str, mention: str) -> None:
    assert _at(sentence, mention).prior is False


def test_an_earlier_occurrence_changes_no_other_reading() -> None:
    found = _at("If mother drinks again the children will be removed.", "drinks")
    assert (found.label, found.prior) == ("hypothetical", True)
    assert _at("There were no further incidents of neglect.", "neglect").temporality == "recent"


@pytest.mark.parametrize(
    ("sentence", "mention"),
    [
        ("No bruising was found but concerns about neglect remain.", "neglect"),
        ("There were no injuries; Mum was drunk.", "drunk"),
        ("Nothing was said, however Ruth was crying.", "crying"),
        ("COMPLICATIONS: None. DIAGNOSIS: gastritis", "gastritis"),
    ],
)
def test_a_termination_ends_the_negation(sentence: str, mention: str) -> None:
    assert _at(sentence, mention).negated is False


def test_now_ends_history_but_not_negation() -> None:
    sentence = "History of alcohol misuse, now drinking daily."
    assert _at(sentence, "alcohol misuse").temporality == "historical"
    assert _at(sentence, "drinking").temporality == "recent"


@pytest.mark.parametrize(
    ("sentence", "mention"),
    [
        ("The school reports not only hunger but also missed meals.", "hunger"),
        ("Dad did not stop drinking after the birth.", "drinking"),
        ("There is no doubt that Dad hit Kayden.", "hit"),
        ("Non-accidental injury cannot be ruled out.", "Non-accidental injury"),
        ("No increase in the bruising was seen.", "bruising"),
    ],
)
def test_a_pseudo_trigger_does_not_negate(sentence: str, mention: str) -> None:
    assert _at(sentence, mention).negated is False


def test_a_trigger_inside_the_mention_is_part_of_it() -> None:
    assert _at("Kayden was not brought to clinic.", "not brought").negated is False


def test_a_scope_only_reaches_forward_from_a_forward_trigger() -> None:
    assert _at("A panic alarm has been fitted in case he attends.", "panic alarm") == AFFIRMED


def test_a_short_window_stops_early() -> None:
    sentence = "The previous social worker saw the bruising."
    assert _at(sentence, "social worker").temporality == "historical"
    assert _at(sentence, "bruising").temporality == "recent"


def test_cues_name_the_exact_words_and_offsets() -> None:
    sentence = "Mum said there were NO CONCERNS about neglect if he drinks."
    found = _at(sentence, "neglect")
    assert [(c.category, c.text, c.start, c.end) for c in found.cues] == [
        ("negated", "NO CONCERNS", 20, 31),
    ]
    for cue in _at(sentence, "drinks").cues:
        assert sentence[cue.start : cue.end] == cue.text
    assert [c.text for c in _at(sentence, "drinks").cues] == ["NO CONCERNS", "if"]


def test_a_year_of_the_record_itself_is_not_history() -> None:
    sentence = "In 2024 the children were left alone."
    assert _at(sentence, "left alone").temporality == "historical"
    assert _at(sentence, "left alone", record_year=2024).temporality == "recent"


def test_no_target_asks_about_the_sentence() -> None:
    assert assess("There are no concerns about neglect.").negated is True
    assert assess("Mum was sober.") == AFFIRMED


def test_spans_are_read_in_their_own_sentence_with_text_offsets() -> None:
    text = "There was no neglect. Mum drinks daily. If Dad drinks again he leaves."
    spans = [(text.index(w), text.index(w) + len(w)) for w in ("neglect", "Mum drinks", "Dad")]
    labels = [a.label for a in assess_spans(text, spans)]
    assert labels == ["negated", "affirmed", "hypothetical"]
    cue = assess_spans(text, spans[:1])[0].cues[0]
    assert (cue.text, text[cue.start : cue.end]) == ("no", "no")


def test_a_target_outside_the_sentence_is_refused() -> None:
    with pytest.raises(ValueError, match="not a span"):
        assess("No concerns.", (5, 50))
    with pytest.raises(ValueError, match="not inside"):
        assess_spans("No concerns.", [(3, 2)])


def test_the_lexicon_is_extended_by_a_line_of_data() -> None:
    base = (
        "phrase\tcategory\tdirection\twindow\tends\tsource\n"
        "nae\tnegated\tforward\t\t\tlocal\n"
        "but\ttermination\tboth\t\tall\tNegEx\n"
    )
    lexicon = parse(base)
    sentence = "There was nae food but plenty of drink."
    assert assess(sentence, (14, 18), lexicon=lexicon).negated is True
    assert assess(sentence, (33, 38), lexicon=lexicon).negated is False
    assert assess(sentence, (14, 18)).negated is False  # not in the packaged list


@pytest.mark.parametrize(
    "line",
    [
        "no\tnegative\tforward\t\t\tx",
        "no\tnegated\tsideways\t\t\tx",
        "no\tnegated\tforward\tfive\t\tx",
        "but\ttermination\tboth\t\t\tx",
        "but\ttermination\tboth\t\tsome\tx",
        "\tnegated\tforward\t\t\tx",
    ],
)
def test_a_malformed_line_is_named(line: str) -> None:
    with pytest.raises(LexiconError, match="line 1"):
        parse(line)


def test_the_packaged_lexicon_cites_its_sources() -> None:
    from importlib import resources

    text = resources.files("retrieval.assertion").joinpath("triggers.tsv").read_text("utf-8")
    rows = [ln.split("\t") for ln in text.splitlines() if ln and not ln.startswith("#")][1:]
    assert {r[5] for r in rows} == {"NegEx", "ConText", "social-care", "Levinson"}
    assert default_lexicon().size > 300


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200), st.data())
def test_assessing_never_raises_and_cues_stay_inside(text: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    for found in (assess(text, (start, end)), assess(text), *assess_spans(text, [(start, end)])):
        assert found.temporality in ("recent", "historical", "hypothetical")
        for cue in found.cues:
            assert 0 <= cue.start < cue.end <= len(text)
            assert text[cue.start : cue.end] == cue.text


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["no", "not", "if", "history", "of", "neglect", "but", ";", ".", ":", "Mum", "n't"]
        ),
        max_size=30,
    )
)
def test_trigger_soup_never_raises(words: list[str]) -> None:
    text = " ".join(words)
    assert isinstance(assess(text).label, str)
