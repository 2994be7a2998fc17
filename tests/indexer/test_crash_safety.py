"""kill -9 the indexer at random points; a rerun must give exactly the clean build's state."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from factories import CASE_NOTE_PHRASES
from store_snapshot import store_snapshot

pytestmark = [pytest.mark.slow, pytest.mark.integration]

REPO = Path(__file__).resolve().parents[2]
KILLS = 10
RECORDS = 200


def _records(n: int) -> list[dict[str, Any]]:
    rng = random.Random(11)
    phrases = CASE_NOTE_PHRASES[:6]
    out = []
    for i in range(n):
        sentences = [rng.choice(phrases) for _ in range(rng.randint(2, 12))]
        out.append(
            {
                "id": f"CR-{i:04d}",
                "case_id": f"CASE-{i % 7}",
                "doc_type": "case_note",
                "title": f"Case note {i}",
                "text": " ".join(sentences) + f" Reference {i}.",
                "created_at": f"2024-{1 + i % 12:02d}-{1 + i % 27:02d}",
                "acl": [f"team:{i % 3}"],
                "deny": ["user:x"] if i % 10 == 0 else [],
            }
        )
    return out


def _index(source: Path, data_dir: Path) -> subprocess.Popen[bytes]:
    """``casesearch index`` in its own process (the real model: no cache, no shortcuts)."""
    env = dict(os.environ)
    env.update(
        CASESEARCH_DATA_DIR=str(data_dir),
        CASESEARCH_PROGRESS="false",
        CASESEARCH_CHUNKING__MAX_WORDS="40",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "index", "--source", f"jsonl:{source}"],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.timeout(1500)
def test_kill_9_at_random_points_then_rerun_equals_a_clean_build(tmp_path: Path) -> None:
    source = tmp_path / "records.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in _records(RECORDS)) + "\n")

    clean = _index(source, tmp_path / "clean")
    assert clean.wait(timeout=900) == 0
    expected = store_snapshot(tmp_path / "clean" / "casesearch.sqlite3")

    rng = random.Random(2024)
    kills = sequences = 0
    while kills < KILLS:
        # one crash sequence: runs killed at random moments, then one run left to finish
        sequences += 1
        crashed = tmp_path / f"crashed-{sequences}"
        for _ in range(KILLS - kills):
            proc = _index(source, crashed)
            try:
                proc.wait(timeout=rng.uniform(2.0, 14.0))
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=60)
                kills += 1
                continue
            assert proc.returncode == 0
            break  # finished before the kill: the rest of this sequence would be no-ops
        final = _index(source, crashed)
        assert final.wait(timeout=900) == 0
        got = store_snapshot(crashed / "casesearch.sqlite3")
        assert got["records"] == expected["records"]
        assert got["principals"] == expected["principals"]
        assert got["chunks"] == expected["chunks"]
        assert got["orphans"] == expected["orphans"] == 0
        # the same text embedded in another batch may differ in the last float bits
        np.testing.assert_allclose(got["vectors"], expected["vectors"], atol=1e-5)
    assert kills >= KILLS
