"""The case files written apart from the generator stay loadable and judged as their READMEs
say: every query judged, every judged record present, every concept and cross-case question
with at least two records that evidence it (one for C's "what did Tilly say Gary did to her",
whose one account is a police interview; README, judgement calls)."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluation.beir import load_collection

DATA = Path(__file__).resolve().parents[2] / "evaluation" / "data"


@pytest.mark.parametrize(("name", "fewest"), [("apart-a", 2), ("apart-b", 2), ("apart-c", 1)])
def test_apart_file_is_complete(name: str, fewest: int) -> None:
    collection = load_collection(DATA / name)
    ids = {d.id for d in collection.documents}
    assert len(collection.documents) >= 120
    kinds = {q.kind for q in collection.queries}
    assert kinds == {"concept", "cross_case", "lookup"}
    for query in collection.queries:
        judged = collection.qrels[query.id]
        assert set(judged) <= ids, query.id
        relevant = [d for d, grade in judged.items() if grade == 2]
        if query.kind == "lookup":
            assert relevant, query.id
            assert query.case_id is not None
        else:
            assert len(relevant) >= fewest, query.id
            assert (query.case_id is None) == (query.kind == "cross_case"), query.id
