"""Spoken recordings made from known text, for the transcription tests and evaluation.

espeak-ng (Debian) speaks each sentence on its own; the sentences are joined with pauses in
numpy, so the true start and end of every sentence is known to the sample. Noise is white noise
at a chosen signal-to-noise ratio, mixed in numpy. ffmpeg turns a WAV into the other containers
(an MP4 with a blank picture, an MP3). Nothing here is checked in: every recording is made
when it is needed.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

ESPEAK_UNAVAILABLE = "espeak-ng is not installed (Debian: apt-get install espeak-ng)"
FFMPEG_UNAVAILABLE = "ffmpeg is not installed (Debian: apt-get install ffmpeg)"


def speech_tools_missing() -> str | None:
    """Why recordings cannot be made here (``None``: espeak-ng and ffmpeg are installed)."""
    if shutil.which("espeak-ng") is None:
        return ESPEAK_UNAVAILABLE
    if shutil.which("ffmpeg") is None:
        return FFMPEG_UNAVAILABLE
    return None


@dataclass(frozen=True, slots=True)
class Spoken:
    """A recording: mono float32 samples at ``rate`` Hz, and each sentence's (start, end)
    seconds in it, in order."""

    samples: npt.NDArray[np.float32]
    rate: int
    spans: tuple[tuple[float, float], ...]

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.rate


def speak(
    text: str, *, voice: str = "en-gb", wpm: int = 160
) -> tuple[npt.NDArray[np.float32], int]:
    """``text`` spoken by espeak-ng: (samples in [-1, 1], sample rate)."""
    done = subprocess.run(  # noqa: S603 (fixed program, text as an argument)
        [shutil.which("espeak-ng") or "espeak-ng", "-v", voice, "-s", str(wpm), "--stdout", text],
        capture_output=True,
        check=True,
        timeout=60,
    )
    with wave.open(io.BytesIO(done.stdout)) as reader:
        rate = reader.getframerate()
        raw = reader.readframes(reader.getnframes())
    samples = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    return _trim(samples), rate


def _trim(samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """``samples`` without the silence espeak-ng puts before and after the words."""
    loud = np.flatnonzero(np.abs(samples) > 0.01)
    if len(loud) == 0:
        return samples
    return samples[loud[0] : loud[-1] + 1]


def recording(
    sentences: Sequence[str],
    *,
    voice: str = "en-gb",
    wpm: int = 160,
    pause_s: float = 0.8,
    lead_s: float = 0.5,
) -> Spoken:
    """The sentences spoken one after another with ``pause_s`` of silence between them."""
    parts: list[npt.NDArray[np.float32]] = []
    spans: list[tuple[float, float]] = []
    rate = 0
    cursor = 0
    for index, sentence in enumerate(sentences):
        samples, rate = speak(sentence, voice=voice, wpm=wpm)
        gap = np.zeros(int((lead_s if index == 0 else pause_s) * rate), dtype=np.float32)
        parts.extend((gap, samples))
        cursor += len(gap)
        spans.append((cursor / rate, (cursor + len(samples)) / rate))
        cursor += len(samples)
    parts.append(np.zeros(int(lead_s * rate), dtype=np.float32))
    return Spoken(np.concatenate(parts), rate, tuple(spans))


def with_noise(spoken: Spoken, snr_db: float, *, seed: int = 0) -> Spoken:
    """``spoken`` with white noise at ``snr_db`` below the speech's own power."""
    speech = np.concatenate([_slice(spoken, start, end) for start, end in spoken.spans])
    power = float(np.mean(speech.astype(np.float64) ** 2))
    noise = np.random.default_rng(seed).normal(
        0.0, np.sqrt(power / 10 ** (snr_db / 10)), len(spoken.samples)
    )
    mixed = np.clip(spoken.samples + noise, -1.0, 1.0).astype(np.float32)
    return Spoken(mixed, spoken.rate, spoken.spans)


def _slice(spoken: Spoken, start: float, end: float) -> npt.NDArray[np.float32]:
    return spoken.samples[int(start * spoken.rate) : int(end * spoken.rate)]


def write_wav(path: Path, samples: npt.NDArray[np.float32], rate: int) -> Path:
    """16-bit mono WAV."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(pcm.tobytes())
    return path


def convert(source: Path, target: Path, *, video: bool = False) -> Path:
    """``source`` (a WAV) as ``target``'s container (by its suffix); ``video`` adds a blank
    64×64 picture for as long as the sound."""
    arguments = [shutil.which("ffmpeg") or "ffmpeg", "-nostdin", "-loglevel", "error", "-y"]
    if video:
        arguments += ["-f", "lavfi", "-i", "color=c=black:s=64x64:r=5"]
    arguments += ["-i", str(source)]
    if video:
        arguments += ["-shortest", "-c:v", "mpeg4", "-c:a", "aac"]
    arguments.append(str(target))
    subprocess.run(arguments, check=True, capture_output=True, timeout=120)  # noqa: S603
    return target
