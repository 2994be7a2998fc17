"""Time-to-find: the search formula, the browse order and the not-found policy."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evaluation.beir import BeirDocument, EvalQuery
from evaluation.timetofind import (
    BrowseLists,
    BrowseResult,
    EarlyStop,
    QueryTimeToFind,
    TimeToFindModel,
    newest_first,
    query_time_to_find,
    search_time_parts,
    summarise_time_to_find,
    typed_prefixes,
    with_as_you_type,
)


def doc(doc_id: str, case_id: str | None = None, created: str | None = None) -> BeirDocument:
    return BeirDocument(
        id=doc_id,
        title=doc_id,
        text="text",
        metadata={},
        case_id=case_id,
        created_at=dt.datetime.fromisoformat(created) if created else None,
    )


def row(search: float | None, browse: float | None, scope: str = "case") -> QueryTimeToFind:
    return QueryTimeToFind(
        query_id="q",
        search_rank=None if search is None else 1,
        search_seconds=search,
        browse_scope="case" if scope == "case" else "corpus",
        browse_position=None if browse is None else 1,
        browse_seconds=browse,
    )


def test_defaults_are_the_documented_model() -> None:
    model = TimeToFindModel()
    assert model.seconds_per_character == 0.28
    assert model.seconds_per_snippet == 3.0
    assert model.seconds_to_open == 2.0
    assert model.seconds_per_title == 3.0
    assert model.results_scanned == 10
    assert model.not_found_policy == "exclude"


def test_search_time_is_typing_latency_reading_and_opening() -> None:
    query = EvalQuery(id="q", text="police involvement")  # 18 characters
    browse = BrowseResult(scope="case", position=4, listed=9)
    result = query_time_to_find(query, ["x", "y", "hit"], {"hit": 1}, 0.25, browse)
    assert result.search_rank == 3
    assert result.search_seconds == pytest.approx(18 * 0.28 + 0.25 + 3.0 * 2 + 2.0)
    assert result.browse_position == 4
    assert result.browse_seconds == pytest.approx(3.0 * 3 + 2.0)
    assert result.typing_seconds == pytest.approx(18 * 0.28)
    assert result.latency_seconds == 0.25


def test_search_time_parts_show_what_ranking_cannot_shorten() -> None:
    browse = BrowseResult(scope="case", position=1, listed=1)
    rows = [
        query_time_to_find(EvalQuery(id=str(i), text=text), ranking, {"hit": 2}, 0.05, browse)
        for i, (text, ranking) in enumerate(
            [
                ("current safety plan", ["hit"]),  # 19 characters, first
                ("latest safety plan", ["x", "hit"]),  # 18 characters, second
                ("what safety arrangements are currently agreed", ["hit"]),  # 45, first
                ("nothing", ["x"]),  # not found: left out
            ]
        )
    ]
    parts = search_time_parts(rows)
    assert parts is not None
    assert parts.found == 3
    assert parts.typing_s == pytest.approx(19 * 0.28)
    assert parts.waiting_s == pytest.approx(0.05)
    assert parts.reading_s == 0.0  # two of three hits were first
    assert parts.opening_s == 2.0
    assert parts.total_s == pytest.approx(18 * 0.28 + 0.05 + 3.0 + 2.0)
    assert search_time_parts(rows[3:]) is None


def test_hit_below_the_scanned_results_is_not_found() -> None:
    query = EvalQuery(id="q", text="gp")
    ranking = [f"d{i}" for i in range(10)] + ["hit"]
    browse = BrowseResult(scope="case", position=None, listed=0)
    assert query_time_to_find(query, ranking, {"hit": 1}, 0.1, browse).search_seconds is None
    deeper = TimeToFindModel(results_scanned=11)
    found = query_time_to_find(query, ranking, {"hit": 1}, 0.1, browse, deeper)
    assert found.search_rank == 11


def test_browse_lists_the_case_newest_first_ties_by_id_undated_last() -> None:
    documents = [
        doc("c", "CASE-1", "2024-01-01"),
        doc("b", "CASE-1", "2024-05-01"),
        doc("a", "CASE-1", "2024-05-01"),
        doc("u", "CASE-1"),
        doc("z", "CASE-2", "2025-01-01"),
    ]
    assert [d.id for d in newest_first(documents)] == ["z", "a", "b", "c", "u"]
    lists = BrowseLists(documents)
    in_case = EvalQuery(id="q", text="t", case_id="CASE-1")
    assert lists.locate(in_case, {"c": 1, "z": 2}) == BrowseResult("case", 3, 4)
    # The record from another case is not in this case's list.
    assert lists.locate(in_case, {"z": 1}).position is None
    # Without a case the whole corpus is browsed.
    assert lists.locate(EvalQuery(id="q", text="t"), {"c": 1}) == BrowseResult("corpus", 4, 5)


def test_browse_skips_records_the_user_cannot_see_and_unknown_documents() -> None:
    documents = [doc("new", "C", "2024-02-01"), doc("old", "C", "2024-01-01")]
    lists = BrowseLists(documents, visible={"old"})
    query = EvalQuery(id="q", text="t", case_id="C")
    assert lists.locate(query, {"old": 1, "missing": 1}).position == 1
    assert lists.locate(query, {"new": 1}).position is None
    assert lists.locate(EvalQuery(id="q", text="t", case_id="nope"), {"old": 1}).listed == 0


def test_exclude_policy_reports_not_found_and_times_only_found() -> None:
    rows = [row(10.0, 100.0), row(20.0, None), row(None, 50.0, scope="corpus"), row(30.0, 70.0)]
    summary = summarise_time_to_find(rows)
    assert summary.policy == "exclude"
    assert (summary.search.found, summary.search.not_found) == (3, 1)
    assert summary.search.not_found_fraction == 0.25
    assert summary.search.counted == 3
    assert summary.search.median_s == 20.0
    assert summary.search.mean_s == 20.0
    assert summary.search.p90_s == pytest.approx(28.0)
    assert summary.browse.median_s == 70.0
    assert summary.median_ratio == pytest.approx(20.0 / 70.0)
    assert summary.browse_corpus_queries == 1


def test_penalty_policy_counts_not_found_as_the_penalty() -> None:
    rows = [row(10.0, 100.0), row(None, None), row(30.0, 70.0)]
    summary = summarise_time_to_find(rows, TimeToFindModel(not_found_penalty_s=600.0))
    assert summary.policy == "penalty"
    assert summary.search.counted == 3
    assert summary.search.median_s == 30.0
    assert summary.search.mean_s == pytest.approx(640.0 / 3)
    assert summary.browse.median_s == 100.0


def test_nothing_found_gives_no_times_and_no_ratio() -> None:
    summary = summarise_time_to_find([row(None, 5.0)])
    assert summary.search.median_s is None
    assert summary.median_ratio is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"seconds_per_character": -0.1},
        {"seconds_to_open": -1.0},
        {"results_scanned": 0},
        {"not_found_penalty_s": -5.0},
    ],
)
def test_invalid_model_is_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        TimeToFindModel(**kwargs)  # type: ignore[arg-type]


def test_as_you_type_searches_after_each_completed_word_but_the_last() -> None:
    stops = typed_prefixes("current  safety plan")
    # "current " and "current  safety " are searched; the whole text is the ordinary search
    assert [(s.words, s.characters) for s in stops] == [(1, 8), (2, 16)]
    assert typed_prefixes("GP") == []
    assert typed_prefixes("GP ") == []


@given(st.lists(st.text(alphabet="abcé'&", min_size=1, max_size=8), min_size=1, max_size=8))
def test_each_search_as_you_type_ends_with_the_space_that_completed_a_word(
    words: list[str],
) -> None:
    text = " ".join(words)
    stops = typed_prefixes(text)
    assert len(stops) == len(words) - 1
    for number, stop in enumerate(stops, start=1):
        typed = text[: stop.characters]
        assert typed.endswith(" ")
        assert typed.split() == words[:number]
        assert stop.characters < len(text)


def test_stopping_early_costs_typing_waiting_deciding_and_opening() -> None:
    model = TimeToFindModel()
    assert model.seconds_to_decide == 1.35
    assert model.early_stop_seconds(15, 0.02) == pytest.approx(15 * 0.28 + 0.02 + 1.35 + 2.0)
    full = row(11.0, 20.0)
    stop = EarlyStop(words=2, characters=15, latency_s=0.02)
    early = with_as_you_type(full, stop, model)
    assert early.as_you_type_seconds == pytest.approx(model.early_stop_seconds(15, 0.02))
    assert early.as_you_type_words == 2
    typed_all = with_as_you_type(full, None, model)
    assert typed_all.as_you_type_seconds == 11.0
    assert typed_all.as_you_type_words is None
    summary = summarise_time_to_find([early, typed_all], model)
    assert summary.stopped_early == 1
    assert summary.as_you_type is not None
    stopped = model.early_stop_seconds(15, 0.02)
    assert summary.as_you_type.median_s == pytest.approx((11.0 + stopped) / 2)
    assert summarise_time_to_find([full], model).as_you_type is None
