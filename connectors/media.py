"""Audio and video recordings: decoded with ffmpeg, cut at pauses, transcribed offline.

A recording becomes a record whose text is its machine transcript, one line per segment,
and whose ``extra["media"]`` keeps each segment's character span beside its time span::

    {"kind": "audio" | "video", "duration_s": 61.2, "model": "Moonshine base (…)",
     "machine_transcript": true, "sha256": "…", "mime": "audio/mpeg",
     "segments": [[char_start, char_end, t_start, t_end], …]}

so that a hit on a passage can say where in the recording it is. Everything here runs where
``connectors.sandbox`` puts it: ffmpeg and the model read untrusted bytes.

``MediaCopies`` keeps the bytes the indexer read under the data directory, named by their
SHA-256, so that the server plays exactly the recording that was transcribed without ever
reading the source folder.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from connectors.errors import ExtractionError
from connectors.moonshine import MODEL_NAME, SAMPLE_RATE, MoonshineModel

AUDIO_SUFFIXES = frozenset({".wav", ".mp3", ".m4a", ".ogg"})
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".webm"})
MEDIA_SUFFIXES = AUDIO_SUFFIXES | VIDEO_SUFFIXES
MIME_TYPES = {
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".ogg": "audio/ogg",
    ".mp4": "video/mp4",
    ".mov": "video/quicktime",
    ".webm": "video/webm",
}
FFMPEG_UNAVAILABLE = "audio and video unavailable: install ffmpeg (Debian: apt-get install ffmpeg)"

# Energy VAD. Frames of 30 ms; a frame is speech when it is well above the recording's own
# noise floor (its 10th-percentile frame), so a hiss-filled phone recording and a clean one are
# cut alike.
_FRAME = SAMPLE_RATE * 30 // 1000
_SILENT_DBFS = -50.0  # the loudest frames quieter than this: nothing was recorded
_MIN_PAUSE_S = 0.3  # a shorter dip is a breath inside a sentence, not a place to cut
_PAD_S = 0.15  # kept either side of speech: consonants at the edges are quiet
_SHORT_S = 1.5  # a segment shorter than this joins its neighbour when it can (context helps)
_JOIN_GAP_S = 1.0
# The model's input is bounded: Moonshine is trained on utterances of up to about 30 s and its
# decoder is given at most six tokens a second, so a long stretch without a pause is cut at its
# quietest frame below this length. Short segments also keep the cited times precise.
MAX_SEGMENT_S = 20.0
_READ_BLOCK = SAMPLE_RATE * 60  # samples of PCM read at a time: memory stays flat for 4 h


@dataclass(frozen=True, slots=True)
class Transcript:
    """A recording's transcript: ``text`` and ``media`` as described in the module docstring."""

    text: str
    media: dict[str, Any]


def media_kind(suffix: str) -> Literal["audio", "video"]:
    return "video" if suffix in VIDEO_SUFFIXES else "audio"


def transcribe_file(
    path: Path,
    suffix: str,
    *,
    max_seconds: float,
    timeout_s: float,
    model: Callable[[], MoonshineModel],
    ffmpeg: str = "ffmpeg",
    progress: Callable[[float], None] | None = None,
) -> Transcript:
    """Decode, segment and transcribe the recording at ``path``.

    ``max_seconds`` bounds the recording's length (decoding stops just past it); ``timeout_s``
    the decoding; ``model`` is called once, after decoding succeeded, for the speech model.
    ``progress`` is called with the seconds of audio transcribed so far after each segment.
    Raises ``ExtractionError`` naming the reason: no ffmpeg, undecodable, no audio track,
    too long, silent, no speech recognised, or the model missing.
    """
    command = shutil.which(ffmpeg)
    if command is None:
        raise ExtractionError(FFMPEG_UNAVAILABLE)
    kind = media_kind(suffix)
    with tempfile.TemporaryDirectory(prefix="casesearch-media-") as scratch:
        pcm = Path(scratch) / "audio.s16"
        _decode(command, path, pcm, max_seconds=max_seconds, timeout_s=timeout_s, kind=kind)
        samples = pcm.stat().st_size // 2
        duration = samples / SAMPLE_RATE
        if duration > max_seconds:
            raise ExtractionError(
                f"the recording is longer than the {_clock(max_seconds)} limit; split it or raise "
                "CASESEARCH_EXTRACTION__MAX_MEDIA_SECONDS"
            )
        if duration < 0.1:
            raise ExtractionError(f"the {kind} file holds no audio (empty recording)")
        levels = _frame_levels(pcm, samples)
        loudest = float(np.percentile(levels, 99))
        if loudest < _SILENT_DBFS:
            raise ExtractionError(
                f"the recording is silent (its loudest moments are {loudest:.0f} dBFS): "
                "nothing to transcribe"
            )
        spans = speech_segments(levels)
        speech = model()
        started = time.perf_counter()
        lines: list[str] = []
        segments: list[list[float | int]] = []
        offset = 0
        for start, end in spans:
            words = speech.transcribe(_read_pcm(pcm, start, end))
            if progress is not None:
                progress(end / SAMPLE_RATE)
            words = " ".join(words.split())
            if not words:
                continue
            if lines:
                offset += 1  # the newline between segments
            lines.append(words)
            segments.append(
                [
                    offset,
                    offset + len(words),
                    round(start / SAMPLE_RATE, 2),
                    round(end / SAMPLE_RATE, 2),
                ]
            )
            offset += len(words)
        if not lines:
            raise ExtractionError("no speech was recognised in the recording")
        return Transcript(
            text="\n".join(lines),
            media={
                "kind": kind,
                "duration_s": round(duration, 2),
                "model": MODEL_NAME,
                "machine_transcript": True,
                "mime": MIME_TYPES.get(suffix, "application/octet-stream"),
                "segments": segments,
                "transcribe_s": round(time.perf_counter() - started, 3),
            },
        )


def _decode(
    command: str, source: Path, target: Path, *, max_seconds: float, timeout_s: float, kind: str
) -> None:
    """ffmpeg: the first audio track of ``source`` as 16 kHz mono s16le PCM in ``target``."""
    arguments = [
        command,
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        # ffmpeg picks the demuxer by content, not by name: a playlist (HLS, concat) saved as
        # .mp3 would make it open other files or URLs. Only local files, only the containers
        # of the types read here.
        "-protocol_whitelist",
        "file",
        "-format_whitelist",
        "wav,mp3,mov,ogg,matroska,aac,flac",
        "-i",
        str(source),
        "-map",
        "0:a:0",
        "-vn",
        "-t",
        f"{max_seconds + 1:g}",  # just past the limit: enough to tell it is too long
        "-ac",
        "1",
        "-ar",
        str(SAMPLE_RATE),
        "-f",
        "s16le",
        "-y",
        str(target),
    ]
    try:
        done = subprocess.run(  # noqa: S603 (no shell; the path is an argument)
            arguments, capture_output=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired:
        raise ExtractionError(
            f"decoding the {kind} took longer than {timeout_s:g} s (the limit)"
        ) from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = _short(message[-1]) if message else f"ffmpeg exit status {done.returncode}"
        if any("matches no streams" in line for line in message):
            raise ExtractionError(f"the {kind} file has no audio track")
        raise ExtractionError(f"undecodable or damaged {kind} file: {detail}")


def _frame_levels(pcm: Path, samples: int) -> npt.NDArray[np.float64]:
    """RMS level of every 30 ms frame in dBFS, read block by block."""
    levels: list[npt.NDArray[np.float64]] = []
    for first in range(0, samples, _READ_BLOCK):
        block = _read_pcm(pcm, first, min(samples, first + _READ_BLOCK)).astype(np.float64)
        usable = len(block) - len(block) % _FRAME
        if usable == 0:
            continue
        frames = block[:usable].reshape(-1, _FRAME)
        power = np.mean(frames * frames, axis=1)
        levels.append(10.0 * np.log10(np.maximum(power, 1e-12)))
    return np.concatenate(levels) if levels else np.full(1, -120.0)


def speech_segments(levels: npt.NDArray[np.float64]) -> list[tuple[int, int]]:
    """Sample ranges ``[start, end)`` to transcribe, cut at pauses, in order.

    Each is at most ``MAX_SEGMENT_S`` long; together they cover every frame judged speech.
    """
    floor = float(np.percentile(levels, 10))
    loud = float(np.percentile(levels, 95))
    # never above the loud frames less 6 dB: in a recording that is nearly all speech, the
    # 10th percentile is speech too, and no frame would pass
    threshold = max(min(max(floor + 3.0, floor + 0.3 * (loud - floor)), loud - 6.0), _SILENT_DBFS)
    speech = levels > threshold
    frame_s = _FRAME / SAMPLE_RATE
    runs = _runs(speech)
    # Close short dips: a breath does not end a sentence.
    closed: list[list[int]] = []
    for start, end in runs:
        if closed and (start - closed[-1][1]) * frame_s < _MIN_PAUSE_S:
            closed[-1][1] = end
        else:
            closed.append([start, end])
    pad = round(_PAD_S / frame_s)
    count = len(levels)
    padded = [(max(0, s - pad), min(count, e + pad)) for s, e in closed if (e - s) * frame_s >= 0.1]
    limit = round(MAX_SEGMENT_S / frame_s)
    joined: list[tuple[int, int]] = []
    for start, end in padded:
        if joined:
            previous_start, previous_end = joined[-1]
            short = (end - start) * frame_s < _SHORT_S or (
                previous_end - previous_start
            ) * frame_s < _SHORT_S
            near = (start - previous_end) * frame_s < _JOIN_GAP_S
            if short and near and end - previous_start <= limit:
                joined[-1] = (previous_start, end)
                continue
            start = max(start, previous_end)
        joined.append((start, end))
    bounded: list[tuple[int, int]] = []
    for start, end in joined:
        bounded.extend(_split_long(levels, start, end, limit))
    return [(s * _FRAME, e * _FRAME) for s, e in bounded]


def _runs(mask: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    padded = np.concatenate(([False], mask, [False]))
    changes = np.flatnonzero(padded[1:] != padded[:-1])
    return [(int(s), int(e)) for s, e in zip(changes[::2], changes[1::2], strict=True)]


def _split_long(
    levels: npt.NDArray[np.float64], start: int, end: int, limit: int
) -> Iterable[tuple[int, int]]:
    """``[start, end)`` cut at its quietest frames into pieces of at most ``limit`` frames."""
    while end - start > limit:
        window = levels[start + limit // 2 : start + limit]
        cut = start + limit // 2 + int(np.argmin(window))
        yield start, cut
        start = cut
    yield start, end


def _read_pcm(pcm: Path, start: int, end: int) -> npt.NDArray[np.float32]:
    """Samples ``[start, end)`` of s16le ``pcm`` as float32 in [-1, 1]."""
    raw = np.fromfile(pcm, dtype="<i2", count=max(0, end - start), offset=2 * start)
    return (raw.astype(np.float32) / 32768.0).astype(np.float32)


_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class MediaCopies:
    """Recordings kept under ``folder`` by SHA-256 (files 0600 in a 0700 folder).

    The indexer writes the bytes it transcribed; the server reads them back by the hash its
    record names; ``prune`` removes the copies no record names any more (after deletions and
    erasure).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, sha256: str) -> Path:
        """Where the copy of ``sha256`` lives; ``ValueError`` for a string that is no hash."""
        if not _SHA256.match(sha256):
            raise ValueError("not a SHA-256 hex digest")
        return self.folder / sha256

    def put(self, data: bytes, sha256: str) -> Path:
        """Store ``data`` (whose hash is ``sha256``) once; returns its path."""
        target = self.path(sha256)
        if target.is_file():
            return target
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".incoming-")
        try:
            with os.fdopen(handle, "wb") as out:  # mkstemp creates the file 0600
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        return target

    def prune(self, in_use: set[str]) -> int:
        """Delete every copy whose hash is not in ``in_use``; returns how many went."""
        if not self.folder.is_dir():
            return 0
        removed = 0
        for entry in self.folder.iterdir():
            if entry.name in in_use or not entry.is_file():
                continue
            if _SHA256.match(entry.name) or entry.name.startswith(".incoming-"):
                with contextlib.suppress(FileNotFoundError):
                    entry.unlink()
                    removed += 1
        return removed


def _clock(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def _short(text: str) -> str:
    return text if len(text) <= 200 else text[:197] + "..."
