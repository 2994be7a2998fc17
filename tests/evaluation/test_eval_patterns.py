"""The pattern view's truth: which cases the generator wrote a concern into, from its tags."""

from __future__ import annotations

import dataclasses
import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from evaluation.patterns import TRUTH_TOPICS, tagged_truth
from evaluation.synthetic import SyntheticDocument, build_collection

TOPICS = ("da", "neglect.food", "neglect.home", "home_alone", "missing", "school.concern", "hv")


def _doc(
    case_id: str, tags: dict[str, int], decoys: frozenset[str] = frozenset()
) -> SyntheticDocument:
    return SyntheticDocument(
        id=f"{case_id}-{len(tags)}-{sorted(tags)}",
        case_id=case_id,
        doc_type="case_note",
        title="Note",
        text="Text that the truth never reads.",
        created_at=dt.date(2024, 1, 1),
        updated_at=dt.datetime(2024, 1, 1, 9, 0),
        author="sw",
        acl=("team:a",),
        deny=(),
        source_uri="synthetic://x",
        tags=tags,
        decoys=decoys,
        subject="Ann",
    )


def test_neglect_includes_children_left_without_supervision() -> None:
    truth = tagged_truth(
        [
            _doc("LEFT", {"home_alone": 2}),
            _doc("HUNGRY", {"neglect.food": 2}),
            _doc("MENTION", {"neglect.general": 1}),
        ]
    )
    assert truth["neglect_pattern"] == {"LEFT", "HUNGRY"}
    assert truth["home_alone"] == {"LEFT"}


def test_a_case_counts_whether_or_not_a_question_was_asked_about_it() -> None:
    collection = build_collection(seed=7, n_cases=12)
    truth = tagged_truth(collection.documents)
    asked = {q.case_id for q in collection.queries if q.kind == "domestic_abuse" and q.case_id}
    abused = {d.case_id for d in collection.documents if d.tags.get("da") == 2}
    assert truth["domestic_abuse"] == abused
    # the random draw skipped the question for some of them (seed 7: asked of 2 of 4 cases)
    assert asked < abused


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["A", "B", "C"]),
            st.dictionaries(st.sampled_from(TOPICS), st.integers(1, 2), max_size=3),
        ),
        max_size=8,
    )
)
def test_only_grade_two_evidence_makes_a_case_and_text_never_does(
    drafts: list[tuple[str, dict[str, int]]],
) -> None:
    documents = [_doc(case, tags) for case, tags in drafts]
    truth = tagged_truth(documents)
    weaker = [dataclasses.replace(d, tags={t: 1 for t in d.tags}) for d in documents]
    assert all(not cases for cases in tagged_truth(weaker).values())
    reworded = [dataclasses.replace(d, text="neglect domestic abuse missing") for d in documents]
    assert tagged_truth(reworded) == truth
    assert set(truth) == set(TRUTH_TOPICS)
