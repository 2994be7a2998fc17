"""Parallel indexers (scale-out issue, item 4): ``casesearch index --shard K/N``.

N processes with K = 1 … N split one source by a hash of the record id: together they index
every record once, each by exactly one of them, whatever order they run in; an edit or a
deletion is picked up by the shard that owns the record; every version of a record goes to
that one shard, so no process can apply an older version after another applied a newer one
(the revocation-monotonic rule); and a shard killed with ``SIGKILL`` mid-run and run again
leaves no record lost or doubled.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from factories import CASE_NOTE_PHRASES
from hypothesis import given, settings
from hypothesis import strategies as st
from pg_schema import postgresql_schema

from connectors.base import Checkpoint, Connector, Failure, SourceItem
from connectors.jsonl import JsonlConnector
from connectors.record import Record, Tombstone, parse_record
from indexer import Indexer, IndexSummary
from indexer.pipeline import Shard, shard_of
from retrieval.chunking import ChunkingConfig
from retrieval.embedding import Embedder
from retrieval.models import AccessScope, SearchRequest
from retrieval.search import HybridSearcher
from retrieval.store import RecordStore

REPO = Path(__file__).resolve().parents[2]
CHUNKING = ChunkingConfig(max_words=80, overlap_sentences=1)
PHRASES = CASE_NOTE_PHRASES
VOCABULARY = sorted({w.strip(".;,'%").lower() for p in PHRASES for w in p.split()} - {""})
QUERIES = ("withheld number", "attendance at school", "safety plan signed", "baby weight")


def _records(n: int, seed: int = 5) -> list[dict[str, Any]]:
    """Records of words drawn from ``PHRASES``, record ``i`` ``6 + i % 60`` words long, so that
    few pairs can tie on BM25: a tie is broken by row number, and shards number rows in
    another order than one run does (these seeds have none)."""
    rng = random.Random(seed)
    return [
        {
            "id": f"SH-{i:04d}",
            "case_id": f"CASE-{i % 5}",
            "doc_type": "case_note",
            "title": f"Case note {i}",
            "text": " ".join(rng.choices(VOCABULARY, k=6 + i % 60)) + ".",
            "created_at": f"2024-{1 + i % 12:02d}-{1 + i % 27:02d}",
            "acl": [f"team:{i % 3}"],
            "deny": ["user:x"] if i % 7 == 0 else [],
        }
        for i in range(n)
    ]


def _write(path: Path, lines: Iterable[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


@contextmanager
def _store_beside(store: RecordStore, tmp_path: Path, name: str) -> Iterator[RecordStore]:
    """A second, empty store on ``store``'s backend (for an unsharded reference run)."""
    if store.postgresql:
        with postgresql_schema() as url:
            other = RecordStore(url)
            try:
                yield other
            finally:
                other.close()
        return
    other = RecordStore(tmp_path / f"{name}.sqlite3")
    try:
        yield other
    finally:
        other.close()


def _contents(store: RecordStore) -> dict[str, Any]:
    """What a reader can tell of the store: records with hashes and permissions, and chunks per
    record (ordinal and span), each listed once per row the store holds."""
    with store.snapshot() as conn:
        records = conn.exec_driver_sql(
            "SELECT id, content_hash, acl_hash, source FROM records ORDER BY id"
        ).all()
        chunks = conn.exec_driver_sql(
            "SELECT r.id, c.ordinal, c.char_start, c.char_end FROM chunks c"
            " JOIN records r ON r.pk = c.record_pk ORDER BY 1, 2"
        ).all()
    return {"records": [tuple(r) for r in records], "chunks": [tuple(c) for c in chunks]}


def _results(store: RecordStore, embedder: Embedder) -> dict[str, list[tuple[str, float]]]:
    """Each query's hits in each mode as (id, score), by score and then id (two records can
    tie on a fused score, a sum of reciprocal ranks, and a tie is broken by row number)."""
    searcher = HybridSearcher(store, embedder)
    scope = AccessScope.of("team:0", "team:1", "team:2")
    out: dict[str, list[tuple[str, float]]] = {}
    for query in QUERIES:
        for mode in ("bm25", "dense", "hybrid"):
            request = SearchRequest(query, scope, mode=mode, top_k=50, understand=False)
            hits = [(h.document_id, round(h.score, 6)) for h in searcher.search(request).hits]
            assert hits
            out[f"{mode}: {query}"] = sorted(hits, key=lambda hit: (-hit[1], hit[0]))
    return out


def _run_shards(
    indexer: Indexer, source: Path, count: int, order: Sequence[int] | None = None
) -> list[IndexSummary]:
    return [
        indexer.run(JsonlConnector(source, checkpoint_every=7), shard=Shard(k, count))
        for k in (order or range(1, count + 1))
    ]


# -- the shard itself --------------------------------------------------------------------------


def test_shard_argument_is_validated_with_a_clear_reason() -> None:
    assert Shard.parse("2/3") == Shard(2, 3)
    assert Shard.parse(" 1 / 1 ") == Shard(1, 1)
    for text, reason in [
        ("0/2", "1 ≤ K ≤ N"),
        ("3/2", "1 ≤ K ≤ N"),
        ("1/0", "1 ≤ K ≤ N"),
        ("1", "written K/N"),
        ("a/b", "written K/N"),
        ("-1/2", "written K/N"),
    ]:
        with pytest.raises(ValueError, match=re.escape(reason)):
            Shard.parse(text)


def test_cli_refuses_a_bad_shard_before_opening_anything(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASESEARCH_")}
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "index", "--source", "jsonl:x.jsonl", "--shard", "3/2"],
        env={**env, "CASESEARCH_DATA_DIR": str(tmp_path / "data")},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "argument --shard: a shard is K/N with 1 ≤ K ≤ N" in done.stderr
    assert not (tmp_path / "data").exists()


def test_shard_of_a_record_is_a_fixed_function_of_its_id() -> None:
    """SHA-256 of the id, never Python's salted ``hash``: these values hold in every process
    (a change to them moves records between shards of a running deployment)."""
    assert [shard_of(f"REC-{i:05d}", 4) for i in range(1, 9)] == [2, 3, 1, 4, 3, 2, 1, 2]


@settings(max_examples=200, deadline=None)
@given(
    ids=st.sets(
        # any text, lone surrogates included (an id the store would refuse still has a shard)
        st.text(st.characters() | st.characters(categories=["Cs"]), min_size=1),
        max_size=60,
    ),
    count=st.integers(1, 9),
)
def test_shards_partition_any_set_of_ids(ids: set[str], count: int) -> None:
    shards = [Shard(k, count) for k in range(1, count + 1)]
    owners = {rid: [s.number for s in shards if s.owns(rid)] for rid in ids}
    assert all(len(owned) == 1 for owned in owners.values())  # exactly one shard each
    parts = [{rid for rid in ids if s.owns(rid)} for s in shards]
    assert set().union(*parts) == ids
    assert sum(map(len, parts)) == len(ids)


# -- on both backends --------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("count", [2, 3])
def test_shards_together_index_each_record_once_as_one_run_does(
    store: RecordStore, embedder: Embedder, tmp_path: Path, count: int
) -> None:
    source = _write(tmp_path / "cms.jsonl", _records(40))
    sharded = Indexer(store, embedder, CHUNKING, batch_size=5)
    summaries = _run_shards(sharded, source, count, order=range(count, 0, -1))
    with _store_beside(store, tmp_path, "reference") as reference:
        whole = Indexer(reference, embedder, CHUNKING).run(JsonlConnector(source))
        assert whole.added == 40
        assert sum(s.added for s in summaries) == 40  # each record added by one shard
        assert all(0 < s.added < 40 for s in summaries)  # and each shard did a share
        assert _contents(store) == _contents(reference)
        assert _results(store, embedder) == _results(reference, embedder)
    assert store.counts()["records"] == 40
    keys = {row["source"] for row in store.source_status()}
    assert {Shard(k, count).key(f"jsonl:{source.resolve()}") for k in range(1, count + 1)} <= keys
    # a second round finds nothing to do in any shard
    again = _run_shards(sharded, source, count)
    assert [(s.added, s.updated, s.deleted, s.chunks_embedded) for s in again] == [
        (0, 0, 0, 0)
    ] * count


@pytest.mark.slow
def test_an_edit_and_deletions_are_picked_up_by_the_owning_shard(
    store: RecordStore, embedder: Embedder, tmp_path: Path
) -> None:
    records = _records(30)
    by_shard = {k: [r["id"] for r in records if shard_of(r["id"], 2) == k] for k in (1, 2)}
    edited, removed = by_shard[1][3], by_shard[2][2]  # in different shards
    tombstoned = by_shard[2][5]
    source = _write(tmp_path / "cms.jsonl", records)
    indexer = Indexer(store, embedder, CHUNKING, batch_size=4)
    _run_shards(indexer, source, 2)

    v2 = [
        {**r, "text": "The core group agreed a new plan with the school."}
        if r["id"] == edited
        else r
        for r in records
        if r["id"] != removed
    ]
    _write(source, [*v2, {"id": tombstoned, "deleted": True}])
    second = indexer.run(JsonlConnector(source), shard=Shard(2, 2))
    assert (second.updated, second.deleted) == (0, 2)  # the removed and the tombstoned
    old = _records(30)[int(edited[3:])]
    document = store.document(edited)
    assert document is not None
    assert document.text == old["text"]
    first = indexer.run(JsonlConnector(source), shard=Shard(1, 2))
    assert (first.updated, first.deleted, first.chunks_embedded) == (1, 0, 1)
    document = store.document(edited)
    assert document is not None
    assert document.text.startswith("The core group")
    assert store.document(removed) is None
    assert store.document(tombstoned) is None

    with _store_beside(store, tmp_path, "reference") as reference:
        Indexer(reference, embedder, CHUNKING).run(JsonlConnector(source))
        assert _contents(store) == _contents(reference)


@pytest.mark.slow
def test_a_failure_is_recorded_by_one_shard(
    store: RecordStore, embedder: Embedder, tmp_path: Path
) -> None:
    records = _records(12)
    source = tmp_path / "cms.jsonl"
    lines = [json.dumps(r) for r in records]
    lines[4] = '{"id": "broken", "text": '  # not JSON: a failure named by file and line
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    indexer = Indexer(store, embedder, CHUNKING)
    summaries = _run_shards(indexer, source, 2)
    ref = f"{source}:5"
    owner = shard_of(ref, 2)
    assert [s.failed for s in summaries] == [1 if k == owner else 0 for k in (1, 2)]
    assert [f.source_ref for f in store.failures(f"jsonl:{source.resolve()}")] == [ref]
    assert store.counts()["records"] == 11


@dataclass
class _Reporting(Connector):
    """A source that reports every unresolved failure on every run (as ``files:`` does)."""

    failing: list[str]

    scheme = "reporting"
    checkpoint_type = JsonlConnector.checkpoint_type
    reports_failures_every_run = True

    @property
    def source_id(self) -> str:
        return "reporting:test"

    def initial_checkpoint(self) -> Checkpoint:
        return self.checkpoint_type()

    def fetch(self, checkpoint: Checkpoint) -> Iterator[SourceItem]:
        yield from (Failure(ref, "cannot read the file") for ref in self.failing)
        yield self.checkpoint_type()

    def list_ids(self) -> Iterable[str]:
        return []


def test_a_shard_clears_only_its_own_resolved_failures(
    store: RecordStore, embedder: Embedder
) -> None:
    refs = [f"folder/letter-{i}.docx" for i in range(12)]
    owned = {k: {ref for ref in refs if shard_of(ref, 2) == k} for k in (1, 2)}
    assert owned[1]
    assert owned[2]
    indexer = Indexer(store, embedder, CHUNKING)
    for k in (1, 2):
        assert indexer.run(_Reporting(refs), shard=Shard(k, 2)).failed == len(owned[k])
    assert {f.source_ref for f in store.failures("reporting:test")} == set(refs)

    # every file is readable again; shard 1 runs first and must not clear shard 2's failures
    assert indexer.run(_Reporting([]), shard=Shard(1, 2)).resolved == len(owned[1])
    assert {f.source_ref for f in store.failures("reporting:test")} == owned[2]
    assert indexer.run(_Reporting([]), shard=Shard(2, 2)).resolved == len(owned[2])
    assert store.failures("reporting:test") == []


@dataclass
class _Log(Connector):
    """A CMS change log: every version of every record, in order, a checkpoint after each."""

    items: list[Record | Tombstone]

    scheme = "log"
    checkpoint_type = JsonlConnector.checkpoint_type

    @property
    def source_id(self) -> str:
        return "log:test"

    def initial_checkpoint(self) -> Checkpoint:
        return self.checkpoint_type()

    def fetch(self, checkpoint: Checkpoint) -> Iterator[SourceItem]:
        for number, item in enumerate(self.items, start=1):
            yield item
            yield self.checkpoint_type(offset=number, line=number)

    def list_ids(self) -> Iterable[str]:
        last: dict[str, bool] = {}
        for item in self.items:
            last[item.id] = isinstance(item, Record)
        return [rid for rid, present in last.items() if present]


class _Recording(Indexer):
    """An indexer that notes the records and tombstones it applies, in order."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.applied: list[Record | Tombstone] = []

    def _apply(self, items: Sequence[Record | Tombstone | Failure], *a: Any, **kw: Any) -> None:
        self.applied.extend(i for i in items if isinstance(i, Record | Tombstone))
        super()._apply(items, *a, **kw)


@pytest.mark.slow
def test_every_version_of_a_record_goes_to_one_shard_in_source_order(
    store: RecordStore, embedder: Embedder
) -> None:
    """The revocation-monotonic rule across processes: were a record's versions split between
    shards, one process could apply a broader, older ACL after another applied the narrowed
    one. Every version (shared, narrowed, tombstoned, restored) reaches the same shard, in the
    log's order, so the last version applied is the log's last word on the record."""
    rng = random.Random(3)
    base = [parse_record(r) for r in _records(8)]
    log: list[Record | Tombstone] = []
    for _ in range(40):
        record = rng.choice(base)
        kind = rng.random()
        if kind < 0.2:
            log.append(Tombstone(record.id))
        else:
            teams = rng.sample(["team:0", "team:1", "team:2", "team:3"], rng.randint(1, 3))
            deny = ("user:x",) if kind > 0.8 else ()
            log.append(parse_record({**record.to_json(), "acl": teams, "deny": list(deny)}))
    indexers = {k: _Recording(store, embedder, CHUNKING) for k in (1, 2)}
    for k, indexer in indexers.items():
        indexer.run(_Log(log), shard=Shard(k, 2))
    for rid in {item.id for item in log}:
        versions = [item for item in log if item.id == rid]
        seen_by = [k for k, ix in indexers.items() if any(i.id == rid for i in ix.applied)]
        assert len(seen_by) == 1, f"{rid} was applied by shards {seen_by}"
        applied = [i for i in indexers[seen_by[0]].applied if i.id == rid]
        assert applied == versions  # all of them, in the log's order
        last = versions[-1]
        document = store.document(rid)
        if isinstance(last, Tombstone):
            assert document is None
        else:
            assert document is not None
            assert (sorted(document.acl), sorted(document.deny)) == (
                sorted(last.acl),
                sorted(last.deny),
            )


# -- processes on PostgreSQL -------------------------------------------------------------------


def _start(source: Path, shard: str, url: str, data_dir: Path, log: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASESEARCH_")}
    env.update(
        CASESEARCH_DATA_DIR=str(data_dir),
        CASESEARCH_DATABASE_URL=url,
        CASESEARCH_PROGRESS="false",
        CASESEARCH_CHUNKING__MAX_WORDS="30",
        TOKENIZERS_PARALLELISM="false",
    )
    command = [sys.executable, "-m", "app.cli", "index", "--source", f"jsonl:{source}"]
    with log.open("w") as out:  # the child keeps its own descriptor
        return subprocess.Popen(
            [*command, "--shard", shard],
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )


def _stored_ids(store: RecordStore) -> list[str]:
    with store.engine.connect() as conn:
        return [str(r[0]) for r in conn.exec_driver_sql("SELECT id FROM records")]


def _finish(process: subprocess.Popen[str], log: Path) -> str:
    code = process.wait(timeout=600)
    text = log.read_text(errors="replace")
    assert code == 0, text[-3000:]
    return text


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.timeout(900)
@pytest.mark.parametrize("kill_after", ["first batch", "first checkpoint"])
def test_two_shard_processes_one_killed_and_rerun_lose_and_double_nothing(
    tmp_path: Path, kill_after: str
) -> None:
    """Shard 1 is killed once it has committed a batch (no checkpoint yet: the rerun reads the
    file from the start) or once it has committed its checkpoint at line 200 (the rerun reads
    from there), while shard 2 runs beside it."""
    records = _records(400, seed=11)
    source = _write(tmp_path / "cms.jsonl", records)
    share = {k: {r["id"] for r in records if shard_of(r["id"], 2) == k} for k in (1, 2)}
    key = Shard(1, 2).key(f"jsonl:{source.resolve()}")
    with postgresql_schema() as url:
        store = RecordStore(url)
        try:
            logs = {k: tmp_path / f"shard-{k}.log" for k in (1, 2)}
            processes = {
                k: _start(source, f"{k}/2", url, tmp_path / f"data-{k}", logs[k]) for k in (1, 2)
            }
            # SIGKILL shard 1 at that moment, before it has finished
            deadline = time.monotonic() + 600
            committed: set[str] = set()
            while time.monotonic() < deadline and processes[1].poll() is None:
                committed = set(_stored_ids(store)) & share[1]
                if committed if kill_after == "first batch" else store.get_checkpoint(key):
                    processes[1].send_signal(signal.SIGKILL)
                    break
                time.sleep(0.02)
            assert processes[1].wait(timeout=60) == -signal.SIGKILL, "shard 1 finished first"
            _finish(processes[2], logs[2])
            at_kill = set(_stored_ids(store)) & share[1]
            assert committed
            assert committed <= at_kill < share[1]
            checkpoint = json.loads(store.get_checkpoint(key) or "{}")
            assert checkpoint.get("line", 0) == (0 if kill_after == "first batch" else 200)

            rerun = _start(source, "1/2", url, tmp_path / "data-1", logs[1])
            out = _finish(rerun, logs[1])
            summary = re.search(r"\(shard 1/2\): added (\d+), updated (\d+), unchanged (\d+)", out)
            assert summary is not None, out
            added, updated, unchanged = map(int, summary.groups())
            # the rerun indexes only what the killed run had not committed, and reads its own
            # shard's records from its own checkpoint on
            assert (added, updated) == (len(share[1] - at_kill), 0)
            after_checkpoint = {r["id"] for r in records[checkpoint.get("line", 0) :]} & share[1]
            assert added + unchanged == len(after_checkpoint)

            with store.snapshot() as conn:
                rows = conn.exec_driver_sql("SELECT id, content_hash FROM records").all()
                chunk_rows, distinct_chunks, bare = conn.exec_driver_sql(
                    "SELECT count(*), count(DISTINCT (record_pk, ordinal)),"
                    " (SELECT count(*) FROM records r WHERE NOT EXISTS"
                    "  (SELECT 1 FROM chunks c WHERE c.record_pk = r.pk))"
                    " FROM chunks"
                ).one()
            expected = {r["id"]: parse_record(r).content_hash() for r in records}
            assert len(rows) == len({rid for rid, _ in rows}) == len(expected)  # 0 doubled
            assert dict(rows) == expected  # 0 lost, each as the source has it
            assert chunk_rows == distinct_chunks
            assert bare == 0
            assert store.lexical_chunks() == store.counts()["chunks"]
            assert store.failures() == []
        finally:
            store.close()
