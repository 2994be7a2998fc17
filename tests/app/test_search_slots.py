"""At most ``limits.max_concurrent_searches`` searches are computed at once (by default one
per core); the rest wait and are answered, late, never refused. 0 lifts the bound.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from factories import make_record
from pydantic import SecretStr

from app import actions
from app.auth import Caller
from app.services import build_services
from app.settings import LimitSettings, Settings
from retrieval.embedding import Embedder

SECRET = "slots-secret-of-at-least-thirty-two-bytes"


def _settings(tmp_path: Path, limit: int | None) -> Settings:
    return Settings(
        data_dir=tmp_path,
        jwt_secret=SecretStr(SECRET),
        progress=False,
        limits=LimitSettings(max_concurrent_searches=limit),
    )


@pytest.mark.parametrize(("limit", "expected"), [(None, os.cpu_count() or 1), (3, 3), (0, None)])
def test_the_bound_defaults_to_one_search_per_core_and_zero_lifts_it(
    tmp_path: Path, embedder: Embedder, limit: int | None, expected: int | None
) -> None:
    services = build_services(_settings(tmp_path, limit), embedder=embedder)
    try:
        slots = services.search_slots
        assert (None if slots is None else slots._value) == expected
    finally:
        services.close()


def test_searches_beyond_the_bound_wait_and_are_all_answered(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = build_services(_settings(tmp_path, 2), embedder=embedder)
    services.indexer.apply([make_record(id="S-1", text="Safety plan agreed.")], source="t")
    inner = services.searcher.search
    running = peak = 0
    lock = threading.Lock()

    def search(request: Any) -> Any:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        try:
            return inner(request)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(services.searcher, "search", search)
    caller = Caller(subject="alice", principals=frozenset({"team:a"}))
    params = actions.SearchParams(query="safety plan")
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(
                pool.map(lambda _: actions.run_search(services, caller, params), range(16))
            )
    finally:
        services.close()
    assert peak == 2
    assert all([hit.document_id for hit in r.hits] == ["S-1"] for _, r in results)
