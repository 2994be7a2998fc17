"""Benchmark 6, council scale on one machine (issue 14): search latency against store size.

Stores of ``scale_sizes`` chunks are made from the synthetic generator without the model:
``scale_base_cases`` cases are generated and indexed once by the indexer itself (chunking and
lexical analysis unchanged), with a stand-in for vectors (random unit vectors seeded by each
chunk's text); bigger stores are copies of those cases under new case, record and person ids
(``RecordStore.insert_documents``), each copy given to one of ``TEAMS_PER_TEAM`` teams per
original team, so a team's social worker sees a small share of a big store, as in a council.
Stores are kept in ``scale_store_dir`` when one is given and reused while their recipe holds.

Each store is searched through the full ``HybridSearcher.search`` path (query understanding
on, the real query embedding) by ``scale_probe.py`` in a process of its own: per-case and
cross-case questions of the generator, as a QA officer who sees every record and as a team's
social worker, and results-as-you-type bursts (one search per word of a per-case question).
With ``scale_baseline`` (a git commit, or a folder holding a ``retrieval/`` package) the same
searches run in the same run on the same store with that ``retrieval/``: before and after side
by side, and every hit compared.

In the same run, the per-case and cross-case searches go through the peers of
``scale_peers.py`` (qdrant-edge-py: dense and sparse prefetch fused by RRF, the same filters;
rank-bm25: BM25 alone, up to ``scale_bm25_max_chunks``), each peer in a process of its own
over the same chunks and vectors; the product's latency over each peer's is the ratio reported.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from connectors.record import parse_record
from evaluation.bench.common import BenchConfig, BenchError, Json, rss_mib, target
from evaluation.bench.process import bearer_token, cli_env, server
from evaluation.metrics import percentile
from evaluation.synthetic import DEFAULT_TODAY, SyntheticQuery, build_collection
from indexer import Indexer
from retrieval.chunking import ChunkingConfig
from retrieval.embedding import Vectors
from retrieval.models import ChunkRow, Document, Subject
from retrieval.store import RecordStore

DIMENSION = 384  # all-MiniLM-L6-v2's
TEAMS_PER_TEAM = 10  # copies of one original team's cases are spread over this many teams
RECIPE_VERSION = 1  # bump when the way stores are made changes: kept stores are rebuilt
PROBE = Path(__file__).with_name("scale_probe.py")
PEERS_SCRIPT = Path(__file__).with_name("scale_peers.py")
PEER_CELLS = ("case_qa", "case_team", "cross_case_qa", "cross_case_team")
REPO = Path(__file__).resolve().parents[2]
QA = ("user:bench-qa", "role:qa")  # role:qa is in every synthetic ACL
# the figures (over HTTP there; in process here, which is the lower bound)
CASE_P95_MAX_MS = {100_000: 50.0, 1_000_000: 100.0}
CROSS_P95_MAX_MS = {100_000: 150.0, 1_000_000: 300.0}
CASE_GROWTH_MAX = 1.5  # per-case p95 at the largest store over the smallest


class StandInEmbedder:
    """Random unit vectors seeded by the text: the same text always gets the same vector."""

    fingerprint = "bench-scale-stand-in"
    dimension = DIMENSION

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        out = np.empty((len(texts), DIMENSION), dtype=np.float32)
        for row, text in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")
            vector = np.random.default_rng(seed).standard_normal(DIMENSION)
            out[row] = vector / np.linalg.norm(vector)
        return out


@dataclass(frozen=True, slots=True)
class _Base:
    """The generated cases as stored once: documents with their chunk rows, by case."""

    cases: dict[str, list[tuple[Document, list[ChunkRow]]]]
    teams: dict[str, str]  # case id → team principal
    questions: list[SyntheticQuery]

    @property
    def chunks(self) -> int:
        return sum(len(rows) for docs in self.cases.values() for _, rows in docs)


def _base(config: BenchConfig, folder: Path) -> tuple[_Base, Json]:
    """Generate and index the base cases (kept in ``folder`` while the recipe holds)."""
    recipe = json.dumps(
        {"v": RECIPE_VERSION, "seed": config.seed, "cases": config.scale_base_cases}
    )
    path = folder / f"scale-base-{_digest(recipe)}.db"
    collection = build_collection(
        seed=config.seed, n_cases=config.scale_base_cases, today=DEFAULT_TODAY
    )
    started = time.perf_counter()
    if not path.exists():
        scratch = path.with_suffix(".partial")
        for stale in folder.glob(f"{scratch.name}*"):
            stale.unlink()
        store = RecordStore(scratch)
        try:
            indexer = Indexer(store, StandInEmbedder(), ChunkingConfig(), batch_size=500)
            records = [parse_record(dict(d.record())) for d in collection.documents]
            indexer.apply(records, source="bench-scale")
            store.compact()
        finally:
            store.close()
        scratch.rename(path)
    index_s = time.perf_counter() - started
    store = RecordStore(path)
    try:
        with store.snapshot() as conn:
            pks = [pk for _, pk, _, _ in sorted(store.record_index(conn))]
            docs = store.documents_by_pk(conn, pks)
            rows = store.chunk_rows(conn, pks)
    finally:
        store.close()
    cases: dict[str, list[tuple[Document, list[ChunkRow]]]] = {}
    for pk in pks:
        doc = docs[pk]
        cases.setdefault(str(doc.case_id), []).append((doc, rows.get(pk, [])))
    teams = {c.case_id: f"team:{c.team}" for c in collection.cases}
    return _Base(cases, teams, list(collection.queries)), {"base_index_s": round(index_s, 1)}


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()


def _copy(doc: Document, copy: int, team: str) -> Document:
    """Document ``doc`` of copy ``copy`` (0: the original) under new ids and the copy's team."""
    if copy == 0:
        return doc
    tag = f"-{copy}"
    acl = tuple(p if not p.startswith("team:") else team for p in doc.acl)
    return replace(
        doc,
        id=doc.id + tag,
        case_id=None if doc.case_id is None else doc.case_id + tag,
        acl=acl,
        source_uri=None if doc.source_uri is None else doc.source_uri + tag,
        subjects=tuple(
            Subject(s.id + tag, s.name, s.role, s.other_names, s.dob) for s in doc.subjects
        ),
    )


def copy_team(team: str, copy: int) -> str:
    """The team principal copy ``copy`` of a case of ``team`` is given to."""
    return team if copy == 0 else f"{team}-{copy % TEAMS_PER_TEAM}"


def _store(config: BenchConfig, folder: Path, base: _Base, size: int) -> tuple[Path, Json]:
    """The store of ``size`` chunks (whole cases; kept in ``folder`` while the recipe holds)."""
    recipe = json.dumps(
        {"v": RECIPE_VERSION, "seed": config.seed, "cases": config.scale_base_cases, "n": size}
    )
    path = folder / f"scale-{size}-{_digest(recipe)}.db"
    info_path = path.with_suffix(".json")
    if path.exists() and info_path.exists():
        info: Json = json.loads(info_path.read_text(encoding="utf-8"))
        return path, {**info, "reused": True}
    for stale in folder.glob(f"{path.name}*"):
        stale.unlink()
    started = time.perf_counter()
    store = RecordStore(path)
    chunks = copies = 0
    try:
        while chunks < size:
            batch: list[tuple[Document, Sequence[ChunkRow]]] = []
            for case_id, docs in base.cases.items():
                if chunks >= size:
                    break
                team = copy_team(base.teams[case_id], copies)
                for doc, rows in docs:
                    batch.append((_copy(doc, copies, team), rows))
                    chunks += len(rows)
            with store.transaction() as conn:
                store.insert_documents(
                    conn, batch, source="bench-scale", generation=store.next_generation(conn)
                )
            copies += 1
        counts = store.counts()
    finally:
        store.close()
    info = {
        "chunks": counts["chunks"],
        "records": counts["records"],
        "copies_of_the_base": copies,
        "build_s": round(time.perf_counter() - started, 1),
        "store_mib": round(sum(p.stat().st_size for p in folder.glob(f"{path.name}*")) / 2**20),
    }
    info_path.write_text(json.dumps(info, sort_keys=True), encoding="utf-8")
    return path, {**info, "reused": False}


def build_store(config: BenchConfig, folder: Path, size: int) -> tuple[Path, Json]:
    """The store of ``size`` chunks the benchmark searches (built in ``folder``, or reused)."""
    base, _ = _base(config, folder)
    return _store(config, folder, base, size)


def _plan(
    config: BenchConfig, base: _Base, copies: int, size: int
) -> tuple[list[Json], list[Json]]:
    """Warm-up and measured searches: per-case questions on cases drawn over every whole copy,
    cross-case questions, both as the QA officer and as the case's (or a) team's worker; then
    one burst per drawn per-case question, as its team's worker."""
    rng = random.Random(f"bench-scale:{config.seed}")  # noqa: S311 - a reproducible draw
    held = set(_cases_held(base, size))
    case_questions = [q for q in base.questions if q.case_id in held]
    cross_questions = [q for q in base.questions if q.case_id is None]
    wanted = config.scale_case_queries + config.scale_warmup
    drawn = rng.sample(case_questions, min(wanted, len(case_questions)))
    crossed = rng.sample(cross_questions, min(config.scale_cross_queries, len(cross_questions)))
    searches: list[Json] = []
    for i, q in enumerate(drawn):
        copy = rng.randrange(copies)
        case_id = str(q.case_id) + ("" if copy == 0 else f"-{copy}")
        team = copy_team(base.teams[str(q.case_id)], copy)
        for user, principals in (("qa", QA), ("team", ("user:bench-sw", team))):
            searches.append(
                {"id": f"case-{i}-{user}", "kind": "case", "user": user, "text": q.text,
                 "case_id": case_id, "principals": list(principals)}
            )  # fmt: skip
        if i < config.scale_bursts:
            words = q.text.split()
            for n in range(1, len(words) + 1):
                searches.append(
                    {"id": f"burst-{i}-{n}", "kind": "burst", "user": "team", "burst": i,
                     "text": " ".join(words[:n]), "case_id": case_id,
                     "principals": ["user:bench-sw", team]}
                )  # fmt: skip
    teams = sorted(set(base.teams.values()))
    for i, q in enumerate(crossed):
        team = copy_team(teams[i % len(teams)], i % min(copies, TEAMS_PER_TEAM))
        for user, principals in (("qa", QA), ("team", ("user:bench-sw", team))):
            searches.append(
                {"id": f"cross-{i}-{user}", "kind": "cross_case", "user": user, "text": q.text,
                 "case_id": None, "principals": list(principals)}
            )  # fmt: skip
    warm_ids = {f"case-{i}-qa" for i in range(config.scale_case_queries, len(drawn))}
    warm_ids |= {f"case-{i}-team" for i in range(config.scale_case_queries, len(drawn))}
    warmup = [s for s in searches if s["id"] in warm_ids]
    measured = [s for s in searches if s["id"] not in warm_ids]
    return warmup, measured


def _cases_held(base: _Base, size: int) -> list[str]:
    """The base cases whose first copy is whole in a store of ``size`` chunks."""
    held, chunks = [], 0
    for case_id, docs in base.cases.items():
        if chunks >= size:
            break
        held.append(case_id)
        chunks += sum(len(rows) for _, rows in docs)
    return held


def _baseline_tree(commit: str, work: Path) -> Path:
    """``retrieval/`` of ``commit`` unpacked under ``work`` (git archive; nothing checked out),
    or ``commit`` itself when it names a folder holding a ``retrieval/`` package."""
    if (Path(commit) / "retrieval" / "__init__.py").exists():
        return Path(commit)
    tree = work / f"baseline-{commit[:12]}"
    if (tree / "retrieval").exists():
        return tree
    tree.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(  # noqa: S603 - fixed arguments and a commit the user named
        ["git", "archive", "--format=tar", commit, "retrieval"],  # noqa: S607 - git from PATH
        cwd=REPO,
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        raise BenchError(f"git archive {commit} failed: {archive.stderr.decode()[-500:]}")
    subprocess.run(  # noqa: S603 - tar of the archive just made
        ["tar", "-x", "-C", str(tree)],  # noqa: S607 - tar from PATH
        input=archive.stdout,
        check=True,
    )
    return tree


def _run_probe(
    store: Path, warmup: list[Json], searches: list[Json], code: Path, work: Path
) -> Json:
    """``scale_probe.py`` on ``store`` with ``code``'s ``retrieval`` package first on the path."""
    plan = work / "plan.json"
    out = work / "probe-out.json"
    plan.write_text(
        json.dumps({"store": str(store), "today": DEFAULT_TODAY.isoformat(), "warmup": warmup,
                    "searches": searches}),
        encoding="utf-8",
    )  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(code), str(REPO)])}
    env["TOKENIZERS_PARALLELISM"] = "false"
    done = subprocess.run(  # noqa: S603 - this interpreter and our own script
        [sys.executable, str(PROBE), str(plan), str(out)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"scale probe failed ({done.returncode}): {done.stderr[-2000:]}")
    result: Json = json.loads(out.read_text(encoding="utf-8"))
    return result


def _run_http(store: Path, warmup: list[Json], searches: list[Json], work: Path) -> Json:
    """The same searches through ``casesearch serve`` (default settings, one process) over
    HTTP, one request at a time: ``POST /v1/search`` with a signed token per user, as a client
    of the product sees it (authentication, audit, snippets and JSON included).

    The server opens the store through a link in a data folder of its own; it appends its
    audit events to the store, which changes no chunk, so a kept store stays valid."""
    import httpx

    data = work / "http-data"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    (data / "casesearch.sqlite3").symlink_to(store.resolve())
    env = cli_env(
        data,
        CASESEARCH_JWT_SECRET=secrets.token_urlsafe(32),
        CASESEARCH_LIMITS__RATE_LIMIT_PER_MINUTE="1000000",
    )
    tokens: dict[tuple[str, ...], str] = {}
    for search in [*warmup, *searches]:
        principals = tuple(search["principals"])
        if principals not in tokens:  # the server adds user:<sub> itself
            sub = principals[0].removeprefix("user:")
            tokens[principals] = bearer_token(env, sub, principals[1:])

    def ask(client: httpx.Client, search: Json) -> tuple[float, int]:
        body: Json = {"query": search["text"], "top_k": 10}
        if search["case_id"] is not None:
            body["case_id"] = search["case_id"]
        headers = {"Authorization": f"Bearer {tokens[tuple(search['principals'])]}"}
        started = time.perf_counter()
        response = client.post("/v1/search", json=body, headers=headers)
        return time.perf_counter() - started, response.status_code

    results: Json = {}
    statuses: dict[str, int] = {}
    with (
        server(env, work / "http-server.log") as (url, pid),
        httpx.Client(base_url=url, timeout=120) as client,
    ):
        rss = rss_mib("VmRSS", pid)
        for search in warmup:
            ask(client, search)
        for search in searches:
            seconds, status = ask(client, search)
            statuses[str(status)] = statuses.get(str(status), 0) + 1
            results[search["id"]] = {"seconds": seconds}
        peak = rss_mib("VmHWM", pid)
    return {"results": results, "statuses": statuses, "rss_ready_mib": rss, "peak_rss_mib": peak}


def _run_peer(peer: str, store: Path, warmup: list[Json], searches: list[Json], work: Path) -> Json:
    """``scale_peers.py`` for ``peer`` on ``store``, in a process of its own; a peer that fails
    is reported as such (``failed``), not fatal: the product's figures still stand."""
    folder = work / f"peer-{peer}"
    folder.mkdir(parents=True, exist_ok=True)
    plan, out = folder / "plan.json", folder / "out.json"
    plan.write_text(
        json.dumps({"store": str(store), "warmup": warmup, "searches": searches}),
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run(  # noqa: S603 - this interpreter and our own script
        [sys.executable, str(PEERS_SCRIPT), peer, str(plan), str(out)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return {"failed": f"exit {done.returncode}: {done.stderr[-1500:]}"}
    result: Json = json.loads(out.read_text(encoding="utf-8"))
    shutil.rmtree(folder / "qdrant-edge-shard", ignore_errors=True)
    return result


def _peer_side(searches: list[Json], result: Json) -> Json:
    """A peer's latency per kind and user (``_engine``: the engine's call alone; rank-bm25's
    ``_case_index``: per-case searches on an index of the case built at query time)."""
    if "failed" in result:
        return {"failed": result["failed"]}
    runs = result["results"]
    latency: Json = {}
    for kind in ("case", "cross_case"):
        for user in ("qa", "team"):
            ids = [s["id"] for s in searches if s["kind"] == kind and s["user"] == user]
            latency[f"{kind}_{user}"] = _ms([runs[i]["seconds"] for i in ids])
            if all("engine_seconds" in runs[i] for i in ids):
                latency[f"{kind}_{user}_engine"] = _ms([runs[i]["engine_seconds"] for i in ids])
            if kind == "case" and all("case_index_seconds" in runs[i] for i in ids):
                latency[f"case_{user}_case_index"] = _ms(
                    [runs[i]["case_index_seconds"] for i in ids]
                )
    keys = ("points", "build_s", "build_peak_rss_mib", "rss_after_build_mib",
            "serving_rss_mib", "peak_rss_mib")  # fmt: skip
    return {"latency": latency, **{k: result.get(k) for k in keys}}


def _peers(config: BenchConfig, store: Path, chunks: int, warmup: list[Json],
           searches: list[Json], work: Path) -> Json:  # fmt: skip
    """Each configured peer's side on ``store``: measured, or why it was skipped."""
    measured = [s for s in searches if s["kind"] != "burst"]
    out: Json = {}
    for peer in config.scale_peers:
        if peer == "rank_bm25" and chunks > config.scale_bm25_max_chunks:
            out[peer] = {
                "skipped": f"{chunks:,} chunks > scale_bm25_max_chunks "
                f"{config.scale_bm25_max_chunks:,}: rank-bm25 keeps a dict per chunk in Python "
                "and scores every chunk per query term"
            }
            continue
        print(f"bench: scale {chunks} chunks, peer {peer} …", file=sys.stderr, flush=True)
        out[peer] = _peer_side(measured, _run_peer(peer, store, warmup, measured, work))
    return out


def _peer_ratios(current: Json, peers: Json) -> Json:
    """The product's p50 and p95 over each measured peer's, per kind and user, with the query
    embedding on both sides or on neither: for qdrant_edge ``p50``/``p95`` are whole searches
    (both embed the query) and ``p50_engine``/``p95_engine`` the product less its embedding
    over the query call alone; rank-bm25 has no embedding, so its ``p50``/``p95`` are the
    product less its embedding over rank-bm25's search."""
    ours_with = current["latency"]
    ours_without = current.get("latency_without_query_embedding", {})
    out: Json = {}
    for peer, side in peers.items():
        if "latency" not in side:
            continue
        theirs = side["latency"]
        ratios: Json = {}
        for cell in PEER_CELLS:
            pairs = {"": (ours_without.get(cell), theirs.get(cell))}
            if peer == "qdrant_edge":
                pairs = {
                    "": (ours_with.get(cell), theirs.get(cell)),
                    "_engine": (ours_without.get(cell), theirs.get(f"{cell}_engine")),
                }
            figures: Json = {}
            for suffix, (ours, their) in pairs.items():
                if ours and their and ours.get("p95_ms") and their.get("p95_ms"):
                    for q in ("p50", "p95"):
                        figures[f"{q}{suffix}"] = round(ours[f"{q}_ms"] / their[f"{q}_ms"], 2)
            if figures:
                ratios[cell] = figures
        out[peer] = ratios
    return out


def _ms(seconds: Sequence[float]) -> Json:
    ms = [s * 1000 for s in seconds]
    if not ms:
        return {"n": 0}
    return {"n": len(ms), "p50_ms": round(percentile(ms, 50), 1),
            "p95_ms": round(percentile(ms, 95), 1), "max_ms": round(max(ms), 1)}  # fmt: skip


def _latencies(searches: list[Json], probe: Json) -> Json:
    """Per kind and user, the latency figures; bursts also as whole bursts."""
    seconds = {s["id"]: probe["results"][s["id"]]["seconds"] for s in searches}
    out: Json = {}
    for kind in ("case", "cross_case"):
        for user in ("qa", "team"):
            ids = [s["id"] for s in searches if s["kind"] == kind and s["user"] == user]
            out[f"{kind}_{user}"] = _ms([seconds[i] for i in ids])
    bursts: dict[int, list[float]] = {}
    for s in searches:
        if s["kind"] == "burst":
            bursts.setdefault(int(s["burst"]), []).append(seconds[s["id"]])
    out["burst_each_search"] = _ms([t for b in bursts.values() for t in b])
    out["burst_whole"] = _ms([sum(b) for b in bursts.values()])
    return out


def _without_embedding(searches: list[Json], probe: Json) -> Json:
    """Per kind and user, the latency less the seconds spent embedding the query."""
    runs = probe["results"]
    out: Json = {}
    for kind in ("case", "cross_case"):
        for user in ("qa", "team"):
            ids = [s["id"] for s in searches if s["kind"] == kind and s["user"] == user]
            out[f"{kind}_{user}"] = _ms(
                [runs[i]["seconds"] - runs[i].get("embed_seconds", 0.0) for i in ids]
            )
    return out


def _side(searches: list[Json], probe: Json) -> Json:
    return {
        "latency": _latencies(searches, probe),
        "latency_without_query_embedding": _without_embedding(searches, probe),
        "serving_rss_mib": probe["rss_after_warm_mib"],
        "peak_rss_mib": probe["peak_rss_mib"],
        "load_and_warm_s": probe["load_and_warm_s"],
        "people_directory": probe.get("people_directory") or {},
    }


def _differences(searches: list[Json], current: Json, baseline: Json) -> list[str]:
    """Searches whose hits (ids, scores, chunks) or totals differ between the two code trees."""
    out = []
    for s in searches:
        a, b = current["results"][s["id"]], baseline["results"][s["id"]]
        if a["hits"] != b["hits"] or a["total"] != b["total"]:
            out.append(s["id"])
    return out


def bench_scale(config: BenchConfig, work: Path) -> Json:
    """Build (or reuse) each store, then search it with this tree and with the baseline."""
    root = work / "scale"
    root.mkdir(parents=True, exist_ok=True)
    folder = Path(config.scale_store_dir) if config.scale_store_dir else root / "stores"
    folder.mkdir(parents=True, exist_ok=True)
    base, base_info = _base(config, folder)
    baseline = _baseline_tree(config.scale_baseline, root) if config.scale_baseline else None
    sizes: Json = {}
    unequal: list[str] = []
    refused: list[str] = []  # HTTP answers other than 200
    for size in config.scale_sizes:
        print(f"bench: scale {size} chunks …", file=sys.stderr, flush=True)
        path, info = _store(config, folder, base, size)
        whole = max(1, size // max(1, base.chunks))
        warmup, searches = _plan(config, base, min(whole, info["copies_of_the_base"]), size)
        block: Json = {**info, "searches": len(searches)}
        # alternate which code goes first, so that neither always meets a warmer page cache
        order = [("current", REPO), ("baseline", baseline)] if baseline else [("current", REPO)]
        if len(sizes) % 2 == 1:
            order.reverse()
        probes: Json = {}
        for name, code in order:
            assert code is not None
            probes[name] = _run_probe(path, warmup, searches, code, root)
            block[name] = _side(searches, probes[name])
        if baseline is not None:
            differing = _differences(searches, probes["current"], probes["baseline"])
            block["searches_differing_from_baseline"] = differing
            unequal += [f"{size}:{d}" for d in differing]
            block["ratio_current_over_baseline_p95"] = {
                cell: round(block["current"]["latency"][cell]["p95_ms"]
                            / block["baseline"]["latency"][cell]["p95_ms"], 3)
                for cell in block["current"]["latency"]
                if block["baseline"]["latency"][cell].get("p95_ms")
            }  # fmt: skip
        if config.scale_http:
            over_http = _run_http(path, warmup, searches, root)
            block["http"] = {
                "latency": _latencies(searches, over_http),
                "statuses": over_http["statuses"],
                "serving_rss_mib": over_http["rss_ready_mib"],
                "peak_rss_mib": over_http["peak_rss_mib"],
            }
            block["ratio_http_over_in_process_p95"] = {
                cell: round(figures["p95_ms"] / block["current"]["latency"][cell]["p95_ms"], 3)
                for cell, figures in block["http"]["latency"].items()
                if figures.get("p95_ms") and block["current"]["latency"][cell].get("p95_ms")
            }
            refused += [f"{size}:{s}" for s in over_http["statuses"] if s != "200"]
        if config.scale_peers:
            block["peers"] = _peers(config, path, int(info["chunks"]), warmup, searches, root)
            block["ratio_current_over_peers"] = _peer_ratios(block["current"], block["peers"])
        sizes[str(size)] = block
    invariants: Json = {}
    if baseline is not None:
        invariants["results_identical_to_baseline"] = not unequal
    if config.scale_http:
        invariants["every_http_search_answered_200"] = not refused
    return {
        "base": {"cases": len(base.cases), "chunks": base.chunks, **base_info},
        "sizes": sizes,
        "targets": _targets(sizes),
        "invariants": invariants,
        "parameters": {
            "sizes_chunks": list(config.scale_sizes),
            "baseline_commit": config.scale_baseline,
            "corpus": f"evaluation.synthetic, seed {config.seed}, {config.scale_base_cases} "
            f"cases indexed by the indexer with stand-in vectors (random unit vectors seeded by "
            f"the chunk's text), copied under new ids up to each size; copies of a team's "
            f"cases spread over {TEAMS_PER_TEAM} teams",
            "searches": f"{config.scale_case_queries} per-case questions (cases drawn over every "
            f"whole copy) and {config.scale_cross_queries} cross-case questions, each as the "
            f"QA officer (role:qa) and as a team's social worker; {config.scale_bursts} bursts "
            "(one search per word of a per-case question, as the case's team worker); "
            f"{config.scale_warmup} per-case questions per user first, unmeasured",
            "path": "HybridSearcher.search in a process of its own (scale_probe.py): query "
            "understanding on, the real query embedding (all-MiniLM-L6-v2), top_k 10",
            "http": "the same searches through casesearch serve (default settings, one "
            "process) over loopback HTTP, one at a time, POST /v1/search with a signed token "
            "per user; the server reads dates against its own clock (the probe against the "
            "generator's today); targets are read from these where measured",
            "serving_rss": "VmRSS after HybridSearcher.warm() (vectors, model, rules loaded)",
            "order": "per size, the baseline's process and this tree's one after the other on "
            "the same store, alternating which goes first; then each peer's",
            "peers": {
                "names": list(config.scale_peers),
                "bm25_max_chunks": config.scale_bm25_max_chunks,
                "qdrant_edge": "qdrant-edge-py EdgeShard in its own process over the store's "
                "chunks and stand-in vectors: dense (cosine, exact) and sparse (the product's "
                "stored terms, BM25 saturated term frequencies, IDF modifier with statistics "
                "over the caller's visible chunks) prefetch of 200 each, RRF k 20, top 10 "
                "chunks; filter: some principal in acl, none in deny, case_id for per-case "
                "(keyword index, is_tenant); timed: query embedding (the real model) + query "
                "terms + query, as the product's path includes its embedding; _engine cells: "
                "the query alone",
                "rank_bm25": "BM25Okapi (k1 1.2, b 0.75) over every chunk's stored terms, "
                "scored whole, the caller's scope and case applied to the scores, top 10; "
                "_case_index cells: an index over the case's visible chunks built per query "
                "(its build timed); no embedding, no dense side",
                "build_s": "reading the chunks from the store and indexing them",
            },
        },
    }


def _targets(sizes: Json) -> list[Json]:
    out = []
    for size, block in sizes.items():
        n = int(block["chunks"])
        # the figures are over HTTP; in process (the lower bound) where not measured
        latency = block.get("http", block["current"])["latency"]
        for limits, cell, kind in ((CASE_P95_MAX_MS, "case", "case"),
                                   (CROSS_P95_MAX_MS, "cross_case", "cross")):  # fmt: skip
            limit = limits.get(int(size))
            if limit is None:
                continue
            for user in ("qa", "team"):
                p95 = latency[f"{cell}_{user}"].get("p95_ms", float("inf"))
                out.append(target(f"{kind}_{user}_p95_ms_at_{n}_chunks", p95, limit))
    if len(sizes) >= 2:
        ordered = sorted(sizes.values(), key=lambda b: int(b["chunks"]))
        small = ordered[0].get("http", ordered[0]["current"])["latency"]
        large = ordered[-1].get("http", ordered[-1]["current"])["latency"]
        for user in ("qa", "team"):
            growth = large[f"case_{user}"]["p95_ms"] / small[f"case_{user}"]["p95_ms"]
            out.append(target(f"case_{user}_p95_largest_over_smallest", growth, CASE_GROWTH_MAX))
    return out
