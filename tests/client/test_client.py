"""``casesearch_client`` against the real server: every call answers typed data, errors arrive
as exceptions carrying the server's code, and 429s and unreachable servers are retried."""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path

import pytest
from casesearch_client import (
    CaseSearch,
    Forbidden,
    InvalidRequest,
    NotFound,
    PushRejected,
    RateLimited,
    SearchPage,
    TransportError,
    Unauthorized,
)
from client_server import case_file, client_settings, serving, token

from app.services import build_services
from app.settings import Settings
from retrieval.embedding import Embedder

pytestmark = pytest.mark.integration

Server = tuple[str, Settings]


def _as(server: Server, subject: str, *principals: str, **options: float) -> CaseSearch:
    url, settings = server
    return CaseSearch(url, token(settings, subject, *principals), **options)


def test_search_pages_are_typed_and_reach_every_visible_match(server: Server) -> None:
    with _as(server, "alice", "team:north") as alice:
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


def test_a_hidden_record_is_not_found_with_the_servers_code(server: Server) -> None:
    with _as(server, "alice", "team:north") as alice, pytest.raises(NotFound) as caught:
        alice.document("M-1")
    assert caught.value.status == 404
    assert caught.value.code == "not_found"


def test_the_timeline_pages(server: Server) -> None:
    with _as(server, "alice", "team:north") as alice:
        whole = alice.timeline("CASE-1")
        assert whole.total == 5
        ids = [e.document_id for e in whole.entries]
        pages = [alice.timeline("CASE-1", limit=2, offset=n) for n in (0, 2, 4)]
        assert [e.document_id for p in pages for e in p.entries] == ids
        assert [p.next_offset for p in pages] == [2, 4, None]
        visits = alice.timeline("CASE-1", doc_types=["visit_note"])
        assert {e.doc_type for e in visits.entries} == {"visit_note"}


def test_patterns_and_chronology_answer_typed_data(server: Server) -> None:
    with _as(server, "alice", "team:north") as alice:
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


def test_errors_carry_the_servers_code(server: Server) -> None:
    url, _ = server
    with CaseSearch(url, "not-a-token") as stranger, pytest.raises(Unauthorized) as caught:
        stranger.search("safety plan")
    assert caught.value.code == "unauthorized"
    with _as(server, "alice", "team:north") as alice:
        with pytest.raises(InvalidRequest) as unknown:
            alice.search("safety plan", doc_types=["safety_plna"])
        assert unknown.value.status == 422
        assert "safety_plan" in unknown.value.message
        with pytest.raises(Forbidden) as forbidden:
            alice.delete("N-1")
        assert forbidden.value.code == "forbidden"


def test_push_delete_and_the_change_feed(server: Server) -> None:
    with _as(server, "cms", "role:ingest") as cms, _as(server, "bea", "team:north") as bea:
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


def test_a_429_is_retried_after_the_servers_retry_after(tmp_path: Path, embedder: Embedder) -> None:
    settings = client_settings(tmp_path, rate_limit=2)
    services = build_services(settings, embedder=embedder)
    services.indexer.apply(case_file(), source="test")
    waits: list[float] = []
    try:
        with serving(services) as url:
            client = CaseSearch(
                url,
                token(settings, "alice", "team:north"),
                retries=2,
                max_wait=120,
                sleep=waits.append,
            )
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
    tmp_path: Path, embedder: Embedder
) -> None:
    settings = client_settings(tmp_path, rate_limit=1)
    services = build_services(settings, embedder=embedder)
    waits: list[float] = []
    try:
        with serving(services) as url:
            client = CaseSearch(
                url, token(settings, "alice", "team:north"), max_wait=0.5, sleep=waits.append
            )
            client.timeline("CASE-1")
            with pytest.raises(RateLimited):
                client.timeline("CASE-1")
            client.close()
    finally:
        services.close()
    assert waits == []


def test_an_unreachable_server_is_retried_then_reported() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    waits: list[float] = []  # nothing listens on the port once the socket is closed
    client = CaseSearch(f"http://127.0.0.1:{port}", "t", retries=3, sleep=waits.append)
    with pytest.raises(TransportError):
        client.search("safety plan")  # never sent, so safe to retry even a search
    client.close()
    assert len(waits) == 3
