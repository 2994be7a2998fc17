"""The report files: one JSON file per benchmark (sorted keys), ``summary.json`` and
``summary.md``."""

from __future__ import annotations

import json
from pathlib import Path

from evaluation.bench.common import BENCHMARKS, Json, now
from evaluation.bench.load import markdown_table
from evaluation.bench.scale_report import (
    peers_table,
    people_table,
    plot_scale,
    scale_figures,
    scale_table,
)


def dump(path: Path, data: Json) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


_LOAD_FIGURES = ("requests_per_s", "p50_ms", "p95_ms", "p99_ms", "errors")


def _figures(name: str, data: Json) -> Json:
    if name == "indexing":
        return {
            "records": data["parameters"]["records"],
            "first_build_s": data["first_build"]["elapsed_s"],
            "first_build_chunks": data["first_build"]["chunks_embedded"],
            "rerun_checkpoint_skip_s": data["rerun_checkpoint_skip"]["median_s"],
            "rerun_full_reread_s": data["rerun_full_reread"]["median_s"],
            "edit_chunks_reembedded": data["edit"]["chunks_embedded"],
            "edit_chunks_expected": data["edit"]["expected_chunks"],
            "acl_changed": data["acl_and_delete"]["acl_changed"],
            "deleted": data["acl_and_delete"]["deleted"],
            "same_length_acl_edit_detected": data["same_length_acl_edit"]["detected"],
        }
    if name == "latency":
        return {
            "http_p50_ms": data["http"].get("p50_ms"),
            "http_p95_ms": data["http"].get("p95_ms"),
            "http_p99_ms": data["http"].get("p99_ms"),
            "in_process_p50_ms": data["in_process"].get("p50_ms"),
            "in_process_p95_ms": data["in_process"].get("p95_ms"),
            "ratio_http_over_in_process": data["ratio_http_over_in_process"],
            "http_p95_ms_by_scope": {
                scope: part["http"].get("p95_ms") for scope, part in data["by_scope"].items()
            },
            "requests": data["http"]["n"],
        }
    if name == "lexical":
        sizes = sorted(data["sizes"].values(), key=lambda block: int(block["records"]))

        def each(path: str, key: str) -> Json:
            """Per user kind, over all queries, one figure per size (smallest first)."""
            return {
                user: [b["users"][user]["all_queries"][path][key] for b in sizes]
                for user in ("all", "team")
            }

        return {
            "records": [b["records"] for b in sizes],
            "chunks": [b["chunks"] for b in sizes],
            "old_p50_ms": each("old", "p50_ms"),
            "new_p50_ms": each("new", "p50_ms"),
            "old_p95_ms": each("old", "p95_ms"),
            "new_p95_ms": each("new", "p95_ms"),
            "ratio_new_over_old_p50": each("ratio_new_over_old", "p50_ms"),
            "ratio_new_over_old_p95": each("ratio_new_over_old", "p95_ms"),
            "matched_chunks_max": each("matched_chunks", "max"),
        }
    if name == "scale":
        return scale_figures(data)
    if name == "access":
        keys = ("searches", "problems", "searches_with_an_allowed_marker_record", "p95_ms")
        return {k: data[k] for k in keys}
    if name == "understanding":
        timings = ("queries", "mean_ms", "p50_ms", "p95_ms", "max_ms", "long_input_median_ms")
        return {k: data[k] for k in timings}
    if name == "load":
        return {
            variant: {
                str(row["clients"]): {k: row.get(k) for k in _LOAD_FIGURES} for row in block["rows"]
            }
            for variant, block in data["variants"].items()
        }
    return {
        "texts_per_s": data["texts_per_s"],
        "ratio_bf16_over_fp32": data["ratio_bf16_over_fp32"],
        "cosine_mean": data["cosine_bf16_fp32"]["mean"],
        "ratio_onnx_over_fp32": data.get("ratio_onnx_over_fp32"),
        "cosine_onnx_fp32_min": data.get("cosine_onnx_fp32", {}).get("min"),
        "ratio_openvino_over_fp32": data.get("ratio_openvino_over_fp32"),
        "cosine_openvino_fp32_min": data.get("cosine_openvino_fp32", {}).get("min"),
    }


def write_summary(out: Path) -> Json:
    """Summarise every benchmark file in ``out`` into ``summary.json`` and ``summary.md``."""
    parts: Json = {}
    for name in BENCHMARKS:
        path = out / f"{name}.json"
        if path.exists():
            data = json.loads(path.read_text(encoding="utf-8"))
            parts[name] = {
                "file": path.name,
                "finished_at": data["finished_at"],
                "figures": _figures(name, data),
                "targets": data["targets"],
                "invariants_ok": all(data["invariants"].values()),
                "failed_invariants": sorted(k for k, ok in data["invariants"].items() if not ok),
            }
    summary = {
        "generated_at": now(),
        "benchmarks": parts,
        "invariants_ok": all(p["invariants_ok"] for p in parts.values()),
    }
    dump(out / "summary.json", summary)
    lines = ["# Benchmarks", "", f"Generated {summary['generated_at']}. Ratios are measured side "
             "by side in one run; absolute times on a shared CPU are noisy.", ""]  # fmt: skip
    for name, part in parts.items():
        lines += [f"## {name} ({part['finished_at']})", ""]
        if name == "scale":
            data = json.loads((out / part["file"]).read_text(encoding="utf-8"))
            lines += [*scale_table(data), ""]
            peers = peers_table(data)
            if peers:
                lines += ["The same searches through peers (`scale_peers.py`):", "", *peers, ""]
            people = people_table(data)
            if people:
                lines += ["The people directory after a change (`scale_probe.py`):", "", *people,
                          ""]  # fmt: skip
            plot_scale(data, out / "scale.png")
        if name == "load":  # a table per server variant says it faster than nested JSON
            data = json.loads((out / part["file"]).read_text(encoding="utf-8"))
            for variant, block in data["variants"].items():
                lines += [f"Server variant `{variant}`:", "", *markdown_table(block["rows"]), ""]
        else:
            lines += [f"- {k}: {json.dumps(v, sort_keys=True)}" for k, v in part["figures"].items()]
        for t in part["targets"]:
            verdict = "met" if t["met"] else "**NOT met**"
            lines.append(f"- target {t['name']} ≤ {t['limit']}: {t['value']} — {verdict}")
        failed = ", ".join(part["failed_invariants"]) or "none"
        lines += [f"- invariants: {'all hold' if part['invariants_ok'] else '**FAILED**'}"
                  f" (failed: {failed})", ""]  # fmt: skip
    (out / "summary.md").write_text("\n".join(lines), encoding="utf-8")
    return summary
