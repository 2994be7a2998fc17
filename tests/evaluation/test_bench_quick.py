"""The benchmark module at toy sizes: every file is written, with sorted keys and the fields the
reports quote, and the invariants of incremental indexing hold (a rerun embeds nothing, an edit
re-embeds exactly the edited records' chunks, deleted and restricted records are not found).
The lexical benchmark runs in its quick variant: scoped BM25 gives a caller who sees everything
FTS5's own bm25() scores, and a difference fails the run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evaluation import bench
from evaluation.bench import lexical
from retrieval.indicators import load_library
from retrieval.lexical import bm25_search

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench-out")
    work = tmp_path_factory.mktemp("bench-work")
    argv = ["--out", str(out), "--work", str(work), "--records", "60", "--requests", "12"]
    argv += ["--demo-cases", "2", "--embed-texts", "16", "--only", "indexing,latency,embedding"]
    assert bench.main(argv) == 0
    # the lexical benchmark's quick variant, into the same folder: the summary reads every file
    work = tmp_path_factory.mktemp("bench-work-lexical")
    assert bench.main(["--out", str(out), "--work", str(work), "--quick", "--only", "lexical"]) == 0
    # and the load benchmark's, two short levels against a real server
    work = tmp_path_factory.mktemp("bench-work-load")
    argv = ["--out", str(out), "--work", str(work), "--quick", "--only", "load"]
    assert bench.main([*argv, "--demo-cases", "2", "--load-seconds", "2"]) == 0
    # and the scale benchmark's, this tree beside the last commit's retrieval/
    work = tmp_path_factory.mktemp("bench-work-scale")
    argv = ["--out", str(out), "--work", str(work), "--quick", "--only", "scale"]
    assert bench.main([*argv, "--scale-baseline", "HEAD"]) == 0
    # and the access answer key's, 300 random searches over HTTP
    work = tmp_path_factory.mktemp("bench-work-access")
    assert bench.main(["--out", str(out), "--work", str(work), "--quick", "--only", "access"]) == 0
    # and query understanding's, alone
    work = tmp_path_factory.mktemp("bench-work-understanding")
    argv = ["--out", str(out), "--work", str(work), "--quick", "--only", "understanding"]
    assert bench.main(argv) == 0
    return out


def load(out: Path, name: str) -> dict[str, Any]:
    text = (out / f"{name}.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    assert text == json.dumps(data, indent=2, sort_keys=True) + "\n"  # sorted, diffable
    return data


@pytest.mark.parametrize("name", bench.BENCHMARKS)
def test_each_benchmark_records_machine_versions_parameters_and_time(
    reports: Path, name: str
) -> None:
    data = load(reports, name)
    assert data["benchmark"] == name
    assert data["machine"]["cpu_count"] >= 1
    assert data["machine"]["platform"]
    assert data["versions"]["torch"]
    assert data["versions"]["sentence-transformers"]
    assert data["parameters"]
    assert data["started_at"] <= data["finished_at"]
    assert all(data["invariants"].values()), data["invariants"]


def test_rerun_on_an_unchanged_source_embeds_nothing(reports: Path) -> None:
    data = load(reports, "indexing")
    assert data["first_build"]["added"] == data["parameters"]["records"] == 60
    assert data["first_build"]["chunks_embedded"] > 0
    for variant in ("rerun_checkpoint_skip", "rerun_full_reread"):
        assert data[variant]["runs"]
        for run in data[variant]["runs"]:
            assert run["chunks_embedded"] == run["texts_sent_to_model"] == 0
        assert data[variant]["ratio_to_first"] < 1
    assert all(r["unchanged"] == 60 for r in data["rerun_full_reread"]["runs"])
    assert data["cli_rerun"]["chunks_embedded"] == 0
    assert data["same_length_acl_edit"]["file_length_kept"] is True
    assert data["same_length_acl_edit"]["detected"] is True
    assert {t["name"] for t in data["targets"]} == {
        "rerun_checkpoint_skip_over_first",
        "rerun_full_reread_over_first",
    }
    assert all(p["peak_rss_mib"] > 0 for p in data["phases"].values())


def test_an_edit_reembeds_exactly_the_edited_records_chunks(reports: Path) -> None:
    edit = load(reports, "indexing")["edit"]
    assert edit["edited_records"] == edit["updated"] == 1
    assert edit["chunks_embedded"] == edit["expected_chunks"] == edit["texts_sent_to_model"] > 0
    assert edit["records_touched"] == 1
    assert edit["records_touched_not_edited"] == 0


def test_deleted_and_restricted_records_are_gone_from_the_next_search(reports: Path) -> None:
    step = load(reports, "indexing")["acl_and_delete"]
    assert step["acl_changed"] == step["restricted_records"] == 1
    assert step["deleted"] == step["deleted_records"] == 1
    assert step["chunks_embedded"] == 0
    check = step["search_check"]
    assert check["found_before_top10_by_former_user"] > 0  # the probe query can find them
    assert check["found_after_top200_by_former_user"] == 0
    assert check["restricted_found_top10_by_new_principal"] == 1  # restricted, not deleted


def test_latency_compares_http_with_in_process_search(reports: Path) -> None:
    data = load(reports, "latency")
    for side in ("http", "in_process", "server_took"):
        assert data[side]["n"] == 12
        assert 0 < data[side]["p50_ms"] <= data[side]["p95_ms"] <= data[side]["p99_ms"]
    assert data["statuses"] == {"200": 12}
    assert set(data["ratio_http_over_in_process"]) == {"p50_ms", "p95_ms", "p99_ms"}
    assert data["targets"][0]["name"] == "http_p95_ms"
    # the pattern view, every category and as free text, over HTTP on the same server
    patterns = data["patterns_http"]
    assert patterns["statuses"] == {"200": patterns["n"]}
    assert patterns["n"] == 3 * 2 * len(load_library().categories)
    assert [t["name"] for t in data["targets"]] == ["http_p95_ms", "patterns_http_p95_ms"]
    # concept queries with and without pseudo-relevance feedback, side by side in process
    feedback = data["feedback_side_by_side"]
    assert feedback["on"]["n"] == feedback["off"]["n"] == feedback["concept_queries"] > 0
    assert data["invariants"]["feedback_moves_every_concept_query_and_no_other"] is True


def test_embedding_compares_precisions_on_the_same_texts(reports: Path) -> None:
    data = load(reports, "embedding")
    assert data["parameters"]["texts"] == 16
    assert set(data["texts_per_s"]) == {"fp32", "bf16", "onnx", "openvino"}
    assert data["ratio_bf16_over_fp32"] > 0
    assert data["cosine_bf16_fp32"]["mean"] > 0.99
    assert data["ratio_onnx_over_fp32"] > 0
    assert data["cosine_onnx_fp32"]["min"] >= 0.9999
    assert data["ratio_openvino_over_fp32"] > 0
    assert data["cosine_openvino_fp32"]["min"] >= 0.9999


def test_lexical_times_both_bm25_paths_per_size_user_and_query_kind(reports: Path) -> None:
    data = load(reports, "lexical")
    assert data["invariants"] == {"see_everything_scores_equal_fts5_bm25": True}
    quick = bench.BenchConfig.quick()
    assert data["parameters"]["sizes"] == list(quick.lexical_sizes) == [300, 1000]
    assert set(data["sizes"]) == {"300", "1000"}
    for size, block in data["sizes"].items():
        assert block["records"] == int(size)
        assert block["chunks"] >= block["records"]
        assert block["queries"] == {"case": 20, "cross_case": 10}
        assert block["queries_with_near_groups"] > 0
        assert 0 < block["team_user_visible_chunk_share_mean"] < 1
        assert block["see_everything_unequal_queries"] == []
        assert set(block["users"]) == {"all", "team"}
        for part in block["users"].values():
            assert set(part) == {"all_queries", "case", "cross_case"}
            assert part["all_queries"]["old"]["n"] == 30
            for cell in part.values():
                for path in ("old", "new"):
                    timing = cell[path]
                    assert 0 < timing["p50_ms"] <= timing["p95_ms"] <= timing["max_ms"]
                assert set(cell["ratio_new_over_old"]) == {"p50_ms", "p95_ms"}
                assert set(cell["new_parts_p50_ms"]) == {"mask", "population", "bm25"}
                matched = cell["matched_chunks"]
                assert 0 <= matched["median"] <= matched["max"]
                assert matched["max"] <= cell["matched_chunks_index_wide"]["max"]
        users = block["users"]
        assert (
            users["team"]["all_queries"]["matched_chunks"]["max"]
            <= users["all"]["all_queries"]["matched_chunks"]["max"]
        )
    figures = json.loads((reports / "summary.json").read_text(encoding="utf-8"))
    quoted = figures["benchmarks"]["lexical"]["figures"]
    assert quoted["records"] == [300, 1000]
    for figure in ("new_p95_ms", "ratio_new_over_old_p50", "ratio_new_over_old_p95"):
        assert set(quoted[figure]) == {"all", "team"}
        assert all(len(per_size) == 2 for per_size in quoted[figure].values())


def test_lexical_fails_the_run_when_scores_differ_from_fts5(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def nudged(*args: Any, **kwargs: Any) -> list[tuple[int, int, float]]:
        return [(c, r, s * (1 + 1e-12)) for c, r, s in bm25_search(*args, **kwargs)]

    monkeypatch.setattr(lexical, "bm25_search", nudged)
    argv = ["--out", str(tmp_path / "out"), "--work", str(tmp_path / "work"), "--quick"]
    assert bench.main([*argv, "--only", "lexical", "--lexical-sizes", "100"]) == 1
    data = load(tmp_path / "out", "lexical")
    assert data["invariants"] == {"see_everything_scores_equal_fts5_bm25": False}
    assert data["sizes"]["100"]["see_everything_unequal_queries"]


def test_the_summary_quotes_every_benchmark(reports: Path) -> None:
    summary = json.loads((reports / "summary.json").read_text(encoding="utf-8"))
    assert set(summary["benchmarks"]) == set(bench.BENCHMARKS)
    assert summary["invariants_ok"] is True
    markdown = (reports / "summary.md").read_text(encoding="utf-8")
    assert all(f"## {name}" in markdown for name in bench.BENCHMARKS)


def test_scale_times_both_users_per_size_beside_the_baseline(reports: Path) -> None:
    data = load(reports, "scale")
    quick = bench.BenchConfig.quick()
    assert data["parameters"]["sizes_chunks"] == list(quick.scale_sizes)
    assert data["invariants"] == {
        "results_identical_to_baseline": True,
        "every_http_search_answered_200": True,
    }
    assert set(data["sizes"]) == {str(n) for n in quick.scale_sizes}
    for size, block in data["sizes"].items():
        assert block["chunks"] >= int(size) > block["chunks"] - data["base"]["chunks"]
        assert block["store_mib"] > 0
        assert block["build_s"] >= 0
        assert block["searches_differing_from_baseline"] == []
        # the same searches over HTTP, through the real server, each answered 200
        assert set(block["http"]["statuses"]) == {"200"}
        assert block["ratio_http_over_in_process_p95"]["case_qa"] > 0
        for side in ("current", "baseline", "http"):
            latency = block[side]["latency"]
            assert latency["case_qa"]["n"] == latency["case_team"]["n"] == quick.scale_case_queries
            assert latency["cross_case_qa"]["n"] == quick.scale_cross_queries
            assert latency["burst_whole"]["n"] == quick.scale_bursts
            for cell in latency.values():
                assert 0 < cell["p50_ms"] <= cell["p95_ms"] <= cell["max_ms"]
            assert block[side]["serving_rss_mib"] > 0
    markdown = (reports / "summary.md").read_text(encoding="utf-8")
    assert "| chunks | code |" in markdown
    assert "current, over HTTP" in markdown
    assert (reports / "scale.png").read_bytes().startswith(b"\x89PNG")


def test_access_judges_every_random_search_by_the_answer_key(reports: Path) -> None:
    data = load(reports, "access")
    assert data["searches"] == bench.BenchConfig.quick().access_searches == 300
    assert data["problems"] == 0, data["first_problems"]
    assert data["searches_with_an_allowed_marker_record"] >= 15
    assert 0 < data["p50_ms"] <= data["p95_ms"]


def test_understanding_times_every_query_and_the_worst_case_input(reports: Path) -> None:
    data = load(reports, "understanding")
    rounds = bench.BenchConfig.quick().understanding_rounds
    assert data["parameters"]["rounds"] == rounds
    assert data["queries"] == data["parameters"]["hand_written"] + data["parameters"]["generated"]
    assert data["parameters"]["generated"] >= 20
    assert 0 < data["p50_ms"] <= data["p95_ms"] <= data["max_ms"]
    assert data["long_input_median_ms"] > 0
    assert [t["name"] for t in data["targets"]] == [
        "understanding_mean_ms",
        "understanding_long_input_median_ms",
    ]
    summary = json.loads((reports / "summary.json").read_text(encoding="utf-8"))
    assert summary["benchmarks"]["understanding"]["figures"]["mean_ms"] == data["mean_ms"]


def test_load_measures_one_and_three_processes_on_the_scale_out_store(reports: Path) -> None:
    data = load(reports, "load")
    assert data["skipped_variants"] == {}  # the local PostgreSQL is there
    for name in ("default", "postgresql", "postgresql_three_workers"):
        rows = data["variants"][name]["rows"]
        assert [r["clients"] for r in rows] == [4, 16]
        assert all(r["errors"] == 0 and r["requests_per_s"] > 0 for r in rows)
    assert "CASESEARCH_WORKERS=3" in data["parameters"]["variants"]["postgresql_three_workers"]
    ratios = data["ratios"]["postgresql_three_workers_over_postgresql"]
    assert [r["clients"] for r in ratios] == [4, 16]
