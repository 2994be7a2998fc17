"""``kill -9`` of ``casesearch index`` at 21 points over three seeds, first builds and re-reads
(fail-safe issue, item 6).

Per seed: a first build of ``v1`` killed at three moments, then finished; then ``v1`` edited in
place into the seed's ``v2`` (an early line retyped, so the whole file is read again; ACLs
narrowed and moved, denies added, records tombstoned, lines removed, texts edited), killed at
four moments, then finished. After every kill:

(a) no record is stored with an access state (allow and deny lists, or absent) that neither
    the state before the sequence nor the file being indexed gives it: a reader can never see
    a record under rights that no one granted;
(b) after each finishing run, the store equals a clean uninterrupted build of the same file
    (records, hashes, permissions, chunks, FTS terms, vectors).

Kill moments are random (per seed) in the first 80 % of the window in which the store is
written: from the first change of the write-ahead log to the end of a clean build of the file,
narrowed to a run's length whenever a run finishes before its kill (cached runs and re-reads
are shorter). Embeddings come from a cache copied from the clean build, so the window is the
indexer's own work (hashing, chunking, SQL), not the model's; ``test_crash_safety.py`` kills
during embedding.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from factories import CASE_NOTE_PHRASES
from store_snapshot import store_snapshot

from retrieval.store import RecordStore

pytestmark = [pytest.mark.slow, pytest.mark.integration]

REPO = Path(__file__).resolve().parents[2]
SEEDS = (1, 2, 3)
FIRST_BUILD_KILLS = 3
REREAD_KILLS = 4
RECORDS = 150
STORE = "casesearch.sqlite3"
CACHE = "embedding-cache.sqlite3"
PHRASES = CASE_NOTE_PHRASES[:6]
# The access state of a record: (allow, deny), or None when it is not stored.
State = tuple[frozenset[str], frozenset[str]] | None


def _v1() -> list[dict[str, Any]]:
    rng = random.Random(99)
    return [
        {
            "id": f"KP-{i:04d}",
            "case_id": f"CASE-{i % 6}",
            "doc_type": "case_note",
            "title": f"Case note {i}",
            "text": " ".join(rng.choice(PHRASES) for _ in range(rng.randint(1, 4))) + f" Ref {i}.",
            "created_at": f"2024-{1 + i % 12:02d}-{1 + i % 27:02d}",
            "acl": [f"team:{i % 3}"],
            "deny": ["user:x"] if i % 10 == 0 else [],
        }
        for i in range(RECORDS)
    ]


def _v2(seed: int, v1: list[dict[str, Any]]) -> list[str]:
    """``v1`` edited in place, as an operator or a CMS export would: the seed picks which."""
    rng = random.Random(seed)
    records = [dict(r) for r in v1]
    records[1]["title"] = "Case note 1 (typo fixed)"  # an early line: the file is read again
    for r in rng.sample(records, 15):
        r["acl"] = [f"team:{(int(r['id'][3:]) + 1) % 3}"]  # moved to another team
    for r in rng.sample(records, 10):
        r["deny"] = sorted({*r["deny"], "user:y", f"team:{int(r['id'][3:]) % 3}"})
    for r in rng.sample(records, 8):
        r["text"] = f"{r['text']} Updated after the core group on day {seed}."
    removed = {r["id"] for r in rng.sample(records, 4)}
    lines = [json.dumps(r) for r in records if r["id"] not in removed]
    kept = [r["id"] for r in records if r["id"] not in removed]
    lines += [json.dumps({"id": rid, "deleted": True}) for rid in rng.sample(kept, 4)]
    return lines


def _net_states(lines: list[str]) -> dict[str, State]:
    states: dict[str, State] = {}
    for line in lines:
        value = json.loads(line)
        if value.get("deleted") is True:
            states[value["id"]] = None
        else:
            states[value["id"]] = (frozenset(value["acl"]), frozenset(value.get("deny", [])))
    return states


def _stored_states(data_dir: Path) -> dict[str, State]:
    """Every stored record's allow and deny lists, read as a searcher would."""
    if not (data_dir / STORE).exists():
        return {}
    store = RecordStore(data_dir / STORE)
    try:
        with store.snapshot() as conn:
            rows = conn.exec_driver_sql(
                "SELECT r.id, p.principal, p.effect FROM records r"
                " LEFT JOIN principals p ON p.record_pk = r.pk"
            ).all()
    finally:
        store.close()
    allow: dict[str, set[str]] = {}
    deny: dict[str, set[str]] = {}
    for rid, principal, effect in rows:
        allow.setdefault(rid, set())
        deny.setdefault(rid, set())
        if principal is not None:
            (deny if effect == "deny" else allow)[rid].add(principal)
    return {rid: (frozenset(allow[rid]), frozenset(deny[rid])) for rid in allow}


def _start(source: Path, data_dir: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASESEARCH_")}
    env.update(
        CASESEARCH_DATA_DIR=str(data_dir),
        CASESEARCH_PROGRESS="false",
        CASESEARCH_CHUNKING__MAX_WORDS="30",
        CASESEARCH_EMBEDDING__CACHE="true",
        TOKENIZERS_PARALLELISM="false",
    )
    with _log(data_dir).open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "app.cli", "index", "--source", f"jsonl:{source}"],
            env=env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def _log(data_dir: Path) -> Path:
    return data_dir.parent / f"{data_dir.name}.log"


def _wal_mark(data_dir: Path) -> tuple[int, int] | None:
    try:
        stat = (data_dir / f"{STORE}-wal").stat()
    except FileNotFoundError:
        return None
    return stat.st_mtime_ns, stat.st_size


def _run(source: Path, data_dir: Path, kill_after: float | None = None) -> tuple[bool, float]:
    """Index ``source`` into ``data_dir``; with ``kill_after``, SIGKILL it that many seconds
    after its first write to the store. Returns (killed, seconds from first write to exit)."""
    before = _wal_mark(data_dir)
    proc = _start(source, data_dir)
    first_write: float | None = None
    deadline = time.monotonic() + 600
    while proc.poll() is None and time.monotonic() < deadline:
        now = time.monotonic()
        if first_write is None and _wal_mark(data_dir) != before:
            first_write = now
        if first_write is not None and kill_after is not None and now - first_write >= kill_after:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
            return True, now - first_write
        time.sleep(0.002)
    code = proc.wait(timeout=60)
    assert code == 0, _log(data_dir).read_text(errors="replace")[-3000:]
    return False, time.monotonic() - (first_write or time.monotonic())


def _seed_cache(source_dir: Path, data_dir: Path) -> None:
    """Copy ``source_dir``'s embedding cache over ``data_dir``'s (whose stale journal, left by
    a killed run, must not be replayed onto the new file)."""
    for suffix in ("-wal", "-shm", "-journal"):
        (data_dir / f"{CACHE}{suffix}").unlink(missing_ok=True)
    shutil.copy(source_dir / CACHE, data_dir / CACHE)


def _assert_converged(got: dict[str, Any], expected: dict[str, Any]) -> None:
    assert got["records"] == expected["records"]
    assert got["principals"] == expected["principals"]
    assert got["chunks"] == expected["chunks"]
    assert got["orphans"] == expected["orphans"] == 0
    np.testing.assert_allclose(got["vectors"], expected["vectors"], atol=1e-5)


def _reset(data_dir: Path, state: Path | None, cache_from: Path) -> None:
    """Make ``data_dir`` hold the store ``state`` (None: no store) and ``cache_from``'s cache."""
    shutil.rmtree(data_dir, ignore_errors=True)
    if state is None:
        data_dir.mkdir()
    else:
        shutil.copytree(state, data_dir)
    _seed_cache(cache_from, data_dir)


def _crash_sequence(
    rng: random.Random,
    source: Path,
    data_dir: Path,
    lines: list[str],
    kills: int,
    window: float,
    *,
    start: Path | None,
    cache_from: Path,
    expected: dict[str, Any],
) -> tuple[int, float]:
    """Kill runs over ``source`` until ``kills`` runs were killed, checking rule (a) after each;
    a run that finishes first is checked against ``expected`` and the store set back to
    ``start``. Then one run finishes the job. Returns the kills and the (narrowed) window."""
    _reset(data_dir, start, cache_from)
    before = _stored_states(data_dir)
    after = _net_states(lines)
    killed = attempts = 0
    while killed < kills and attempts < 5 * kills:
        attempts += 1
        # within the first 80 % of the window, so that a run rarely finishes first
        was_killed, elapsed = _run(source, data_dir, kill_after=rng.uniform(0, 0.8 * window))
        for rid, now in _stored_states(data_dir).items():
            assert now in (before.get(rid), after.get(rid)), (
                f"{rid}: {now} is neither {before.get(rid)} nor {after.get(rid)}"
            )
        if was_killed:
            killed += 1
        else:  # it finished first: check it, narrow the window and start the sequence over
            _assert_converged(store_snapshot(data_dir / STORE), expected)
            window = min(window, elapsed)
            _reset(data_dir, start, cache_from)
    _run(source, data_dir)
    _assert_converged(store_snapshot(data_dir / STORE), expected)
    return killed, window


@pytest.mark.timeout(900)
def test_kill_9_at_twenty_one_points_keeps_rights_and_converges(tmp_path: Path) -> None:
    v1 = [json.dumps(r) for r in _v1()]
    source = tmp_path / "cms.jsonl"  # one path: the re-read is the same source edited in place
    source.write_text("\n".join(v1) + "\n", encoding="utf-8")
    clean_v1 = tmp_path / "clean-v1"
    # embeds for real; its cache serves every later run. Its length is the first kill window
    # (narrowed when a run finishes before its kill).
    _, window_v1 = _run(source, clean_v1)
    expected_v1 = store_snapshot(clean_v1 / STORE)

    total_kills = 0
    window_v2 = window_v1
    for seed in SEEDS:
        rng = random.Random(seed)
        crashed = tmp_path / f"crashed-{seed}"
        source.write_text("\n".join(v1) + "\n", encoding="utf-8")
        killed, window_v1 = _crash_sequence(
            rng, source, crashed, v1, FIRST_BUILD_KILLS, window_v1,
            start=None, cache_from=clean_v1, expected=expected_v1,
        )  # fmt: skip
        total_kills += killed

        # the clean reference for v2, built from empty with the v1 cache (edited texts embed)
        v2 = _v2(seed, _v1())
        source.write_text("\n".join(v2) + "\n", encoding="utf-8")
        clean_v2 = tmp_path / f"clean-v2-{seed}"
        _reset(clean_v2, None, clean_v1)
        _, built = _run(source, clean_v2)
        window_v2 = min(window_v2, built)
        expected_v2 = store_snapshot(clean_v2 / STORE)
        killed, window_v2 = _crash_sequence(
            rng, source, crashed, v2, REREAD_KILLS, window_v2,
            start=clean_v1, cache_from=clean_v2, expected=expected_v2,
        )  # fmt: skip
        total_kills += killed
        assert _stored_states(crashed) == {
            rid: s for rid, s in _net_states(v2).items() if s is not None
        }
    assert total_kills == len(SEEDS) * (FIRST_BUILD_KILLS + REREAD_KILLS)
