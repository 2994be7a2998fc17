"""``casesearch eval synthetic``: the tuning and the held-out phrasings over one index."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from app import cli
from app.settings import Settings
from evaluation.synthetic.queries import HELD_OUT_CASE_PHRASINGS

pytestmark = pytest.mark.slow

NAME = "synthetic-seed7-cases2-2025-06-30"


def _evaluate(tmp_path: Path, *extra: str) -> dict[str, Any]:
    tag = "-".join(extra) or "tuning"
    report = tmp_path / f"{tag}.json"
    argv = ["eval", "synthetic", "--cases", "2", "--mode", "bm25", *extra]
    argv += ["--run-out", str(tmp_path / f"{tag}.run"), "--report-out", str(report)]
    assert cli.main(argv) == 0
    data: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    return data


def _texts(path: Path) -> list[str]:
    return [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines()]


def test_held_out_phrasings_ask_the_same_records_in_other_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir, jwt_secret=SecretStr("x" * 32), progress=False)
    monkeypatch.setattr(cli, "get_settings", lambda: settings)

    tuning = _evaluate(tmp_path)
    held_out = _evaluate(tmp_path, "--phrasings", "held-out")

    sources = data_dir / "eval" / "sources"
    plain, reworded = sources / NAME, sources / f"{NAME}-phrasings-held-out"
    assert (plain / "corpus.jsonl").read_bytes() == (reworded / "corpus.jsonl").read_bytes()
    wordings = {t.lower() for texts in HELD_OUT_CASE_PHRASINGS.values() for t in texts}
    asked = _texts(reworded / "queries.jsonl")
    assert set(asked) != set(_texts(plain / "queries.jsonl"))
    assert {t.lower() for t in asked} & wordings  # unfilled templates ("safety plan") appear
    # one index serves both: the records do not depend on the wording
    assert sorted(p.name for p in (data_dir / "eval").iterdir()) == ["sources", NAME]
    assert held_out["context"]["indexed"] == tuning["context"]["indexed"] > 0
    assert held_out["modes"]["bm25"]["queries"] == len(asked)
