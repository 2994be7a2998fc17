"""Benchmark 4, BM25 with statistics over the caller's records (``retrieval.lexical``) against
the SQL it replaced (FTS5's own ``bm25()``, index-wide statistics), query by query.

Stores are built without the embedding model: the indexer itself chunks and analyses the
synthetic records and writes them through ``RecordStore.upsert_document``, with all-zero vectors
(BM25 never reads them). For a caller who sees every record both paths must give the same
chunks with bit-identical scores; every run checks it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import Connection

from connectors.record import parse_record
from evaluation.bench.common import BenchConfig, Json, phase, synthetic_collection
from evaluation.metrics import percentile
from evaluation.synthetic import DEFAULT_TODAY, SyntheticQuery, people
from indexer import Indexer
from retrieval import analysis
from retrieval.access import candidate_clause, scope_masks
from retrieval.chunking import ChunkingConfig
from retrieval.dense import DenseIndex
from retrieval.embedding import Vectors
from retrieval.lexical import TermGroup, bm25_search, group_matches, match_expression
from retrieval.models import AccessScope, SearchFilters
from retrieval.search import _lexical_groups
from retrieval.store import RecordStore
from retrieval.understanding import understand

LIMIT = 200  # HybridSearcher's default candidates per list
DIMENSION = 384  # all-MiniLM-L6-v2's
SEE_ALL = AccessScope.of("user:bench-qa", "role:qa")  # role:qa is in every synthetic ACL
OLD_SQL = (
    "SELECT f.rowid, c.record_pk, -bm25(chunks_fts) AS score FROM chunks_fts f"
    " JOIN chunks c ON c.pk = f.rowid WHERE chunks_fts MATCH ? AND c.record_pk IN ({})"
    " ORDER BY score DESC, f.rowid LIMIT ?"
)
Hits = list[tuple[int, int, float]]


class _ZeroEmbedder:
    """All-zero vectors: the indexer runs unchanged, without loading the model."""

    fingerprint = "bench-zero-vectors"
    dimension = DIMENSION

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        return np.zeros((len(texts), DIMENSION), dtype=np.float32)


@dataclass(frozen=True, slots=True)
class _Query:
    text: str
    kind: str  # "case" or "cross_case"
    groups: list[TermGroup]
    filters: SearchFilters
    team: str


def _queries(
    config: BenchConfig, queries: Sequence[SyntheticQuery], teams: dict[str, str]
) -> list[_Query]:
    """A seeded draw of per-case queries on cases the store holds, then the cross-case ones."""
    rng = random.Random(f"bench-lexical:{config.seed}")  # noqa: S311 - a reproducible draw
    case = [q for q in queries if q.case_id is not None and q.case_id in teams]
    cross = [q for q in queries if q.case_id is None]
    chosen = rng.sample(case, min(config.lexical_case_queries, len(case)))
    chosen += rng.sample(cross, min(config.lexical_cross_queries, len(cross)))
    rng.shuffle(chosen)  # both kinds among the warm-up queries and throughout
    out: list[_Query] = []
    for i, q in enumerate(chosen):
        reading = understand(q.text, today=DEFAULT_TODAY, vocabulary=analysis.english_vocabulary)
        groups = _lexical_groups(reading)
        if match_expression(groups) is None:
            continue
        filters = SearchFilters(
            case_id=q.case_id, date_from=reading.date_from, date_to=reading.date_to
        )
        team = teams[q.case_id] if q.case_id else people.TEAMS[i % len(people.TEAMS)]
        out.append(_Query(q.text, "case" if q.case_id else "cross_case", groups, filters, team))
    return out


def _build(path: Path, records: Sequence[Json]) -> RecordStore:
    store = RecordStore(path)
    indexer = Indexer(store, _ZeroEmbedder(), ChunkingConfig(), batch_size=500)
    indexer.apply([parse_record(r) for r in records], source="bench-lexical")
    return store


def _ms(values: Sequence[float]) -> Json:
    ms = [v * 1000 for v in values]
    return {"n": len(ms), "p50_ms": round(percentile(ms, 50), 3),
            "p95_ms": round(percentile(ms, 95), 3), "max_ms": round(max(ms), 3)}  # fmt: skip


def _spread(values: Sequence[int]) -> Json:
    return {"median": percentile(values, 50), "max": max(values)}


def _cell(rows: Sequence[Json]) -> Json:
    old, new = _ms([r["old"] for r in rows]), _ms([r["new"] for r in rows])
    return {
        "old": old,
        "new": new,
        "ratio_new_over_old": {k: round(new[k] / old[k], 3) for k in ("p50_ms", "p95_ms")},
        "new_parts_p50_ms": {
            part: round(percentile([r[part] * 1000 for r in rows], 50), 3)
            for part in ("mask", "population", "bm25")
        },
        "matched_chunks": _spread([r["matched"] for r in rows]),
        "matched_chunks_index_wide": _spread([r["matched_index"] for r in rows]),
    }


def _cells(rows: Sequence[Json]) -> Json:
    """Over all queries, then per kind of query (case, cross_case) where there are some."""
    kinds = {k: [r for r in rows if r["kind"] == k] for k in ("case", "cross_case")}
    return {"all_queries": _cell(rows), **{k: _cell(v) for k, v in kinds.items() if v}}


class _Paths:
    """The two paths on one read snapshot of one store."""

    def __init__(self, store: RecordStore, conn: Connection) -> None:
        self.conn = conn
        self.dense = DenseIndex(DIMENSION)
        self.dense.sync(store, conn)

    def old(self, q: _Query, sql: str, params: list[object], times: Json) -> Hits:
        started = time.perf_counter()
        found = self.conn.exec_driver_sql(
            OLD_SQL.format(sql), (match_expression(q.groups), *params, LIMIT)
        ).all()
        times["old"].append(time.perf_counter() - started)
        return [(int(pk), int(record_pk), float(s)) for pk, record_pk, s in found]

    def new(
        self, q: _Query, scope: AccessScope, sql: str, params: list[object], times: Json
    ) -> Hits:
        t0 = time.perf_counter()
        visible, allowed = scope_masks(self.conn, scope, q.filters)
        t1 = time.perf_counter()
        population = self.dense.population(visible)
        in_scope = population.restrict(allowed)
        t2 = time.perf_counter()
        matches = group_matches(self.conn, q.groups)
        hits = bm25_search(self.conn, q.groups, matches, in_scope, population, LIMIT)
        t3 = time.perf_counter()
        for part, seconds in (("mask", t1 - t0), ("population", t2 - t1), ("bm25", t3 - t2)):
            times[part].append(seconds)
        times["new"].append(t3 - t0)
        times["share"] = [population.chunks / self.dense.size]
        return hits

    def measure(self, q: _Query, scope: AccessScope, repeats: int, first: int) -> tuple[Json, bool]:
        """Median seconds per path and part over ``repeats`` interleaved runs; equal results."""
        sql, params = candidate_clause(scope, q.filters)
        times: Json = {k: [] for k in ("old", "new", "mask", "population", "bm25")}
        equal = True
        for r in range(repeats):
            # alternate which path goes first, so that neither always meets a warmer cache
            if (first + r) % 2 == 0:
                equal &= self.old(q, sql, params, times) == self.new(q, scope, sql, params, times)
            else:
                equal &= self.new(q, scope, sql, params, times) == self.old(q, sql, params, times)
        row: Json = {k: percentile(v, 50) for k, v in times.items()}
        expression = match_expression(q.groups)
        row["matched"] = self.conn.exec_driver_sql(
            "SELECT count(*) FROM chunks_fts f JOIN chunks c ON c.pk = f.rowid"
            f" WHERE chunks_fts MATCH ? AND c.record_pk IN ({sql})",
            (expression, *params),
        ).scalar_one()
        row["matched_index"] = self.conn.exec_driver_sql(
            "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?", (expression,)
        ).scalar_one()
        return {"kind": q.kind, **row}, equal


def _size(config: BenchConfig, root: Path, size: int, phases: dict[str, Json]) -> Json:
    with phase(phases, f"build_{size}"):
        collection, records = synthetic_collection(size, seed=config.seed, today=DEFAULT_TODAY)
        kept = {str(r["case_id"]) for r in records}
        teams = {c.case_id: c.team for c in collection.cases if c.case_id in kept}
        root.mkdir(parents=True, exist_ok=True)
        store = _build(root / "store.db", records)
    queries = _queries(config, collection.queries, teams)
    rows: dict[str, list[Json]] = {"all": [], "team": []}
    unequal: list[str] = []
    try:
        with phase(phases, f"measure_{size}"), store.snapshot() as conn:
            paths = _Paths(store, conn)
            chunks = paths.dense.size
            for i, q in enumerate([*queries[: config.lexical_warmup], *queries]):
                team = AccessScope.of("user:bench-sw", f"team:{q.team}")
                for user, scope in (("all", SEE_ALL), ("team", team)):
                    row, equal = paths.measure(q, scope, config.lexical_repeats, i)
                    if i >= config.lexical_warmup:
                        rows[user].append(row)
                        if user == "all" and not equal:
                            unequal.append(q.text)
    finally:
        store.close()
    return {
        "records": len(records),
        "chunks": chunks,
        "cases": len(teams),
        "queries": {k: sum(q.kind == k for q in queries) for k in ("case", "cross_case")},
        "queries_with_near_groups": sum(any(len(g) > 1 for g in q.groups) for q in queries),
        "team_user_visible_chunk_share_mean": round(
            sum(r["share"] for r in rows["team"]) / max(1, len(rows["team"])), 3
        ),
        "users": {user: _cells(user_rows) for user, user_rows in rows.items()},
        "see_everything_unequal_queries": unequal,
    }


def bench_lexical(config: BenchConfig, work: Path) -> Json:
    """Old (FTS5 ``bm25()``) and new (scoped ``bm25_search``) BM25, side by side per size."""
    phases: dict[str, Json] = {}
    sizes = {
        str(n): _size(config, work / "lexical" / str(n), n, phases) for n in config.lexical_sizes
    }
    unequal = sum(len(s["see_everything_unequal_queries"]) for s in sizes.values())
    return {
        "phases": phases,
        "sizes": sizes,
        "parameters": {
            "sizes": list(config.lexical_sizes),
            "corpus": f"evaluation.synthetic, seed {config.seed}, today {DEFAULT_TODAY}; stores "
            "built by the indexer (default chunking) with zero vectors, no model",
            "queries": f"per size: {config.lexical_case_queries} per-case queries drawn (seeded) "
            f"from the cases held, up to {config.lexical_cross_queries} cross-case QA queries; "
            "read by retrieval.understanding, groups as retrieval.search._lexical_groups "
            "(scope-common groups are not dropped), date phrases as filters",
            "users": "all: role:qa, sees every record; team: one team's social worker (the "
            "case's team for a per-case query, teams in turn for cross-case queries)",
            "old": "one SQL: -bm25(chunks_fts), index-wide statistics, MATCH and candidates, "
            f"ORDER BY score DESC, rowid LIMIT {LIMIT}",
            "new": "scope_masks (visibility, and filters when filtered) + DenseIndex.population "
            f"+ restrict + group_matches + bm25_search(limit={LIMIT}), as retrieval/search.py;"
            " parts timed as mask, population, bm25",
            "order": f"per query and user, the median of {config.lexical_repeats} runs of each "
            "path back to back, alternating which goes first, every run's results compared; "
            f"the first {config.lexical_warmup} queries run once more, unmeasured, before; one "
            "read snapshot per size, DenseIndex synced once before timing",
            "matched_chunks": "candidate chunks matching the query; index-wide: all chunks",
        },
        "targets": [],
        "invariants": {"see_everything_scores_equal_fts5_bm25": unequal == 0},
    }
