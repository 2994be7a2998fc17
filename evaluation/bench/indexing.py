"""Benchmark 1, incremental indexing (issue 3): the first build, unchanged reruns, a 1% edit,
then 1% restricted plus 1% deleted, each checked against the store and the next search."""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from connectors.jsonl import JsonlConnector
from evaluation.bench.common import (
    BenchConfig,
    CountingEmbedder,
    Json,
    phase,
    synthetic_records,
    target,
)
from evaluation.bench.process import cli_env, cli_rerun, cli_store_path
from evaluation.metrics import percentile
from indexer import Indexer, IndexSummary
from retrieval.chunking import ChunkingConfig, chunk_text
from retrieval.embedding import SentenceTransformerEmbedder
from retrieval.models import AccessScope, SearchFilters, SearchRequest
from retrieval.search import HybridSearcher
from retrieval.store import RecordStore

RERUN_RATIO_MAX = 0.05
RESTRICTED_TO = "team:bench-restricted"


def _median(values: Sequence[float]) -> float:
    return percentile(list(values), 50)


def _write_jsonl(path: Path, records: Sequence[Json]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        handle.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def _index_state(store: RecordStore) -> dict[str, tuple[int, tuple[int, ...]]]:
    """Record id -> (generation, chunk pks): any rewrite of a record changes it."""
    with store.snapshot() as conn:
        records = store.record_index(conn)
        chunks = store.chunk_pks_by_record(conn)
    return {rid: (generation, tuple(chunks.get(pk, []))) for rid, pk, generation, _ in records}


def _changed(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    return {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}


def _summary_json(summary: IndexSummary, counted: int) -> Json:
    data = summary.as_dict()
    data.pop("source")
    data["failures"] = len(data["failures"])
    data["texts_sent_to_model"] = counted
    return data


def _probe_query(record: Json) -> str:
    return " ".join([record.get("title", ""), *str(record["text"]).split()[:30]]).strip()


def _found(searcher: HybridSearcher, record: Json, scope: AccessScope, top_k: int) -> bool:
    request = SearchRequest(
        text=_probe_query(record),
        scope=scope,
        filters=SearchFilters(case_id=record.get("case_id")),
        top_k=top_k,
        understand=False,
    )
    return record["id"] in {rid for rid, _ in searcher.rank_ids(request)}


def bench_indexing(config: BenchConfig, work: Path) -> Json:
    """First build, unchanged reruns, a 1% edit, then 1% restricted plus 1% deleted."""
    root = work / "indexing"
    phases: dict[str, Json] = {}
    with phase(phases, "generate"):
        records = synthetic_records(config.records, seed=config.seed, today=dt.date(2025, 6, 30))
        source = root / "records.jsonl"
        _write_jsonl(source, records)
    total = len(records)  # the later phases edit, restrict and delete some of them
    store = RecordStore(cli_store_path(cli_env(root / "data")))
    chunking = ChunkingConfig()  # the settings' default, which the CLI rerun below also uses
    embedder = CountingEmbedder(SentenceTransformerEmbedder(precision=config.index_precision))
    embedder.embed(["load the model before the clock starts"])
    indexer = Indexer(store, embedder, chunking)
    connector = JsonlConnector(source)
    invariants: dict[str, bool] = {}
    result: Json = {"phases": phases}

    def run(name: str) -> tuple[IndexSummary, Json]:
        embedder.texts = 0
        with phase(phases, name):
            summary = indexer.run(connector)
        return summary, _summary_json(summary, embedder.texts)

    try:
        first, result["first_build"] = run("first_build")
        result["first_build"]["chunks_per_s"] = round(first.chunks_embedded / first.elapsed_s, 1)
        result["first_build"]["records_per_s"] = round(first.added / first.elapsed_s, 1)
        result["store_counts"] = store.counts()
        invariants["first_build_adds_every_record"] = first.added == total
        invariants["first_build_count_matches_model_calls"] = (
            first.chunks_embedded == result["first_build"]["texts_sent_to_model"]
        )

        for variant in ("checkpoint_skip", "full_reread"):
            runs = []
            for i in range(config.reruns):
                if variant == "full_reread":  # forget how far the file was read: hash every line
                    with store.transaction() as conn:
                        store.clear_checkpoint(conn, connector.source_id)
                runs.append(run(f"rerun_{variant}_{i + 1}")[1])
            invariants[f"rerun_{variant}_embeds_nothing"] = all(
                r["chunks_embedded"] == r["texts_sent_to_model"] == 0
                and r["added"] + r["updated"] + r["deleted"] + r["acl_changed"] == 0
                for r in runs
            )
            median_s = _median([r["elapsed_s"] for r in runs])
            result[f"rerun_{variant}"] = {
                "runs": runs,
                "median_s": round(median_s, 3),
                "ratio_to_first": round(median_s / first.elapsed_s, 5),
            }
        invariants["full_reread_compares_every_record"] = all(
            r["unchanged"] == total for r in result["rerun_full_reread"]["runs"]
        )
        result["cli_rerun"] = cli_rerun(root / "data", source)
        invariants["cli_rerun_embeds_nothing"] = result["cli_rerun"]["chunks_embedded"] == 0

        rng = random.Random(f"bench:{config.seed}")  # noqa: S311 - a reproducible sample
        share = max(1, round(len(records) * config.change_share))
        picked = rng.sample(range(len(records)), 3 * share)
        edit_ix, restrict_ix, delete_ix = (
            set(picked[:share]),
            picked[share : 2 * share],
            picked[2 * share :],
        )
        result["edit"] = _edit_phase(records, edit_ix, source, store, chunking, run, invariants)
        result["acl_and_delete"] = _acl_delete_phase(
            records, restrict_ix, delete_ix, source, store, embedder, run, invariants, config
        )
        result["same_length_acl_edit"] = _same_length_edit(records, source, run)
        invariants["same_length_acl_edit_detected"] = result["same_length_acl_edit"]["detected"]
    finally:
        store.close()

    result["parameters"] = {
        "records": total,
        "source": "evaluation.synthetic (seed, whole cases in id order), JSONL",
        "precision": config.index_precision,
        "precision_note": (
            "first build embeds with this precision; on this CPU bf16 autocast measured slower "
            "than fp32 (see embedding.json), so fp32 is the default"
        ),
        "chunking": chunking.fingerprint(),
        "embedder": embedder.fingerprint,
        "reruns_each": config.reruns,
        "change_share": config.change_share,
        "timing": "Indexer.run wall time with the model already loaded",
    }
    ratios = [result[f"rerun_{v}"]["ratio_to_first"] for v in ("checkpoint_skip", "full_reread")]
    result["targets"] = [
        target("rerun_checkpoint_skip_over_first", ratios[0], RERUN_RATIO_MAX),
        target("rerun_full_reread_over_first", ratios[1], RERUN_RATIO_MAX),
    ]
    result["invariants"] = invariants
    return result


def _edit_phase(
    records: list[Json],
    edit_ix: set[int],
    source: Path,
    store: RecordStore,
    chunking: ChunkingConfig,
    run: Callable[[str], tuple[IndexSummary, Json]],
    invariants: dict[str, bool],
) -> Json:
    for i in sorted(edit_ix):
        records[i] = {
            **records[i],
            "text": f"{records[i]['text']}\n\nManager's addendum (review {i}): discussed in "
            "supervision; the record stands and the plan is unchanged.",
        }
    edited = {records[i]["id"] for i in edit_ix}
    expected = sum(len(chunk_text(records[i]["text"], chunking)) for i in edit_ix)
    before = _index_state(store)
    _write_jsonl(source, records)
    summary, data = run("edit_rerun")
    after = _index_state(store)
    touched = _changed(before, after)
    stored_chunks = sum(len(after[rid][1]) for rid in edited if rid in after)
    invariants["edit_reembeds_exactly_edited_chunks"] = (
        summary.chunks_embedded == expected == data["texts_sent_to_model"] == stored_chunks
    )
    invariants["edit_touches_only_edited_records"] = touched == edited
    invariants["edit_updates_every_edited_record"] = summary.updated == len(edited)
    return {
        **data,
        "edited_records": len(edited),
        "expected_chunks": expected,
        "records_touched": len(touched),
        "records_touched_not_edited": len(touched - edited),
    }


def _acl_delete_phase(
    records: list[Json],
    restrict_ix: list[int],
    delete_ix: list[int],
    source: Path,
    store: RecordStore,
    embedder: CountingEmbedder,
    run: Callable[[str], tuple[IndexSummary, Json]],
    invariants: dict[str, bool],
    config: BenchConfig,
) -> Json:
    searcher = HybridSearcher(store, embedder)
    searcher.warm()  # one long-lived searcher: the change must show on its very next search
    restricted = [records[i] for i in restrict_ix]
    deleted = [records[i] for i in delete_ix]
    # The user who loses access holds exactly the record's former allow principals.
    probed = restricted[: config.verify_sample]
    sample = [
        (r, AccessScope(frozenset(r["acl"]))) for r in probed + deleted[: config.verify_sample]
    ]
    found_before = sum(_found(searcher, r, scope, 10) for r, scope in sample)
    for i in restrict_ix:
        records[i] = {**records[i], "acl": [RESTRICTED_TO]}
    for i in sorted(delete_ix, reverse=True):
        del records[i]
    before = _index_state(store)
    _write_jsonl(source, records)
    summary, data = run("acl_delete_rerun")
    after = _index_state(store)
    started = time.perf_counter()
    found_after = sum(_found(searcher, r, scope, 200) for r, scope in sample)
    new_owner = AccessScope.of(RESTRICTED_TO)
    still_visible = sum(_found(searcher, r, new_owner, 10) for r in probed)
    search_s = time.perf_counter() - started
    restricted_ids = {r["id"] for r in restricted}
    deleted_ids = {r["id"] for r in deleted}
    touched = _changed(before, after)
    invariants["acl_delete_counts"] = (summary.acl_changed, summary.deleted) == (
        len(restricted),
        len(deleted),
    )
    invariants["acl_delete_embeds_nothing"] = (
        summary.chunks_embedded == data["texts_sent_to_model"] == 0
    )
    invariants["acl_change_keeps_chunks"] = all(
        before[rid][1] == after[rid][1] for rid in restricted_ids
    )
    invariants["deleted_gone_from_store"] = not deleted_ids & after.keys()
    invariants["acl_delete_touches_only_those"] = touched == restricted_ids | deleted_ids
    invariants["restricted_and_deleted_not_found_next_search"] = found_after == 0
    return {
        **data,
        "restricted_records": len(restricted),
        "deleted_records": len(deleted),
        "records_touched": len(touched),
        "search_check": {
            "searched_records": len(sample),
            "found_before_top10_by_former_user": found_before,
            "found_after_top200_by_former_user": found_after,
            "restricted_found_top10_by_new_principal": still_visible,
            "restricted_searched_by_new_principal": len(probed),
            "query": "title + first 30 words, case-scoped, understanding off",
            "searches_s": round(search_s, 3),
        },
    }


def _same_length_edit(
    records: list[Json], source: Path, run: Callable[[str], tuple[IndexSummary, Json]]
) -> Json:
    """Narrow one mid-file record's ACL in place, keeping the file's length, and rerun.

    A checkpoint that trusted the file's length or a sample of its bytes would skip this
    change and leave the old access standing.
    """
    edited = records[len(records) // 2]
    old = edited["acl"][0]
    edited["acl"] = ["x" * len(old), *edited["acl"][1:]]
    size = source.stat().st_size
    _write_jsonl(source, records)
    summary, data = run("same_length_acl_edit_rerun")
    return {
        "record": edited["id"],
        "file_length_kept": source.stat().st_size == size,
        "acl_changed": summary.acl_changed,
        "chunks_embedded": data["chunks_embedded"],
        "detected": summary.acl_changed == 1 and data["chunks_embedded"] == 0,
    }
