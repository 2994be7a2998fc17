"""The harness: every judged query once per mode, timed, scored and broken down by kind."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from evaluation import EvaluationError
from evaluation.beir import BeirCollection, BeirDocument, EvalQuery
from evaluation.harness import Mode, evaluate
from evaluation.timetofind import TimeToFindModel


def doc(doc_id: str, case_id: str, created: str) -> BeirDocument:
    return BeirDocument(
        id=doc_id,
        title=doc_id,
        text=f"text of {doc_id}",
        metadata={"case_id": case_id, "created_at": created},
        case_id=case_id,
        created_at=dt.datetime.fromisoformat(created),
    )


def make_collection() -> BeirCollection:
    documents = (
        doc("c1-plan", "C1", "2024-01-10"),
        doc("c1-visit", "C1", "2024-03-01"),
        doc("c1-police", "C1", "2024-02-01"),
        doc("c2-gp", "C2", "2024-04-01"),
        doc("c2-school", "C2", "2024-01-01"),
    )
    queries = (
        EvalQuery(id="q1", text="safety plan", case_id="C1", kind="plan"),
        EvalQuery(id="q2", text="police", case_id="C1", kind="police"),
        EvalQuery(id="q3", text="school contact", kind="police"),
        EvalQuery(id="q4", text="gp"),
    )
    qrels = {
        "q1": {"c1-plan": 2, "c1-visit": 0},
        "q2": {"c1-police": 1},
        "q3": {"c2-school": 1},
        "q4": {"c2-gp": 1},
    }
    return BeirCollection(
        name="mini",
        path=Path("mini"),
        split="test",
        documents=documents,
        queries=queries,
        qrels=qrels,
        unjudged_queries=2,
    )


ANSWERS: dict[tuple[str, str], list[tuple[str, float]]] = {
    # bm25: q1 right first, q2 second, q3 missed, q4 first with a repeated hit.
    ("q1", "bm25"): [("c1-plan", 9.0), ("c1-visit", 5.0)],
    ("q2", "bm25"): [("c1-visit", 3.0), ("c1-police", 2.0)],
    ("q3", "bm25"): [("c2-gp", 1.0)],
    ("q4", "bm25"): [("c2-gp", 4.0), ("c2-gp", 3.0), ("c2-school", 1.0)],
    # hybrid: everything right first.
    ("q1", "hybrid"): [("c1-plan", 0.03)],
    ("q2", "hybrid"): [("c1-police", 0.03)],
    ("q3", "hybrid"): [("c2-school", 0.03)],
    ("q4", "hybrid"): [("c2-gp", 0.03)],
}


class StubSearch:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Mode]] = []

    def __call__(self, query: EvalQuery, mode: Mode, /) -> Sequence[tuple[str, float]]:
        self.calls.append((query.id, mode))
        return ANSWERS[(query.id, mode)]


class SteppingClock:
    """Each search call takes 10 ms more than the one before (10, 20, 30 … ms)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        if self.reads % 2 == 0:
            self.now += 0.01 * (self.reads // 2)
        return self.now


def test_metrics_latency_kinds_and_run_per_mode() -> None:
    search = StubSearch()
    report = evaluate(
        make_collection(), search, ["bm25", "hybrid"], clock=SteppingClock(), warmup_calls=0
    )
    assert list(report.modes) == ["bm25", "hybrid"]
    assert (report.documents, report.queries, report.unjudged_queries) == (5, 4, 2)
    assert search.calls == [(q, m) for m in ("bm25", "hybrid") for q in ("q1", "q2", "q3", "q4")]

    bm25 = report.modes["bm25"]
    assert bm25.overall.queries == 4
    assert bm25.overall.metrics["success@1"] == pytest.approx(2 / 4)
    assert bm25.overall.metrics["mrr@10"] == pytest.approx((1 + 0.5 + 0 + 1) / 4)
    assert bm25.overall.metrics["recall@100"] == pytest.approx(3 / 4)
    assert report.modes["hybrid"].overall.metrics["ndcg@10"] == pytest.approx(1.0)

    # bm25 calls took 10, 20, 30, 40 ms.
    assert bm25.overall.latency_ms_p50 == pytest.approx(25.0)
    assert bm25.overall.latency_ms_p95 == pytest.approx(38.5)
    assert [r.latency_ms for r in bm25.queries] == pytest.approx([10.0, 20.0, 30.0, 40.0])

    assert set(bm25.by_kind) == {"plan", "police"}
    assert bm25.by_kind["police"].queries == 2  # q4 has no kind: overall only
    assert bm25.by_kind["police"].metrics["mrr@10"] == pytest.approx(0.25)

    assert bm25.duplicate_hits_dropped == 1
    assert bm25.run["q4"] == (("c2-gp", 4.0), ("c2-school", 1.0))
    assert bm25.queries[3].returned == 2


def test_time_to_find_against_browsing_the_case() -> None:
    report = evaluate(
        make_collection(), StubSearch(), ["bm25"], clock=SteppingClock(), warmup_calls=0
    )
    rows = {r.query_id: r.time_to_find for r in report.modes["bm25"].queries}
    # q2: "police" typed, 20 ms, second hit; in case C1 newest first the police note is 2nd.
    assert rows["q2"].search_seconds == pytest.approx(6 * 0.28 + 0.02 + 3.0 + 2.0)
    assert rows["q2"].browse_position == 2
    assert rows["q2"].browse_seconds == pytest.approx(3.0 + 2.0)
    # q3 has no case: the whole corpus is browsed; its record is the oldest of five.
    assert rows["q3"].search_seconds is None
    assert (rows["q3"].browse_scope, rows["q3"].browse_position) == ("corpus", 5)
    summary = report.modes["bm25"].time_to_find
    assert summary.search.not_found == 1
    assert summary.browse_corpus_queries == 2


def test_results_scanned_and_penalty_come_from_the_model() -> None:
    model = TimeToFindModel(results_scanned=1, not_found_penalty_s=100.0)
    report = evaluate(make_collection(), StubSearch(), ["bm25"], ttf_model=model)
    summary = report.modes["bm25"].time_to_find
    assert summary.search.not_found == 2  # q2's hit at rank 2 is no longer scanned
    assert summary.search.counted == 4
    assert report.ttf_model is model


def test_run_is_cut_to_top_k_but_metrics_see_the_whole_ranking() -> None:
    report = evaluate(make_collection(), StubSearch(), ["bm25"], top_k_run=1)
    bm25 = report.modes["bm25"]
    assert bm25.run["q2"] == (("c1-visit", 3.0),)
    assert bm25.queries[1].metrics["recall@10"] == 1.0


def test_warmup_calls_are_made_first_and_not_scored() -> None:
    search = StubSearch()
    evaluate(make_collection(), search, ["hybrid"], warmup_calls=2)
    assert search.calls[:3] == [("q1", "hybrid"), ("q1", "hybrid"), ("q1", "hybrid")]
    assert len(search.calls) == 6


def test_visible_documents_limit_the_browse_list() -> None:
    visible = {"c1-police", "c2-school", "c2-gp"}
    report = evaluate(make_collection(), StubSearch(), ["hybrid"], visible_doc_ids=visible)
    assert report.visible_documents == 3
    rows = {r.query_id: r.time_to_find for r in report.modes["hybrid"].queries}
    assert rows["q2"].browse_position == 1
    assert rows["q1"].browse_position is None


def test_progress_and_context_are_passed_through() -> None:
    seen: list[tuple[str, int, int]] = []
    report = evaluate(
        make_collection(),
        StubSearch(),
        ["hybrid"],
        progress=lambda mode, done, total: seen.append((mode, done, total)),
        context={"principals": "team:north-1", "store": "sqlite"},
    )
    assert seen[-1] == ("hybrid", 4, 4)
    assert report.context == {"principals": "team:north-1", "store": "sqlite"}


@pytest.mark.parametrize(
    ("modes", "message"),
    [([], "no mode"), (["all"], "unknown mode 'all'"), (["bm25", "bm25"], "repeated")],
)
def test_bad_modes_are_rejected(modes: list[Mode], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        evaluate(make_collection(), StubSearch(), modes)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ([("c1-plan", float("inf"))], "score inf"),
        ([(7, 1.0)], "document id 7"),
        ([("c1-plan",)], "not a \\(doc_id, score\\) pair"),
        ([("c1-plan", "high")], "score 'high'"),
        ("c1-plan", "must return a sequence"),
    ],
)
def test_malformed_search_output_names_query_and_mode(answer: object, message: str) -> None:
    def search(query: EvalQuery, mode: Mode, /) -> Sequence[tuple[str, float]]:
        return answer  # type: ignore[return-value]

    with pytest.raises(EvaluationError, match=message) as caught:
        evaluate(make_collection(), search, ["dense"], warmup_calls=0)
    assert "search('q1', 'dense')" in str(caught.value)


def test_collection_without_judged_queries_is_an_error() -> None:
    empty = BeirCollection(
        name="empty", path=Path("e"), split="test", documents=(), queries=(), qrels={}
    )
    with pytest.raises(EvaluationError, match="no judged query"):
        evaluate(empty, StubSearch(), ["bm25"])


class TypingSearch:
    """Puts the plan first once "safety" has been typed, the older visit before that."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def __call__(self, query: EvalQuery, mode: Mode, /) -> Sequence[tuple[str, float]]:
        self.texts.append(query.text)
        if "safety" in query.text:
            return [("c1-plan", 2.0), ("c1-visit", 1.0)]
        return [("c1-visit", 2.0), ("c1-plan", 1.0)]


def test_as_you_type_stops_at_the_first_word_that_puts_the_best_answer_first() -> None:
    collection = make_collection()
    one = replace(
        collection,
        queries=(EvalQuery(id="q1", text="current safety plan now", case_id="C1", kind="plan"),),
        qrels={"q1": {"c1-plan": 2, "c1-visit": 1}},
    )
    search = TypingSearch()
    report = evaluate(one, search, ["hybrid"], clock=lambda: 0.0, warmup_calls=0, as_you_type=True)
    # the full question, then word by word until the plan comes first
    assert search.texts == ["current safety plan now", "current ", "current safety "]
    row = report.modes["hybrid"].queries[0].time_to_find
    assert row.as_you_type_words == 2
    assert row.as_you_type_seconds == pytest.approx(15 * 0.28 + 1.35 + 2.0)
    assert report.modes["hybrid"].time_to_find.stopped_early == 1
    # the metrics and the run come from the full question only
    assert report.modes["hybrid"].run["q1"] == (("c1-plan", 2.0), ("c1-visit", 1.0))


def test_a_lesser_answer_first_does_not_stop_the_typing() -> None:
    collection = make_collection()
    one = replace(
        collection,
        queries=(EvalQuery(id="q1", text="current plan", case_id="C1"),),
        qrels={"q1": {"c1-plan": 2, "c1-visit": 1}},
    )
    report = evaluate(
        one, TypingSearch(), ["bm25"], clock=lambda: 0.0, warmup_calls=0, as_you_type=True
    )
    row = report.modes["bm25"].queries[0].time_to_find
    # "current " shows the grade-1 visit first: she types on, and the whole question is timed
    assert row.as_you_type_words is None
    assert row.as_you_type_seconds == row.search_seconds


def test_as_you_type_is_off_unless_asked() -> None:
    search = StubSearch()
    report = evaluate(make_collection(), search, ["bm25"], warmup_calls=0)
    assert report.modes["bm25"].time_to_find.as_you_type is None
    assert len(search.calls) == 4
