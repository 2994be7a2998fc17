"""Whose concern a mention is: for a concern that is the child's own (``subject = "child"`` in
the indicator library: self-harm, going missing), a parent's mention is someone else's; for a
family concern (a parent's drinking) it is the child's circumstance."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from factories import dated_case_file, searcher_over

from evaluation import EvaluationError
from evaluation.assertion import predict, read_rows
from retrieval.assertion import assess
from retrieval.embedding import Embedder
from retrieval.indicators import (
    IndicatorLibraryError,
    load_library,
    not_asked_of_parent,
    parse_library,
)
from retrieval.models import AccessScope, SearchRequest
from retrieval.patterns import PatternFinder, PatternQuery
from retrieval.search import HybridSearcher


def _reading(sentence: str, mention: str, *, child_concern: bool) -> str:
    start = sentence.index(mention)
    return assess(sentence, (start, start + len(mention)), parents_are_others=child_concern).label


@pytest.mark.parametrize(
    ("sentence", "mention", "child_concern", "label"),
    [
        # a parent's own act, under a concern that is the child's own
        ("Mum took an overdose of her tablets last night.", "overdose", True, "other person"),
        ("Dad went missing for three days in March.", "went missing", True, "other person"),
        ("Mum's self-harm has got worse since the hearing.", "self-harm", True, "other person"),
        # the parent tells, sees or worries: what happened, happened to the child
        ("Mum said he took an overdose last night.", "overdose", True, "affirmed"),
        ("Mum reported him missing at 11pm.", "missing", True, "affirmed"),
        ("Dad found her cutting her arms in the bathroom.", "cutting", True, "affirmed"),
        ("Mum is worried about Jade's self-harm.", "self-harm", True, "affirmed"),
        # no parent in the sentence
        ("Kayden has gone missing twice this month.", "gone missing", True, "affirmed"),
        # a family concern: the parent's drinking is the child's circumstance
        ("Dad was drunk when he collected the children.", "drunk", False, "affirmed"),
        ("Mum took an overdose of her tablets last night.", "overdose", False, "affirmed"),
    ],
)
def test_a_parents_mention_is_someone_elses_only_for_the_childs_own_concern(
    sentence: str, mention: str, child_concern: bool, label: str
) -> None:
    assert _reading(sentence, mention, child_concern=child_concern) == label


def test_the_parent_is_named_as_the_cue() -> None:
    sentence = "Mum took an overdose of her tablets last night."
    reading = assess(sentence, (12, 20), parents_are_others=True)
    assert [(c.category, c.text) for c in reading.cues] == [("parent_experiencer", "Mum")]


def test_the_library_says_whose_concern_each_category_is() -> None:
    library = load_library()
    own = {c.id for c in library.categories if c.parents_are_others}
    assert own == {"self_harm", "missing"}
    text = """
[[category]]
id = "x"
label = "X"
definition = "d"
sources = ["s"]
names = ["x"]
indicators = ["y"]
exemplars = ["z"]
subject = "parent"
"""
    with pytest.raises(IndicatorLibraryError, match="'subject' must be one of family, child"):
        parse_library(text)


@pytest.mark.parametrize(
    ("question", "category", "of_parent"),
    [
        ("parent took an overdose", "self_harm", True),
        ("Mum's self-harm", "self_harm", True),
        ("dad went missing", "missing", True),
        ("mother tried to end her life", "self_harm", True),  # no wording: the whole question
        ("self-harm by a child", "self_harm", False),
        ("Mum said he took an overdose", "self_harm", False),
        ("young people whose parents reported them missing", "missing", False),
        ("children who went missing while mum was at work", "missing", False),
        # a family concern is asked of the parents as a matter of course
        ("parents misusing alcohol", "substance_misuse", False),
        ("mum's mental health", "parental_mental_health", False),
    ],
)
def test_a_question_asking_the_childs_own_concern_of_a_parent_is_read_so(
    question: str, category: str, of_parent: bool
) -> None:
    found = load_library().get(category)
    assert found is not None
    assert not_asked_of_parent(question, [found]) == (() if of_parent else (found,))


def test_only_the_childs_own_concern_asked_of_a_parent_is_left_unread() -> None:
    library = load_library()
    asked = [library.get("self_harm"), library.get("substance_misuse")]
    kept = not_asked_of_parent("dad's overdose and drinking", [c for c in asked if c])
    assert [c.id for c in kept] == ["substance_misuse"]


def test_the_assertion_evaluation_reads_a_rows_concern(tmp_path: Path) -> None:
    tsv = tmp_path / "rows.tsv"
    tsv.write_text(
        "line number\tcondition\tsentence\tnegation\ttemporality\texperiencer\tconcern\n"
        "1\toverdose\tMum took an OVERDOSE last night.\tAffirmed\tRecent\tOther\tself_harm\n"
        "2\toverdose\tMum took an OVERDOSE last night.\tAffirmed\tRecent\tChild\t\n",
        encoding="utf-8",
    )
    first, second = predict(read_rows(tsv))
    assert first.assertion.experiencer == "other"
    assert second.assertion.experiencer == "subject"
    tsv.write_text("1\toverdose\tMum took an OVERDOSE.\tAffirmed\tRecent\tOther\tnope\n")
    with pytest.raises(EvaluationError, match="line 1: concern 'nope'"):
        predict(read_rows(tsv))


TEAM = "team:north"
CASES: dict[str, tuple[str, ...]] = {
    # only the mother's overdose and her own missing spell
    "CASE-MUM": (
        "Mum took an overdose of her prescribed tablets and was kept in hospital overnight.",
        "Her mother went missing for two days and was found by police in Leeds.",
    ),
    # the child's own
    "CASE-CHILD": (
        "Mum said Tyler took an overdose of paracetamol after the argument.",
        "Tyler has gone missing twice this month and was found in the town centre.",
    ),
}


@pytest.fixture(scope="module")
def searcher(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[HybridSearcher]:
    records = dated_case_file(CASES, acl=[TEAM])
    with searcher_over(tmp_path_factory.mktemp("whose"), embedder, records) as searcher:
        yield searcher


@pytest.mark.parametrize("category", ["self_harm", "missing"])
def test_the_pattern_view_counts_the_childs_own_episodes_and_sets_a_parents_apart(
    searcher: HybridSearcher, category: str
) -> None:
    result = PatternFinder(searcher).find(
        PatternQuery(scope=AccessScope.of(TEAM), category=category, include_weak=True)
    )
    counted = {c.case_id: c.records for c in result.cases if c.records}
    assert counted == {"CASE-CHILD": 1}


def test_a_parents_overdose_asked_about_is_not_read_as_the_childs_self_harm(
    searcher: HybridSearcher,
) -> None:
    """The mirror of the whose-concern rule: asked of a parent, the child's own concern is
    not read (its wordings and exemplars describe the child, and it would set the parent's
    mention apart), so the question is searched by its own words and meaning."""
    request = SearchRequest(text="mum took an overdose", scope=AccessScope.of(TEAM))
    result = searcher.search(request)
    assert result.understanding["concepts"] == []
    assert result.hits[0].document_id == "CASE-MUM-0"
    assert "concern" not in result.hits[0].why
    # read as the child's self-harm, the mother's overdose is someone else's
    as_typed = HybridSearcher(
        searcher.store, searcher.embedder, replace(searcher.config, concern_asked_of_parent=False)
    ).search(request)
    assert as_typed.understanding["concepts"] == ["self_harm"]
    mums = next(h for h in as_typed.hits if h.document_id == "CASE-MUM-0")
    assert mums.why["concern"]["read_as"] == "other person"
