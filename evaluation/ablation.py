"""Ablation: each ranking rule switched off in turn, nDCG@10 per query kind, side by side.

Every variant ranks the same indexed collection with the same queries in hybrid mode; only the
``SearchConfig`` differs (or query understanding, for the naive baseline). Two reference rows:
``dense only`` (the plain model) and ``naive RRF`` (BM25 and the plain model fused with RRF,
k = 60, no query understanding and no rules), the baselines the concept issue names.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from evaluation.beir import BeirCollection, EvalQuery
from evaluation.metrics import mean, ndcg_at_k
from retrieval.errors import InvalidQueryError
from retrieval.models import AccessScope, Mode, SearchConfig, SearchFilters, SearchRequest
from retrieval.search import HybridSearcher


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    config: SearchConfig
    mode: Mode = "hybrid"
    understand: bool = True


def variants(base: SearchConfig) -> list[Variant]:
    """The full ranking, each rule off in turn, and the two baselines."""
    off = dataclasses.replace
    return [
        Variant("full ranking", base),
        Variant("rules for every query (no per-kind choice)", off(base, rules_by_kind=False)),
        Variant("no record-type boost", off(base, type_boost=0.0)),
        Variant("no recency / plan in force", off(base, recency=False)),
        Variant("no dropping of words common to the case", off(base, scope_common=False)),
        Variant("no negation demotion", off(base, negation_penalty=0.0)),
        Variant("no indicator wordings (BM25)", off(base, concept_indicators=False)),
        Variant("no indicator exemplars (dense)", off(base, concept_exemplar_weight=0.0)),
        Variant("concept fusion by RRF k=60 (ranks only)", off(base, concept_fusion="rrf")),
        Variant("concerns read by name only (not by meaning)", off(base, concept_by_meaning=None)),
        Variant("concerns not read by their signs", off(base, concept_by_signs=None)),
        Variant(
            "a child's own concern read when asked of a parent",
            off(base, concern_asked_of_parent=False),
        ),
        Variant(
            "no pseudo-relevance feedback (concept queries)",
            off(base, concept_feedback_weight=0.0),
        ),
        Variant(
            "no case evidence (concept queries across cases)",
            off(base, case_evidence_weight=0.0),
        ),
        Variant(
            "record-type words inside a concern's name kept as types",
            off(base, concern_names_stop_types=False),
        ),
        Variant("dense only (plain model)", base, mode="dense", understand=False),
        Variant("naive RRF k=60 (BM25 + plain model)", off(base, rrf_k=60.0), understand=False),
    ]


def run_ablation(
    collection: BeirCollection,
    searcher_for: Callable[[SearchConfig], HybridSearcher],
    base: SearchConfig,
    scope: AccessScope,
    *,
    today: dt.date | None = None,
    only: Sequence[str] | None = None,
) -> dict[str, dict[str, float]]:
    """``{variant: {kind: mean nDCG@10, "all": …}}`` over the judged queries."""
    out: dict[str, dict[str, float]] = {}
    for variant in variants(base):
        if only is not None and variant.name not in only:
            continue
        searcher = searcher_for(variant.config)
        per_kind: dict[str, list[float]] = defaultdict(list)
        for query in collection.queries:
            ranking = [doc for doc, _ in _search(searcher, variant, query, scope, today)]
            score = ndcg_at_k(ranking, collection.qrels.get(query.id, {}), 10)
            per_kind[query.kind or "-"].append(score)
            per_kind["all"].append(score)
        out[variant.name] = {kind: round(mean(v), 4) for kind, v in per_kind.items()}
    return out


def _search(
    searcher: HybridSearcher,
    variant: Variant,
    query: EvalQuery,
    scope: AccessScope,
    today: dt.date | None,
) -> list[tuple[str, float]]:
    request = SearchRequest(
        text=query.text,
        scope=scope,
        filters=SearchFilters(case_id=query.case_id),
        mode=variant.mode,
        top_k=10,
        understand=variant.understand,
        today=today,
    )
    try:
        return searcher.rank_ids(request)
    except InvalidQueryError:
        return []


def write_ablation(table: dict[str, dict[str, float]], path: Path) -> Path:
    """JSON (sorted keys) at ``path`` and a markdown table beside it (``.md``); the md path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(table, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    kinds = [*sorted({k for row in table.values() for k in row if k != "all"}), "all"]
    lines = [
        "# Ablation: nDCG@10 with each rule switched off (hybrid unless named)",
        "",
        "| variant | " + " | ".join(kinds) + " |",
        "|---|" + "---|" * len(kinds),
    ]
    for name, row in table.items():
        cells = [f"{row[k]:.3f}" if k in row else "" for k in kinds]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    md = path.with_suffix(".md")
    md.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return md
