"""The scale benchmark's figures, markdown table and plot (latency against store size)."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from evaluation.bench.common import Json

CELLS = ("case_qa", "case_team", "cross_case_qa", "cross_case_team", "burst_each_search")
PEER_CELLS = ("case_qa", "case_team", "cross_case_qa", "cross_case_team")
_LABELS = {
    "case_qa": "per case, QA",
    "case_team": "per case, team",
    "cross_case_qa": "cross-case, QA",
    "cross_case_team": "cross-case, team",
    "burst_each_search": "as you type, team",
}


_SIDE_NAMES = {"baseline": "baseline", "current": "current", "http": "current, over HTTP"}


def _sides(block: Json) -> list[str]:
    return [side for side in _SIDE_NAMES if side in block]


def scale_figures(data: Json) -> Json:
    """Per code tree, p50 and p95 per cell, one figure per size (smallest first)."""
    blocks = sorted(data["sizes"].values(), key=lambda b: int(b["chunks"]))
    out: Json = {
        "chunks": [b["chunks"] for b in blocks],
        "build_s": [b["build_s"] for b in blocks],
        "store_mib": [b["store_mib"] for b in blocks],
    }
    for side in _sides(blocks[0]) if blocks else []:
        out[side] = {
            "p95_ms": {c: [b[side]["latency"][c].get("p95_ms") for b in blocks] for c in CELLS},
            "p50_ms": {c: [b[side]["latency"][c].get("p50_ms") for b in blocks] for c in CELLS},
            "serving_rss_mib": [b[side]["serving_rss_mib"] for b in blocks],
        }
    peers = sorted({peer for b in blocks for peer in b.get("peers", {})})
    if peers:  # per peer and cell, one p95 per size (None where skipped or failed)
        out["peers_p95_ms"] = {
            peer: {c: [b.get("peers", {}).get(peer, {}).get("latency", {}).get(c, {})
                       .get("p95_ms") for b in blocks] for c in PEER_CELLS}
            for peer in peers
        }  # fmt: skip
        out["ratio_current_over_peers"] = [b.get("ratio_current_over_peers") for b in blocks]
    return out


def scale_table(data: Json) -> list[str]:
    """One row per store size and code tree: p50 / p95 of each cell, RSS, build."""
    header = ["chunks", "code", *(f"{_LABELS[c]} p50 / p95 ms" for c in CELLS),
              "serving RSS MiB", "build s", "store MiB"]  # fmt: skip
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for block in sorted(data["sizes"].values(), key=lambda b: int(b["chunks"])):
        for side in _sides(block):
            latency = block[side]["latency"]
            cells = [f"{latency[c].get('p50_ms')} / {latency[c].get('p95_ms')}" for c in CELLS]
            row = [f"{block['chunks']:,}", _SIDE_NAMES[side], *cells,
                   str(block[side]["serving_rss_mib"]), str(block["build_s"]),
                   str(block["store_mib"])]  # fmt: skip
            lines.append("| " + " | ".join(row) + " |")
    return lines


def people_table(data: Json) -> list[str]:
    """Per store size, the people directory loaded whole against patched for a batch of
    changed records (this tree's probe; empty when it measured none)."""
    rows = []
    for block in sorted(data["sizes"].values(), key=lambda b: int(b["chunks"])):
        people = block.get("current", {}).get("people_directory") or {}
        if not people:
            continue
        ratio = people["full_load_s"] / people["patch_s"] if people["patch_s"] else None
        rows.append([f"{block['chunks']:,}", f"{people['rows']:,}", str(people["full_load_s"]),
                     f"{people['patch_s']} ({people['patched_records']} records)",
                     f"{ratio:.0f}×" if ratio else "–"])  # fmt: skip
    if not rows:
        return []
    header = ["chunks", "directory rows", "loaded whole s", "patched s", "whole / patched"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(r) + " |" for r in rows]


def plot_scale(data: Json, path: Path) -> None:
    """p95 latency of each cell against store size, this tree solid (over HTTP dotted), the
    baseline dashed."""
    blocks = sorted(data["sizes"].values(), key=lambda b: int(b["chunks"]))
    if not blocks:
        return
    figure = Figure(figsize=(9.5, 4.5))
    axes = figure.subplots()
    chunks = [int(b["chunks"]) for b in blocks]
    colours = dict(zip(CELLS, ("C0", "C1", "C2", "C3", "C4"), strict=True))
    for side, style in (("current", "-"), ("baseline", "--"), ("http", ":")):
        if side not in blocks[0]:
            continue
        for cell in CELLS:
            p95 = [b[side]["latency"][cell].get("p95_ms") for b in blocks]
            axes.plot(chunks, p95, style, marker="o", color=colours[cell],
                      label=f"{_LABELS[cell]} ({_SIDE_NAMES[side]})")  # fmt: skip
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("chunks in the store")
    axes.set_ylabel("p95 latency, ms (HybridSearcher.search)")
    axes.set_title("Search latency against store size")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    figure.tight_layout()
    figure.savefig(path, format="png", dpi=120, metadata={"Software": None})


def _cell(latency: Json, cell: str) -> str:
    figures = latency.get(cell)
    if not figures or not figures.get("n"):
        return "–"
    return f"{figures['p50_ms']} / {figures['p95_ms']}"


def peers_table(data: Json) -> list[str]:
    """One row per store size and peer (the product's row first): p50 / p95 of each cell, the
    peer's engine-only or per-case-index variant beneath it where there is one, build and RSS;
    then the product's p50 / p95 over each peer's. Empty when no size measured peers."""
    blocks = [b for b in sorted(data["sizes"].values(), key=lambda b: int(b["chunks"]))
              if "peers" in b]  # fmt: skip
    if not blocks:
        return []
    header = ["chunks", "engine", *(f"{_LABELS[c]} p50 / p95 ms" for c in PEER_CELLS),
              "build s", "build peak RSS MiB", "serving RSS MiB"]  # fmt: skip
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for block in blocks:
        current = block["current"]
        rows = [["product (HybridSearcher.search)",
                 *(_cell(current["latency"], c) for c in PEER_CELLS),
                 "–", "–", str(current["serving_rss_mib"])]]  # fmt: skip
        if "latency_without_query_embedding" in current:
            without = current["latency_without_query_embedding"]
            rows.append(["product, less its query embedding",
                         *(_cell(without, c) for c in PEER_CELLS), "", "", ""])  # fmt: skip
        for peer, side in block["peers"].items():
            if "latency" not in side:
                reason = side.get("skipped") or side.get("failed", "")
                rows.append([peer, *(["–"] * len(PEER_CELLS)), f"({reason[:160]})", "–", "–"])
                continue
            latency = side["latency"]
            build = [str(side[k]) for k in ("build_s", "build_peak_rss_mib", "serving_rss_mib")]
            rows.append([peer, *(_cell(latency, c) for c in PEER_CELLS), *build])
            for suffix, label in (("_engine", "query call alone"),
                                  ("_case_index", "index of the case per query")):  # fmt: skip
                if any(f"{c}{suffix}" in latency for c in PEER_CELLS):
                    cells = [_cell(latency, f"{c}{suffix}") for c in PEER_CELLS]
                    rows.append([f"{peer}, {label}", *cells, "", "", ""])
        for row in rows:
            lines.append("| " + " | ".join([f"{block['chunks']:,}", *row]) + " |")
    lines += ["", "Product over peer, p50 / p95 (above 1: the product is slower). qdrant_edge: "
              "whole searches, both embedding the query; in brackets the product less its "
              "embedding over the query call alone. rank_bm25: the product less its embedding "
              "over rank-bm25's search (whole-store index).", ""]  # fmt: skip
    header = ["chunks", "peer", *(_LABELS[c] for c in PEER_CELLS)]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for block in blocks:
        for peer, ratios in block.get("ratio_current_over_peers", {}).items():
            cells = [_ratio(ratios.get(c, {})) for c in PEER_CELLS]
            lines.append("| " + " | ".join([f"{block['chunks']:,}", peer, *cells]) + " |")
    return lines


def _ratio(figures: Json) -> str:
    if "p50" not in figures:
        return "–"
    text = f"{figures['p50']} / {figures['p95']}"
    if "p50_engine" in figures:
        text += f" ({figures['p50_engine']} / {figures['p95_engine']})"
    return text
