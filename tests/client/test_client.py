"""``casesearch_client`` against the real server: every call answers typed data, errors arrive
as exceptions carrying the server's code, and 429s and unreachable servers are retried. Each
test runs against both clients, ``CaseSearch`` and ``AsyncCaseSearch`` (``kind``)."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
from pathlib import Path
from typing import Any

import pytest
from casesearch_client import (
    AsyncCaseSearch,
    CaseSearch,
    Document,
    Forbidden,
    InvalidRequest,
    NotFound,
    PushRejected,
    RateLimited,
    SearchPage,
    Timeline,
    TransportError,
    Unauthorized,
)
from client_kinds import Kind, connect
from client_server import case_file, client_settings, serving, token

from app.services import build_services
from app.settings import Settings
from retrieval.embedding import Embedder

pytestmark = pytest.mark.integration

Server = tuple[str, Settings]


def _as(server: Server, kind: Kind, subject: str, *principals: str) -> CaseSearch:
    url, settings = server
    return connect(kind, url, token(settings, subject, *principals))


def test_search_pages_are_typed_and_reach_every_visible_match(server: Server, kind: Kind) -> None:
    with _as(server, kind, "alice", "team:north") as alice:
        first = alice.search("safety plan", case_id="CASE-1", top_k=2)
        assert isinstance(first, SearchPage)
        assert first.total >= 3
        assert first.next_offset == 2
        every = list(alice.search_all("safety plan", case_id="CASE-1", page_size=2))
        assert len(every) == first.total
        assert len({r.document_id for r in every}) == len(every)
        assert "M-1" not in {r.document_id for r in every}  # the managers' note
        for result in every[:3]:
            record = alice.document(result.document_id, search_id=first.search_id)
            cited = record.text[result.citation.char_start : result.citation.char_end]
            assert cited == result.snippet.text
            assert isinstance(record.created_at, dt.date)


def test_a_hidden_record_is_not_found_with_the_servers_code(server: Server, kind: Kind) -> None:
    with _as(server, kind, "alice", "team:north") as alice, pytest.raises(NotFound) as caught:
        alice.document("M-1")
    assert caught.value.status == 404
    assert caught.value.code == "not_found"


def test_the_timeline_pages(server: Server, kind: Kind) -> None:
    with _as(server, kind, "alice", "team:north") as alice:
        whole = alice.timeline("CASE-1")
        assert whole.total == 5
        ids = [e.document_id for e in whole.entries]
        pages = [alice.timeline("CASE-1", limit=2, offset=n) for n in (0, 2, 4)]
        assert [e.document_id for p in pages for e in p.entries] == ids
        assert [p.next_offset for p in pages] == [2, 4, None]
        visits = alice.timeline("CASE-1", doc_types=["visit_note"])
        assert {e.doc_type for e in visits.entries} == {"visit_note"}


def test_patterns_and_chronology_answer_typed_data(server: Server, kind: Kind) -> None:
    with _as(server, kind, "alice", "team:north") as alice:
        patterns = alice.patterns(query="children were hungry", include_weak=True)
        assert patterns.total_cases == len(patterns.cases) == 1
        assert patterns.cases[0].case_id == "CASE-1"
        chronology = alice.chronology("CASE-1")
        assert chronology.case_id == "CASE-1"
        texts = {r.id: r.text for r in case_file()}
        for event in chronology.events:
            c = event.citation
            assert texts[c.document_id][c.char_start : c.char_end] == event.sentence
        assert any(e.date == dt.date(2024, 3, 11) for e in chronology.events)


def test_errors_carry_the_servers_code(server: Server, kind: Kind) -> None:
    url, _ = server
    with connect(kind, url, "not-a-token") as stranger, pytest.raises(Unauthorized) as caught:
        stranger.search("safety plan")
    assert caught.value.code == "unauthorized"
    with _as(server, kind, "alice", "team:north") as alice:
        with pytest.raises(InvalidRequest) as unknown:
            alice.search("safety plan", doc_types=["safety_plna"])
        assert unknown.value.status == 422
        assert "safety_plan" in unknown.value.message
        with pytest.raises(Forbidden) as forbidden:
            alice.delete("N-1")
        assert forbidden.value.code == "forbidden"


def test_push_delete_and_the_change_feed(server: Server, kind: Kind) -> None:
    with (
        _as(server, kind, "cms", "role:ingest") as cms,
        _as(server, kind, "bea", "team:north") as bea,
    ):
        start = cms.changes().next_cursor
        note = {"id": "C-1", "case_id": "CASE-2", "text": "Case opened.", "acl": ["team:north"]}
        pushed = cms.push([note, {"id": "C-2", "text": "No acl here."}])
        assert (pushed.added, pushed.failed) == (1, 1)
        assert [r.id for r in pushed.rejected] == ["C-2"]
        assert "acl" in (pushed.rejected[0].error or "")
        assert cms.push([note]).unchanged == 1  # a retried push changes nothing
        assert bea.document("C-1").text == "Case opened."
        cms.delete("C-1")
        cms.delete("C-1")  # idempotent
        with pytest.raises(NotFound):
            bea.document("C-1")
        with pytest.raises(PushRejected) as rejected:
            cms.push([{"id": "C-3"}])
        assert rejected.value.code == "invalid_records"
        assert rejected.value.result.results[0].status == "rejected"
        feed = cms.changes(start)
        assert [(c.kind, c.record_id) for c in feed.changes] == [
            ("indexed", "C-1"),
            ("failed", "C-2"),
            ("deleted", "C-1"),
            ("failed", "C-3"),
        ]
        assert cms.changes(feed.next_cursor).changes == []


def test_a_429_is_retried_after_the_servers_retry_after(
    tmp_path: Path, embedder: Embedder, kind: Kind
) -> None:
    settings = client_settings(tmp_path, rate_limit=2)
    services = build_services(settings, embedder=embedder)
    services.indexer.apply(case_file(), source="test")
    waits: list[float] = []
    try:
        with serving(services) as url:
            alice = token(settings, "alice", "team:north")
            client = connect(kind, url, alice, waits=waits, retries=2, max_wait=120)
            client.timeline("CASE-1")
            client.timeline("CASE-1")
            with pytest.raises(RateLimited) as caught:
                client.timeline("CASE-1")  # the window has not passed: every retry is a 429
            client.close()
    finally:
        services.close()
    assert caught.value.code == "rate_limited"
    assert caught.value.retry_after is not None
    assert 0 < caught.value.retry_after <= 60
    assert len(waits) == 2  # two retries, each after the server's Retry-After
    assert all(0 < w <= 60 for w in waits)


def test_a_longer_retry_after_than_the_client_waits_is_raised_at_once(
    tmp_path: Path, embedder: Embedder, kind: Kind
) -> None:
    settings = client_settings(tmp_path, rate_limit=1)
    services = build_services(settings, embedder=embedder)
    waits: list[float] = []
    try:
        with serving(services) as url:
            alice = token(settings, "alice", "team:north")
            client = connect(kind, url, alice, waits=waits, max_wait=0.5)
            client.timeline("CASE-1")
            with pytest.raises(RateLimited):
                client.timeline("CASE-1")
            client.close()
    finally:
        services.close()
    assert waits == []


def test_an_unreachable_server_is_retried_then_reported(kind: Kind) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    waits: list[float] = []  # nothing listens on the port once the socket is closed
    client = connect(kind, f"http://127.0.0.1:{port}", "t", waits=waits, retries=3)
    with pytest.raises(TransportError):
        client.search("safety plan")  # never sent, so safe to retry even a search
    client.close()
    assert len(waits) == 3


def test_a_lost_answer_is_retried_for_a_push_or_delete_but_a_search_is_not_sent_twice(
    server: Server, kind: Kind
) -> None:
    url, settings = server
    cms, bea = token(settings, "cms", "role:ingest"), token(settings, "bea", "team:north")
    note = {"id": "L-1", "case_id": "CASE-3", "text": "Letter sent.", "acl": ["team:north"]}
    waits: list[float] = []
    with connect(kind, url, cms, waits=waits, lose_answers=1) as client:
        pushed = client.push([note])  # applied by the first try, whose answer was lost
    assert (pushed.added, pushed.unchanged) == (0, 1)
    assert len(waits) == 1
    with connect(kind, url, bea) as reader:
        assert reader.document("L-1").text == "Letter sent."
    with connect(kind, url, cms, waits=waits, lose_answers=1) as client:
        client.delete("L-1")
    assert len(waits) == 2
    reader = connect(kind, url, bea, waits=waits, lose_answers=1)
    with reader, pytest.raises(NotFound):
        reader.document("L-1")  # a read is asked again
    assert len(waits) == 3
    searcher = connect(kind, url, bea, waits=waits, lose_answers=1)
    with searcher, pytest.raises(TransportError, match="POST /v1/search"):
        searcher.search("letter")  # served (and audited) once: not sent again
    assert len(waits) == 3


def test_the_async_client_serves_concurrent_calls_with_the_sync_clients_answers(
    server: Server,
) -> None:
    url, settings = server
    alice = token(settings, "alice", "team:north")
    filters: dict[str, Any] = {"case_id": "CASE-1"}

    async def together() -> tuple[SearchPage, Timeline, Document, list[str]]:
        async with AsyncCaseSearch(url, alice) as client:
            page, timeline, record = await asyncio.gather(
                client.search("safety plan", top_k=2, **filters),
                client.timeline("CASE-1"),
                client.document("N-1"),
            )
            every = client.search_all("safety plan", page_size=2, **filters)
            return page, timeline, record, [r.document_id async for r in every]

    page, timeline, record, every = asyncio.run(together())
    assert [r.document_id for r in page.results] == every[:2]
    with CaseSearch(url, alice) as client:
        assert [r.document_id for r in client.search_all("safety plan", **filters)] == every
        assert client.timeline("CASE-1") == timeline
        assert client.document("N-1") == record
