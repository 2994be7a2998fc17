"""Run every judged query of a collection through a search function and score the results.

The harness knows nothing of stores or models: ``search`` is any callable that answers one
query in one mode. The CLI passes a closure over ``retrieval``; tests pass a stub.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from evaluation import EvaluationError
from evaluation.beir import BeirCollection, EvalQuery
from evaluation.metrics import MetricName, mean_scores, percentile, score_query
from evaluation.timetofind import (
    DEFAULT_TTF_MODEL,
    BrowseLists,
    EarlyStop,
    QueryTimeToFind,
    TimeToFindModel,
    TimeToFindSummary,
    query_time_to_find,
    summarise_time_to_find,
    typed_prefixes,
    with_as_you_type,
)
from retrieval.models import MODES, Mode

__all__ = [
    "MODES",
    "EvaluationReport",
    "GroupScores",
    "Mode",
    "ModeReport",
    "QueryResult",
    "SearchFunction",
    "evaluate",
]

ContextValue = str | int | float | bool | None
Hits = tuple[tuple[str, float], ...]


class SearchFunction(Protocol):
    """Answers one query in one mode: (document id, score) pairs, best first.

    The harness applies ``query.case_id`` only through this function: a scoped query must be
    searched within its case here.
    """

    def __call__(self, query: EvalQuery, mode: Mode, /) -> Sequence[tuple[str, float]]: ...


ProgressCallback = Callable[[Mode, int, int], None]
"""Called as ``progress(mode, queries_done, queries_total)`` after each timed query."""


@dataclass(frozen=True, slots=True)
class GroupScores:
    """Mean metrics and latency percentiles over a group of queries."""

    queries: int
    metrics: Mapping[MetricName, float]
    latency_ms_p50: float
    latency_ms_p95: float


@dataclass(frozen=True, slots=True)
class QueryResult:
    """One query in one mode. ``returned`` counts distinct documents the search gave back."""

    query_id: str
    kind: str | None
    metrics: Mapping[MetricName, float]
    latency_ms: float
    returned: int
    time_to_find: QueryTimeToFind


@dataclass(frozen=True, slots=True)
class ModeReport:
    """Everything measured for one mode.

    ``by_kind`` groups queries by ``EvalQuery.kind`` (queries without a kind are in ``overall``
    only). ``run`` holds the first ``top_k_run`` distinct hits per query, in query order, for a
    TREC run file. ``duplicate_hits_dropped`` counts repeated document ids the search returned
    (each document is scored at its first rank only).
    """

    mode: Mode
    overall: GroupScores
    by_kind: Mapping[str, GroupScores]
    time_to_find: TimeToFindSummary
    time_to_find_by_kind: Mapping[str, TimeToFindSummary]
    queries: tuple[QueryResult, ...]
    run: Mapping[str, Hits]
    duplicate_hits_dropped: int


@dataclass(frozen=True, slots=True)
class EvaluationReport:
    """The result of ``evaluate``: one ``ModeReport`` per mode, in the order asked."""

    collection: str
    split: str
    documents: int
    queries: int
    unjudged_queries: int
    visible_documents: int
    top_k_run: int
    ttf_model: TimeToFindModel
    modes: Mapping[Mode, ModeReport]
    context: Mapping[str, ContextValue] = field(default_factory=dict)


def evaluate(
    collection: BeirCollection,
    search: SearchFunction,
    modes: Sequence[Mode],
    *,
    top_k_run: int = 100,
    ttf_model: TimeToFindModel = DEFAULT_TTF_MODEL,
    visible_doc_ids: Collection[str] | None = None,
    warmup_calls: int = 1,
    clock: Callable[[], float] = time.perf_counter,
    progress: ProgressCallback | None = None,
    context: Mapping[str, ContextValue] | None = None,
    as_you_type: bool = False,
) -> EvaluationReport:
    """Search every judged query once per mode, timing each call, and score the results.

    With ``as_you_type`` each query is also searched word by word, as the web page does
    while it is typed (``timetofind.typed_prefixes``), to time finding with results as you
    type; those searches are timed but do not enter the metrics or the run.

    Modes run one after another; queries run in collection order, one call each, after
    ``warmup_calls`` untimed calls with the first query (model and cache warm-up; results
    discarded). Latency is ``clock()`` around the call alone. Metrics use the whole ranking the
    search returned; the run keeps ``top_k_run`` hits. ``visible_doc_ids`` limits the browse
    baseline to what the evaluating user may see (None: every document); qrels are not changed,
    so a relevant document the user cannot see still counts as missed. ``context`` is copied
    into the report as given (for example the principals or the store backend).

    Raises ``ValueError`` for no modes, an unknown or repeated mode, ``top_k_run < 1`` or
    ``warmup_calls < 0``; ``EvaluationError`` when the collection has no judged query or the
    search returns something other than (str id, finite score) pairs. Exceptions from
    ``search`` propagate unchanged.
    """
    _check_modes(modes)
    if top_k_run < 1:
        raise ValueError(f"top_k_run must be >= 1, got {top_k_run}")
    if warmup_calls < 0:
        raise ValueError(f"warmup_calls must be >= 0, got {warmup_calls}")
    if not collection.queries:
        raise EvaluationError(f"collection {collection.name!r} has no judged query to evaluate")

    browse = BrowseLists(collection.documents, visible_doc_ids)
    reports: dict[Mode, ModeReport] = {}
    for mode in modes:
        reports[mode] = _evaluate_mode(
            collection,
            search,
            mode,
            browse=browse,
            top_k_run=top_k_run,
            model=ttf_model,
            warmup_calls=warmup_calls,
            clock=clock,
            progress=progress,
            as_you_type=as_you_type,
        )
    visible = len(collection.documents)
    if visible_doc_ids is not None:
        visible = sum(1 for doc in collection.documents if doc.id in visible_doc_ids)
    return EvaluationReport(
        collection=collection.name,
        split=collection.split,
        documents=len(collection.documents),
        queries=len(collection.queries),
        unjudged_queries=collection.unjudged_queries,
        visible_documents=visible,
        top_k_run=top_k_run,
        ttf_model=ttf_model,
        modes=reports,
        context=dict(context or {}),
    )


def _evaluate_mode(
    collection: BeirCollection,
    search: SearchFunction,
    mode: Mode,
    *,
    browse: BrowseLists,
    top_k_run: int,
    model: TimeToFindModel,
    warmup_calls: int,
    clock: Callable[[], float],
    progress: ProgressCallback | None,
    as_you_type: bool,
) -> ModeReport:
    for _ in range(warmup_calls):
        search(collection.queries[0], mode)

    results: list[QueryResult] = []
    run: dict[str, Hits] = {}
    dropped = 0
    total = len(collection.queries)
    for done, query in enumerate(collection.queries, start=1):
        started = clock()
        raw = search(query, mode)
        latency_s = clock() - started
        hits, repeats = _distinct_hits(raw, query, mode)
        dropped += repeats
        ranking = [doc_id for doc_id, _ in hits]
        judged = collection.qrels[query.id]
        run[query.id] = hits[:top_k_run]
        time_to_find = query_time_to_find(
            query, ranking, judged, latency_s, browse.locate(query, judged), model
        )
        if as_you_type:
            stop = _early_stop(query, judged, search, mode, clock)
            time_to_find = with_as_you_type(time_to_find, stop, model)
        results.append(
            QueryResult(
                query_id=query.id,
                kind=query.kind,
                metrics=score_query(ranking, judged),
                latency_ms=latency_s * 1000.0,
                returned=len(hits),
                time_to_find=time_to_find,
            )
        )
        if progress is not None:
            progress(mode, done, total)

    kinds = sorted({result.kind for result in results if result.kind is not None})
    return ModeReport(
        mode=mode,
        overall=_group(results),
        by_kind={kind: _group([r for r in results if r.kind == kind]) for kind in kinds},
        time_to_find=summarise_time_to_find([r.time_to_find for r in results], model),
        time_to_find_by_kind={
            kind: summarise_time_to_find([r.time_to_find for r in results if r.kind == kind], model)
            for kind in kinds
        },
        queries=tuple(results),
        run=run,
        duplicate_hits_dropped=dropped,
    )


def _early_stop(
    query: EvalQuery,
    judged: Mapping[str, int],
    search: SearchFunction,
    mode: Mode,
    clock: Callable[[], float],
) -> EarlyStop | None:
    """The first word-by-word search whose first result is an answer of the highest grade."""
    best = max(judged.values(), default=0)
    if best <= 0:
        return None
    for stop in typed_prefixes(query.text):
        started = clock()
        raw = search(replace(query, text=query.text[: stop.characters]), mode)
        latency_s = clock() - started
        hits, _ = _distinct_hits(raw, query, mode)
        if hits and judged.get(hits[0][0], 0) == best:
            return replace(stop, latency_s=latency_s)
    return None


def _distinct_hits(raw: object, query: EvalQuery, mode: Mode) -> tuple[Hits, int]:
    """Validated hits with repeated document ids removed (first kept), and the repeat count."""
    where = f"search({query.id!r}, {mode!r})"
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes):
        raise EvaluationError(f"{where} must return a sequence of (doc_id, score) pairs")
    hits: list[tuple[str, float]] = []
    seen: set[str] = set()
    for item in raw:
        if not isinstance(item, tuple | list) or len(item) != 2:
            raise EvaluationError(f"{where} returned {item!r}, not a (doc_id, score) pair")
        doc_id, score = item
        if not isinstance(doc_id, str) or not doc_id:
            raise EvaluationError(f"{where} returned document id {doc_id!r}, not a string")
        try:
            value = float(score)
        except (TypeError, ValueError):
            raise EvaluationError(f"{where} returned score {score!r} for {doc_id!r}") from None
        if not math.isfinite(value):
            raise EvaluationError(f"{where} returned score {value} for {doc_id!r}")
        if doc_id in seen:
            continue
        seen.add(doc_id)
        hits.append((doc_id, value))
    return tuple(hits), len(raw) - len(hits)


def _group(results: Sequence[QueryResult]) -> GroupScores:
    latencies = [result.latency_ms for result in results]
    return GroupScores(
        queries=len(results),
        metrics=mean_scores([result.metrics for result in results]),
        latency_ms_p50=percentile(latencies, 50),
        latency_ms_p95=percentile(latencies, 95),
    )


def _check_modes(modes: Sequence[Mode]) -> None:
    if not modes:
        raise ValueError("no mode to evaluate")
    for mode in modes:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
    if len(set(modes)) != len(modes):
        raise ValueError(f"a mode is repeated in {list(modes)}")
