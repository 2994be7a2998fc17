"""A recording end to end: spoken with espeak-ng, indexed by the files connector, found by a
phrase through the API and the page, the hit citing the time it was spoken (±2 s); the record
page plays it from there beside the marked transcript; its bytes go only to users who may see
the record (a 404 like a missing record's otherwise), with Range requests and ``no-store``; a
deleted recording's kept copy goes on the next run. CI installs espeak-ng and ffmpeg.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from app_helpers import bearer
from fastapi.testclient import TestClient
from web_case_file import sign_in_as, web_settings
from web_helpers import HTML, main_text, result_links, tags

from app.actions import erase
from app.audit import AuditQuery
from app.main import create_app
from app.media import media_copies
from app.services import Services, build_services
from connectors.files import FilesConnector
from evaluation.speech_samples import Spoken, convert, recording, speech_tools_missing, write_wav
from retrieval.embedding import Embedder

_MISSING = speech_tools_missing()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(_MISSING is not None and not os.environ.get("CI"), reason=_MISSING or ""),
]

VISIT = (
    "I visited the family home on Tuesday morning.",
    "The kitchen cupboards were empty and the fridge was off.",
    "Mother said the electricity meter had run out of credit.",
)
CALL = (
    "The school nurse rang about the dental appointment.",
    "She said the boy had a swollen jaw and could not eat.",
)
VISIT_ID = "files:CASE-9/visit_note/home-visit.wav"
CALL_ID = "files:CASE-9/health_contact/nurse-call.mp4"


@dataclass
class Indexed:
    services: Services
    client: TestClient
    source: Path
    visit: Spoken
    call: Spoken

    def connector(self) -> FilesConnector:
        return FilesConnector(self.source, media_dir=media_copies(self.services.settings).folder)


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Indexed]:
    root = tmp_path_factory.mktemp("recording-web")
    source = root / "source"
    (source / "CASE-9" / "visit_note").mkdir(parents=True)
    (source / "CASE-9" / "health_contact").mkdir(parents=True)
    (source / "_acl.json").write_text('{"acl": ["team:north"]}', encoding="utf-8")
    visit = recording(VISIT, voice="en-gb", wpm=160)
    write_wav(source / "CASE-9" / "visit_note" / "home-visit.wav", visit.samples, visit.rate)
    call = recording(CALL, voice="en-us", wpm=175)
    wav = write_wav(root / "call.wav", call.samples, call.rate)
    convert(wav, source / "CASE-9" / "health_contact" / "nurse-call.mp4", video=True)
    services = build_services(web_settings(root / "data"), embedder=embedder)
    state = Indexed(services, TestClient(create_app(services=services)), source, visit, call)
    summary = services.indexer.run(state.connector())
    assert summary.added == 2, summary.failures
    with state.client:
        yield state
    services.close()


def _search(indexed: Indexed, query: str) -> list[dict[str, object]]:
    settings = indexed.services.settings
    answer = indexed.client.post(
        "/v1/search", json={"query": query}, headers=bearer(settings, "alice", "team:north")
    )
    assert answer.status_code == 200, answer.text
    results: list[dict[str, object]] = answer.json()["results"]
    return results


@pytest.mark.parametrize(
    ("query", "record_id", "which", "sentence"),
    [
        ("electricity meter run out of credit", VISIT_ID, "visit", 2),
        ("kitchen cupboards empty", VISIT_ID, "visit", 1),
        ("swollen jaw could not eat", CALL_ID, "call", 1),
    ],
)
def test_a_phrase_finds_the_recording_first_and_cites_when_it_was_said(
    indexed: Indexed, query: str, record_id: str, which: str, sentence: int
) -> None:
    results = _search(indexed, query)
    assert results
    assert results[0]["document_id"] == record_id
    citation = results[0]["citation"]
    assert isinstance(citation, dict)
    heard = citation["time_range"]
    spoken: Spoken = getattr(indexed, which)
    true_start, true_end = spoken.spans[sentence]
    assert true_start - 2 <= heard["start_s"] <= heard["end_s"] <= true_end + 2, (heard, spoken)


def test_the_results_page_says_when_the_passage_was_heard(indexed: Indexed) -> None:
    client = indexed.client
    sign_in_as(client, indexed.services.settings, "alice")
    page = client.get("/", params={"q": "electricity meter run out of credit"}, headers=HTML)
    assert page.status_code == 200
    assert "Heard at 0:0" in page.text or "Heard at 0:1" in page.text


def test_the_record_page_plays_from_the_cited_time_beside_the_marked_transcript(
    indexed: Indexed,
) -> None:
    client = indexed.client
    sign_in_as(client, indexed.services.settings, "alice")
    (result,) = _search(indexed, "electricity meter run out of credit")[:1]
    citation = result["citation"]
    assert isinstance(citation, dict)
    found = client.get("/", params={"q": "electricity meter run out of credit"}, headers=HTML)
    link = result_links(found.text)[0]
    assert link.startswith(f"/records/{quote(VISIT_ID, safe='')}?")
    page = client.get(link, headers=HTML)
    assert page.status_code == 200
    html = main_text(page.text)
    assert "Machine-made transcript (Moonshine base); check against the recording" in html
    (source,) = tags(html, "source")
    start = float(source["src"].rpartition("#t=")[2])
    assert abs(start - citation["time_range"]["start_s"]) < 0.01
    assert source["src"].startswith("/recordings/")
    (player,) = tags(html, "audio")
    assert "controls" in player
    assert 'id="cited"' in html
    assert "electricity" in html.split('id="cited"')[1][:400].lower()
    seeks = [a for a in tags(html, "a") if "data-seek" in a]
    assert len(seeks) >= 2
    assert all(a["href"].startswith("/records/") for a in seeks)
    assert "media-src 'self'" in page.headers["content-security-policy"]
    video = client.get(f"/records/{quote(CALL_ID, safe='')}", params={"t": "3.5"}, headers=HTML)
    (video_player,) = tags(main_text(video.text), "video")
    (video_source,) = tags(main_text(video.text), "source")
    assert "controls" in video_player
    assert video_source["src"].endswith("#t=3.5")


def test_the_recording_is_sent_with_ranges_and_never_cached(indexed: Indexed) -> None:
    client = indexed.client
    sign_in_as(client, indexed.services.settings, "alice")
    url = f"/recordings/{quote(VISIT_ID, safe='')}"
    original = (indexed.source / "CASE-9" / "visit_note" / "home-visit.wav").read_bytes()
    whole = client.get(url)
    assert whole.status_code == 200
    assert whole.content == original
    assert whole.headers["content-type"] == "audio/wav"
    assert whole.headers["cache-control"] == "no-store"
    assert whole.headers["accept-ranges"] == "bytes"
    part = client.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.content == original[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(original)}"
    tail = client.get(url, headers={"Range": "bytes=-10"})
    assert tail.status_code == 206
    assert tail.content == original[-10:]
    beyond = client.get(url, headers={"Range": f"bytes={len(original)}-"})
    assert beyond.status_code == 416
    events = indexed.services.audit.query(AuditQuery(subject="alice", record_id=VISIT_ID))
    assert any(e.detail.get("opened") == "recording" for e in events.events)


def test_a_user_who_may_not_see_the_record_gets_the_missing_records_404(
    indexed: Indexed,
) -> None:
    client = indexed.client
    sign_in_as(client, indexed.services.settings, "sam")
    forbidden = client.get(f"/recordings/{quote(VISIT_ID, safe='')}")
    missing = client.get(f"/recordings/{quote('files:CASE-9/no-such.wav', safe='')}")
    assert forbidden.status_code == missing.status_code == 404
    assert forbidden.text == missing.text
    assert dict(forbidden.headers) == dict(missing.headers)
    denied = indexed.services.audit.query(AuditQuery(subject="sam", action="view_denied"))
    assert VISIT_ID in {r for e in denied.events for r in e.record_ids}


def test_a_deleted_recording_takes_its_copy_with_it(indexed: Indexed, tmp_path: Path) -> None:
    copies = media_copies(indexed.services.settings)
    assert len(list(copies.folder.iterdir())) == 2
    moved = tmp_path / "nurse-call.mp4"
    shutil.move(indexed.source / "CASE-9" / "health_contact" / "nurse-call.mp4", moved)
    try:
        summary = indexed.services.indexer.run(indexed.connector())
        assert summary.deleted == 1
        assert len(list(copies.folder.iterdir())) == 1
        sign_in_as(indexed.client, indexed.services.settings, "alice")
        assert indexed.client.get(f"/recordings/{quote(CALL_ID, safe='')}").status_code == 404
    finally:  # the module's other tests find the recording again
        shutil.move(moved, indexed.source / "CASE-9" / "health_contact" / "nurse-call.mp4")
        indexed.services.indexer.run(indexed.connector())


def test_an_erased_recording_takes_its_copy_with_it(indexed: Indexed) -> None:
    copies = media_copies(indexed.services.settings)
    doc = indexed.services.store.document(VISIT_ID)
    assert doc is not None
    copy = copies.path(doc.extra["media"]["sha256"])
    assert copy.is_file()
    erase(indexed.services, "dpo", reason="subject's request", record_ids=[VISIT_ID])
    assert not copy.exists()
    assert indexed.services.store.document(CALL_ID) is not None
    assert len(list(copies.folder.iterdir())) == 1
