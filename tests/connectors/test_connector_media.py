"""Audio and video files: transcribed in the child process, with segment times kept beside the
character offsets; a damaged, silent or too-long recording is a failure naming the file and the
reason while the rest of the run goes on. The recordings are spoken by espeak-ng when the test
runs (``evaluation/speech_samples.py``); CI installs it and ffmpeg (``make system-deps``), so
these tests run there (with ``CI`` set they fail instead of skipping when the tools are missing).
"""

from __future__ import annotations

import itertools
import os
import stat
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from connectors.base import Checkpoint, Failure
from connectors.files import FilesConnector
from connectors.limits import ExtractionLimits
from connectors.media import (
    FFMPEG_UNAVAILABLE,
    MAX_SEGMENT_S,
    MediaCopies,
    speech_segments,
)
from connectors.moonshine import MODEL_NAME, MOONSHINE_UNAVAILABLE
from connectors.record import Record, Tombstone
from evaluation.speech_samples import Spoken, convert, recording, speech_tools_missing, write_wav
from retrieval.snippets import recording_time

_MISSING = speech_tools_missing()
needs_speech_tools = pytest.mark.skipif(
    _MISSING is not None and not os.environ.get("CI"), reason=_MISSING or ""
)

VISIT = (
    "I visited the family home on Tuesday morning.",
    "The kitchen cupboards were empty and the fridge was off.",
    "Mother said the electricity meter had run out of credit.",
)
MEETING = (
    "The school nurse joined the meeting by telephone.",
    "She said the boy had missed his dental appointment twice.",
)
ACL = '{"acl": ["team:north"]}'


def _folder(root: Path) -> dict[str, Spoken]:
    """A case folder with a WAV, an MP4 and three bad recordings; the spoken ones returned."""
    notes = root / "CASE-9" / "visit_note"
    notes.mkdir(parents=True)
    (root / "_acl.json").write_text(ACL, encoding="utf-8")
    visit = recording(VISIT, voice="en-gb", wpm=165)
    write_wav(notes / "home-visit.wav", visit.samples, visit.rate)
    meeting = recording(MEETING, voice="en-us", wpm=175)
    wav = write_wav(root / "meeting.wav", meeting.samples, meeting.rate)
    convert(wav, notes / "meeting.mp4", video=True)
    wav.unlink()
    (notes / "damaged.mp3").write_bytes(b"ID3" + bytes(range(256)) * 40)
    # an HLS playlist named .mp3: ffmpeg must not fetch what it lists
    (notes / "playlist.mp3").write_text(
        "#EXTM3U\n#EXTINF:1,\nhttp://127.0.0.1:9/visit.mp3\n", encoding="utf-8"
    )
    write_wav(notes / "silent.wav", np.zeros(16_000 * 3, dtype=np.float32), 16_000)
    tone = 0.3 * np.sin(np.arange(16_000 * 20) * 2 * np.pi * 440 / 16_000)
    write_wav(notes / "long.wav", tone.astype(np.float32), 16_000)
    return {"CASE-9/visit_note/home-visit.wav": visit, "CASE-9/visit_note/meeting.mp4": meeting}


def _run(connector: FilesConnector) -> tuple[dict[str, Record], dict[str, str]]:
    records: dict[str, Record] = {}
    failures: dict[str, str] = {}
    for item in connector.fetch(connector.initial_checkpoint()):
        if isinstance(item, Record):
            records[item.source_uri or ""] = item
        elif isinstance(item, Failure):
            failures[item.source_ref] = item.reason
    return records, failures


@pytest.fixture(scope="module")
def indexed(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[dict[str, Record], dict[str, str], dict[str, Spoken], FilesConnector]:
    root = tmp_path_factory.mktemp("recordings")
    spoken = _folder(root / "source")
    # the spoken files are 8-12 s long, long.wav 20 s
    limits = ExtractionLimits(max_media_seconds=15)
    connector = FilesConnector(root / "source", limits=limits, media_dir=root / "media")
    records, failures = _run(connector)
    return records, failures, spoken, connector


@needs_speech_tools
def test_a_wav_and_an_mp4_become_records_whose_text_is_the_transcript(
    indexed: tuple[dict[str, Record], dict[str, str], dict[str, Spoken], FilesConnector],
) -> None:
    records, _, _, connector = indexed
    visit = records["file://CASE-9/visit_note/home-visit.wav"]
    meeting = records["file://CASE-9/visit_note/meeting.mp4"]
    assert "kitchen cupboards" in visit.text.lower()
    assert "electricity meter" in visit.text.lower()
    assert "dental appointment" in meeting.text.lower()
    assert visit.case_id == "CASE-9"
    assert visit.doc_type == "visit_note"
    media = visit.extra["media"]
    assert media["kind"] == "audio"
    assert meeting.extra["media"]["kind"] == "video"
    assert media["model"] == MODEL_NAME
    assert media["machine_transcript"] is True
    for c0, c1, t0, t1 in media["segments"]:
        assert 0 <= c0 < c1 <= len(visit.text)
        assert 0 <= t0 < t1 <= media["duration_s"] + 0.1
    assert connector.transcribed_s > 15
    assert connector.transcribing_s > 0


@needs_speech_tools
@pytest.mark.parametrize(
    ("path", "sentence", "phrase"),
    [
        ("CASE-9/visit_note/home-visit.wav", 2, "electricity meter"),
        ("CASE-9/visit_note/home-visit.wav", 1, "kitchen cupboards"),
        ("CASE-9/visit_note/meeting.mp4", 1, "dental appointment"),
    ],
)
def test_a_phrase_maps_back_to_the_time_it_was_spoken(
    indexed: tuple[dict[str, Record], dict[str, str], dict[str, Spoken], FilesConnector],
    path: str,
    sentence: int,
    phrase: str,
) -> None:
    records, _, spoken, _ = indexed
    record = records[f"file://{path}"]
    start = record.text.lower().index(phrase)
    heard = recording_time(record.extra, start, start + len(phrase))
    assert heard is not None
    true_start, true_end = spoken[path].spans[sentence]
    assert true_start - 2 <= heard[0], (heard, true_start, true_end)
    assert heard[1] <= true_end + 2, (heard, true_start, true_end)


@needs_speech_tools
def test_bad_recordings_are_failures_naming_the_file_and_the_reason(
    indexed: tuple[dict[str, Record], dict[str, str], dict[str, Spoken], FilesConnector],
) -> None:
    records, failures, _, _ = indexed
    assert len(records) == 2  # the run went on past each failure
    assert "undecodable or damaged audio file" in failures["CASE-9/visit_note/damaged.mp3"]
    assert "undecodable or damaged audio file" in failures["CASE-9/visit_note/playlist.mp3"]
    assert "silent" in failures["CASE-9/visit_note/silent.wav"]
    assert "longer than the 15 s limit" in failures["CASE-9/visit_note/long.wav"]


@needs_speech_tools
def test_the_copies_are_private_and_named_by_their_hash(
    indexed: tuple[dict[str, Record], dict[str, str], dict[str, Spoken], FilesConnector],
) -> None:
    records, _, _, connector = indexed
    assert connector.media is not None
    for record in records.values():
        copy = connector.media.path(record.extra["media"]["sha256"])
        assert copy.is_file()
        assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert stat.S_IMODE(connector.media.folder.stat().st_mode) == 0o700
    # the four failed recordings were copied before they were read: the indexer's prune
    # after the run keeps only what a record names
    kept = {r.extra["media"]["sha256"] for r in records.values()}
    assert connector.media.prune(kept) == 4
    assert {p.name for p in connector.media.folder.iterdir()} == kept
    assert connector.media.prune(set()) == 2
    assert not any(connector.media.folder.iterdir())


@needs_speech_tools
def test_a_removed_recording_is_a_tombstone(tmp_path: Path) -> None:
    (tmp_path / "_acl.json").write_text(ACL, encoding="utf-8")
    spoken = recording(VISIT[:1])
    write_wav(tmp_path / "note.wav", spoken.samples, spoken.rate)
    connector = FilesConnector(tmp_path)
    items = list(connector.fetch(connector.initial_checkpoint()))
    checkpoint = items[-1]
    assert isinstance(checkpoint, Checkpoint)
    (tmp_path / "note.wav").unlink()
    again = list(connector.fetch(checkpoint))
    assert [i.id for i in again if isinstance(i, Tombstone)] == ["files:note.wav"]


def _one_failure(root: Path, name: str, data: bytes, limits: ExtractionLimits) -> str:
    root.mkdir(exist_ok=True)
    (root / "_acl.json").write_text(ACL, encoding="utf-8")
    (root / name).write_bytes(data)
    connector = FilesConnector(root, limits=limits)
    failures = [
        i for i in connector.fetch(connector.initial_checkpoint()) if isinstance(i, Failure)
    ]
    assert [f.source_ref for f in failures] == [name]
    return failures[0].reason


def _tiny_wav(tmp_path: Path) -> bytes:
    tone = 0.3 * np.sin(np.arange(16_000) * 2 * np.pi * 300 / 16_000).astype(np.float32)
    return write_wav(tmp_path / "tone.wav", tone.astype(np.float32), 16_000).read_bytes()


def test_without_ffmpeg_a_recording_fails_saying_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    data = _tiny_wav(tmp_path)
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    here = ExtractionLimits(isolate=False)  # the patch reaches this process only
    assert _one_failure(tmp_path / "src", "voice.wav", data, here) == FFMPEG_UNAVAILABLE


@needs_speech_tools
def test_without_the_model_a_recording_fails_saying_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import connectors.moonshine

    data = _tiny_wav(tmp_path)
    monkeypatch.setattr(connectors.moonshine, "model_dir", lambda: None)
    here = ExtractionLimits(isolate=False)
    assert _one_failure(tmp_path / "src", "voice.wav", data, here) == MOONSHINE_UNAVAILABLE


# --- the pause detector (no tools needed) -------------------------------------------------------

_FRAME_S = 0.03


def _levels(pattern: list[tuple[float, float]]) -> Any:
    """Frame levels (dBFS) for (seconds, level) runs, with a little jitter."""
    frames = [np.full(round(seconds / _FRAME_S), level) for seconds, level in pattern]
    noise = np.random.default_rng(1).normal(0, 0.5, sum(len(f) for f in frames))
    return np.concatenate(frames) + noise


def test_segments_are_cut_at_pauses_and_keep_their_times() -> None:
    levels = _levels([(1.0, -70), (3.0, -20), (1.0, -70), (4.0, -20), (2.0, -70)])
    segments = [(s / 16_000, e / 16_000) for s, e in speech_segments(levels)]
    assert len(segments) == 2
    (a0, a1), (b0, b1) = segments
    assert abs(a0 - 1.0) < 0.25
    assert abs(a1 - 4.0) < 0.25
    assert abs(b0 - 5.0) < 0.25
    assert abs(b1 - 9.0) < 0.25


def test_a_breath_does_not_cut_a_sentence() -> None:
    levels = _levels([(1.0, -70), (2.0, -20), (0.15, -70), (2.0, -20), (1.0, -70)])
    assert len(speech_segments(levels)) == 1


def test_speech_without_pauses_is_cut_into_segments_the_model_can_take() -> None:
    levels = _levels([(0.5, -70), (65.0, -20), (0.5, -70)])
    segments = speech_segments(levels)
    assert len(segments) >= 4
    assert all((e - s) / 16_000 <= MAX_SEGMENT_S + 1e-6 for s, e in segments)
    assert all(b[0] == a[1] for a, b in itertools.pairwise(segments))


def test_a_noisy_recording_is_cut_above_its_own_noise_floor() -> None:
    levels = _levels([(1.0, -35), (3.0, -22), (1.0, -35), (3.0, -22), (1.0, -35)])
    assert len(speech_segments(levels)) == 2


def test_recording_time_interpolates_within_a_segment_and_spans_segments() -> None:
    extra = {"media": {"segments": [[0, 10, 1.0, 3.0], [11, 31, 4.0, 8.0]]}}
    assert recording_time(extra, 0, 10) == (1.0, 3.0)
    assert recording_time(extra, 5, 10) == (2.0, 3.0)
    assert recording_time(extra, 5, 21) == (2.0, 6.0)
    assert recording_time(extra, 40, 50) is None
    assert recording_time({}, 0, 5) is None


def test_a_copy_is_written_once_and_a_bad_hash_is_refused(tmp_path: Path) -> None:
    copies = MediaCopies(tmp_path / "media")
    digest = "a" * 64
    first = copies.put(b"sound", digest)
    assert first.read_bytes() == b"sound"
    assert copies.put(b"other", digest).read_bytes() == b"sound"
    with pytest.raises(ValueError, match="SHA-256"):
        copies.path("../casesearch.sqlite3")
