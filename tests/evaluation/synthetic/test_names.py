"""Name resolution on the synthetic case file: every record names its people, and a child's
name in a question never finds another child."""

from __future__ import annotations

from connectors.record import parse_record
from evaluation.synthetic.collection import build_collection
from evaluation.synthetic.names import evaluate, misspell, name_questions


def test_every_record_names_the_child_first() -> None:
    collection = build_collection(n_cases=3)
    for case in collection.cases:
        docs = [d for d in collection.documents if d.case_id == case.case_id]
        for doc in docs:
            subjects = parse_record(doc.record()).subjects
            assert subjects[0].role == "child"
            assert subjects[0].name == case.child.person.full
            assert subjects[0].dob == case.child.born


def test_names_as_written_find_the_child_and_none_finds_another() -> None:
    collection = build_collection(n_cases=6)
    report = evaluate(collection, name_questions(collection))
    for asker in ("team", "qa"):
        result = report[asker]
        assert isinstance(result, dict)
        assert result["counts"]["wrong"] == 0
        assert result["by_form"]["as_written"]["right_or_choose"] == 1.0
        assert result["by_form"]["full_name"]["right"] == 1.0
        assert result["by_form"]["misspelt"]["right_or_choose"] >= 0.9


def test_a_misspelling_keeps_the_first_letter() -> None:
    import random

    rng = random.Random(1)
    slips = {misspell(rng, "Bradley") for _ in range(50)}
    assert all(s.startswith("B") and s != "Bradley" for s in slips)
