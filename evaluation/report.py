"""Write an ``EvaluationReport`` as JSON (the record), markdown (the summary) and a PNG plot.

The JSON has sorted keys and floats rounded to 4 decimals so that two reports diff cleanly.
Per mode it holds ``ndcg@10``, ``recall@10``, ``recall@100``, ``mrr@10``, ``success@1``,
``latency_ms_p50``, ``latency_ms_p95``, ``by_kind`` (same keys per kind), ``time_to_find`` and
``per_query`` rows; ``time_to_find_model`` holds every model parameter.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from evaluation.harness import EvaluationReport, GroupScores, ModeReport, QueryResult
from evaluation.metrics import METRIC_NAMES, MetricName
from evaluation.timetofind import (
    KLM_SOURCE,
    QueryTimeToFind,
    TimeStats,
    TimeToFindSummary,
    search_time_parts,
)

DECIMALS = 4

_METRIC_HEADERS = {
    "ndcg@10": "nDCG@10",
    "recall@10": "R@10",
    "recall@100": "R@100",
    "mrr@10": "MRR@10",
    "success@1": "S@1",
}


@dataclass(frozen=True, slots=True)
class ReportPaths:
    """The files ``write_report`` wrote."""

    json: Path
    markdown: Path
    plot: Path


def report_to_dict(report: EvaluationReport) -> dict[str, Any]:
    """The report as JSON-ready data, floats rounded to ``DECIMALS`` places."""
    model = report.ttf_model
    data: dict[str, Any] = {
        "collection": {
            "name": report.collection,
            "split": report.split,
            "documents": report.documents,
            "visible_documents": report.visible_documents,
            "queries": report.queries,
            "unjudged_queries": report.unjudged_queries,
        },
        "context": dict(report.context),
        "top_k_run": report.top_k_run,
        "time_to_find_model": {
            "seconds_per_character": model.seconds_per_character,
            "seconds_per_snippet": model.seconds_per_snippet,
            "seconds_to_open": model.seconds_to_open,
            "seconds_per_title": model.seconds_per_title,
            "seconds_to_decide": model.seconds_to_decide,
            "results_scanned": model.results_scanned,
            "not_found_penalty_s": model.not_found_penalty_s,
            "not_found_policy": model.not_found_policy,
            "source": KLM_SOURCE,
        },
        "modes": {mode: _mode_dict(mode_report) for mode, mode_report in report.modes.items()},
    }
    rounded: dict[str, Any] = _rounded(data)
    return rounded


def render_json(report: EvaluationReport) -> str:
    """``report_to_dict`` as indented JSON with sorted keys and a final newline."""
    return json.dumps(report_to_dict(report), sort_keys=True, indent=2, allow_nan=False) + "\n"


def render_markdown(report: EvaluationReport) -> str:
    """A short summary: metrics per mode, per kind, time-to-find and the model parameters."""
    lines = [
        f"# Evaluation: {report.collection} ({report.split})",
        "",
        f"{report.documents:,} documents ({report.visible_documents:,} visible), "
        f"{report.queries:,} judged queries, run depth {report.top_k_run}.",
        "",
        "| mode | " + " | ".join(_METRIC_HEADERS.values()) + " | p50 ms | p95 ms |",
        "|---" * (len(METRIC_NAMES) + 3) + "|",
    ]
    for mode, mode_report in report.modes.items():
        lines.append(_group_row([mode], mode_report.overall))

    if any(mode_report.by_kind for mode_report in report.modes.values()):
        lines += [
            "",
            "## By query kind",
            "",
            "| mode | kind | queries | "
            + " | ".join(_METRIC_HEADERS.values())
            + " | p50 ms | p95 ms |",
            "|---" * (len(METRIC_NAMES) + 5) + "|",
        ]
        for mode, mode_report in report.modes.items():
            for kind, scores in mode_report.by_kind.items():
                lines.append(_group_row([mode, kind, str(scores.queries)], scores))

    model = report.ttf_model
    policy = (
        "not-found queries are left out of the times"
        if model.not_found_penalty_s is None
        else f"not-found queries count as {model.not_found_penalty_s:g} s"
    )
    lines += [
        "",
        "## Time to find (seconds)",
        "",
        "| mode | search median | search p90 | search mean | search not found "
        "| browse median | browse p90 | browse mean | browse not found | search/browse median |",
        "|---" * 10 + "|",
    ]
    for mode, mode_report in report.modes.items():
        ttf = mode_report.time_to_find
        lines.append(
            f"| {mode} | {_stats_cells(ttf.search)} | {_stats_cells(ttf.browse)} "
            f"| {_ratio(ttf.median_ratio)} |"
        )
    if any(mode_report.time_to_find_by_kind for mode_report in report.modes.values()):
        lines += [
            "",
            "### Time to find by query kind (seconds)",
            "",
            "| mode | kind | search median | search p90 | search mean | search not found "
            "| browse median | browse p90 | browse mean | browse not found "
            "| search/browse median |",
            "|---" * 11 + "|",
        ]
        for mode, mode_report in report.modes.items():
            for kind, ttf in mode_report.time_to_find_by_kind.items():
                lines.append(
                    f"| {mode} | {kind} | {_stats_cells(ttf.search)} "
                    f"| {_stats_cells(ttf.browse)} | {_ratio(ttf.median_ratio)} |"
                )
    lines += _as_you_type_lines(report)
    lines += _time_parts_lines(report)
    lines += [
        "",
        f"Model: typing {model.seconds_per_character:g} s/character, "
        f"{model.seconds_per_snippet:g} s per snippet read above the first relevant hit, "
        f"{model.seconds_to_open:g} s to open it, the top {model.results_scanned} results "
        f"scanned; browse {model.seconds_per_title:g} s per title, newest first within the "
        "case (the whole corpus for queries without a case). Results as you type: the "
        "search refreshes after each completed word; the user stops when the first result "
        f"is an answer of the best grade, taking {model.seconds_to_decide:g} s to decide. "
        f"{policy.capitalize()}. Source: {KLM_SOURCE}.",
        "",
    ]
    return "\n".join(lines)


def _as_you_type_lines(report: EvaluationReport) -> list[str]:
    """Typed in full vs results as you type, per mode and kind, when it was measured."""
    rows: list[tuple[str, str, TimeToFindSummary]] = []
    for mode, mode_report in report.modes.items():
        rows.append((mode, "all", mode_report.time_to_find))
        rows += [(mode, kind, t) for kind, t in mode_report.time_to_find_by_kind.items()]
    if not any(summary.as_you_type is not None for _, _, summary in rows):
        return []
    lines = [
        "",
        "### Results as you type (seconds)",
        "",
        "The web page refreshes the results after each completed word; a user who sees the "
        "answer first stops typing and opens it.",
        "",
        "| mode | kind | queries | typed in full, median | as you type, median "
        "| as you type, p90 | stopped early | as you type/browse median |",
        "|---" * 8 + "|",
    ]
    for label, kind, summary in rows:
        live = summary.as_you_type
        if live is None:
            continue
        ratio = None
        if live.median_s is not None and summary.browse.median_s:
            ratio = live.median_s / summary.browse.median_s
        lines.append(
            f"| {label} | {kind} | {live.queries} | {_num(summary.search.median_s)} "
            f"| {_num(live.median_s)} | {_num(live.p90_s)} | {summary.stopped_early} "
            f"| {_ratio(ratio)} |"
        )
    return lines


def _time_parts_lines(report: EvaluationReport) -> list[str]:
    """Where search time goes, per kind, for the last mode (hybrid when all modes ran)."""
    mode, mode_report = list(report.modes.items())[-1]
    groups: list[tuple[str, list[QueryResult]]] = [("all", list(mode_report.queries))]
    groups += [
        (kind, [q for q in mode_report.queries if q.kind == kind]) for kind in mode_report.by_kind
    ]
    lines = [
        "",
        f"### Where the search time goes ({mode}; medians over the queries search found)",
        "",
        "Typing and waiting are what ranking cannot shorten; reading is the snippets above the "
        "first relevant hit.",
        "",
        "| kind | found | typing s | waiting s | reading s | opening s | search median s |",
        "|---" * 7 + "|",
    ]
    for name, results in groups:
        parts = search_time_parts([q.time_to_find for q in results], report.ttf_model)
        if parts is None:
            continue
        lines.append(
            f"| {name} | {parts.found} | {parts.typing_s:.1f} | {parts.waiting_s:.2f} "
            f"| {parts.reading_s:.1f} | {parts.opening_s:.1f} | {parts.total_s:.1f} |"
        )
    return lines


def render_plot(report: EvaluationReport) -> Figure:
    """Two panels: nDCG@10 and R@100 per mode; median time-to-find, search vs browse.

    Built on a bare ``Figure`` (Agg canvas), so no pyplot state or display is touched.
    """
    figure = Figure(figsize=(10, 4), layout="constrained")
    quality, timing = figure.subplots(1, 2)
    modes = list(report.modes)
    width = 0.38
    shown: tuple[tuple[float, MetricName], ...] = (
        (-width / 2, "ndcg@10"),
        (width / 2, "recall@100"),
    )
    for offset, name in shown:
        values = [report.modes[mode].overall.metrics[name] for mode in modes]
        bars = quality.bar([i + offset for i in range(len(modes))], values, width, label=name)
        quality.bar_label(bars, fmt="%.3f", fontsize=8)
    quality.set_xticks(range(len(modes)), modes)
    quality.set_ylim(0, 1.1)
    quality.set_title(f"Retrieval quality: {report.collection}")
    quality.legend(loc="upper left")

    labels: list[str] = []
    medians: list[float] = []
    for mode in modes:
        labels.append(f"search\n{mode}")
        medians.append(report.modes[mode].time_to_find.search.median_s or 0.0)
    browse_median = report.modes[modes[0]].time_to_find.browse.median_s
    labels.append("browse")
    medians.append(browse_median or 0.0)
    colours = ["tab:blue"] * len(modes) + ["tab:grey"]
    bars = timing.bar(range(len(labels)), medians, color=colours)
    timing.bar_label(bars, fmt="%.1f s", fontsize=8)
    timing.set_xticks(range(len(labels)), labels)
    timing.set_ylabel("median seconds to open the first relevant record", fontsize=8)
    timing.set_title(
        "Time to find (found queries)"
        if report.ttf_model.not_found_penalty_s is None
        else "Time to find (not found penalised)"
    )
    return figure


def write_report(
    report: EvaluationReport,
    json_path: str | Path,
    markdown_path: str | Path | None = None,
    plot_path: str | Path | None = None,
) -> ReportPaths:
    """Write JSON, markdown and PNG; a path left as None sits next to ``json_path``.

    The derived paths replace the JSON suffix with ``.md`` and ``.png``. Parent folders are
    created; existing files are overwritten. Returns the three paths.
    """
    target = Path(json_path)
    paths = ReportPaths(
        json=target,
        markdown=Path(markdown_path) if markdown_path is not None else target.with_suffix(".md"),
        plot=Path(plot_path) if plot_path is not None else target.with_suffix(".png"),
    )
    for path in (paths.json, paths.markdown, paths.plot):
        path.parent.mkdir(parents=True, exist_ok=True)
    paths.json.write_text(render_json(report), encoding="utf-8")
    paths.markdown.write_text(render_markdown(report), encoding="utf-8")
    render_plot(report).savefig(paths.plot, format="png", dpi=120, metadata={"Software": None})
    return paths


def _mode_dict(mode_report: ModeReport) -> dict[str, Any]:
    data = _group_dict(mode_report.overall)
    data["by_kind"] = {kind: _group_dict(scores) for kind, scores in mode_report.by_kind.items()}
    data["time_to_find"] = _ttf_dict(mode_report.time_to_find)
    data["time_to_find_by_kind"] = {
        kind: _ttf_dict(ttf) for kind, ttf in mode_report.time_to_find_by_kind.items()
    }
    data["duplicate_hits_dropped"] = mode_report.duplicate_hits_dropped
    data["per_query"] = [
        {
            "query_id": row.query_id,
            "kind": row.kind,
            "latency_ms": row.latency_ms,
            "returned": row.returned,
            **_metric_items(row.metrics),
            "time_to_find": _query_ttf_dict(row.time_to_find),
        }
        for row in mode_report.queries
    ]
    return data


def _group_dict(scores: GroupScores) -> dict[str, Any]:
    return {
        "queries": scores.queries,
        **_metric_items(scores.metrics),
        "latency_ms_p50": scores.latency_ms_p50,
        "latency_ms_p95": scores.latency_ms_p95,
    }


def _ttf_dict(summary: TimeToFindSummary) -> dict[str, Any]:
    return {
        "policy": summary.policy,
        "median_ratio": summary.median_ratio,
        "browse_corpus_queries": summary.browse_corpus_queries,
        "search": _stats_dict(summary.search),
        "browse": _stats_dict(summary.browse),
        "as_you_type": None if summary.as_you_type is None else _stats_dict(summary.as_you_type),
        "stopped_early": summary.stopped_early,
    }


def _stats_dict(stats: TimeStats) -> dict[str, Any]:
    return {
        "queries": stats.queries,
        "found": stats.found,
        "not_found": stats.not_found,
        "not_found_fraction": stats.not_found_fraction,
        "counted": stats.counted,
        "median_s": stats.median_s,
        "p90_s": stats.p90_s,
        "mean_s": stats.mean_s,
    }


def _query_ttf_dict(row: QueryTimeToFind) -> dict[str, Any]:
    return {
        "search_rank": row.search_rank,
        "search_s": row.search_seconds,
        "browse_scope": row.browse_scope,
        "browse_position": row.browse_position,
        "browse_s": row.browse_seconds,
        "typing_s": row.typing_seconds,
        "latency_s": row.latency_seconds,
        "as_you_type_s": row.as_you_type_seconds,
        "as_you_type_words": row.as_you_type_words,
    }


def _metric_items(metrics: Mapping[MetricName, float]) -> dict[str, float]:
    return {name: metrics[name] for name in METRIC_NAMES}


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, DECIMALS)
    if isinstance(value, Mapping):
        return {str(key): _rounded(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(item) for item in value]
    return value


def _group_row(cells: list[str], scores: GroupScores) -> str:
    values = [f"{scores.metrics[name]:.3f}" for name in METRIC_NAMES]
    values += [f"{scores.latency_ms_p50:.1f}", f"{scores.latency_ms_p95:.1f}"]
    return "| " + " | ".join(cells + values) + " |"


def _stats_cells(stats: TimeStats) -> str:
    cells = [_num(stats.median_s), _num(stats.p90_s), _num(stats.mean_s)]
    cells.append(f"{stats.not_found} ({stats.not_found_fraction:.0%})")
    return " | ".join(cells)


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"
