"""Transcription throughput (issue 17): seconds of audio transcribed per second of wall time on
this machine, the real-time factor (its inverse) and the extraction child's peak memory.

Recordings are spoken by espeak-ng from the evaluation's visit-note sentences
(``evaluation.transcription.TEXTS``) and read through ``IsolatedExtractor.extract_media`` exactly
as the files connector reads them: ffmpeg decoding, the pause detector and Moonshine base in the
sandbox child with its memory limit. The model load is timed on its own (a one-second clip
first), so the rate is that of a running indexer. One ONNX Runtime thread, as the indexer runs.
"""

from __future__ import annotations

import time
from pathlib import Path

from connectors.sandbox import IsolatedExtractor
from evaluation.bench.common import BenchConfig, BenchError, Json
from evaluation.speech_samples import recording, speech_tools_missing, write_wav
from evaluation.transcription import TEXTS


def bench_transcription(config: BenchConfig, work: Path) -> Json:
    """Transcribe the visit notes spoken at 175 words a minute (``config.quick``: two of them)
    and one long recording of all of them; raises ``BenchError`` without espeak-ng or ffmpeg."""
    missing = speech_tools_missing()
    if missing is not None:
        raise BenchError(missing)
    folder = work / "transcription"
    folder.mkdir(parents=True)
    texts = TEXTS[:2] if config.records <= BenchConfig.quick().records else TEXTS
    files: list[tuple[str, Path, float]] = []
    for index, text in enumerate(texts):
        spoken = recording(text, voice="en-gb", wpm=175)
        path = write_wav(folder / f"note-{index}.wav", spoken.samples, spoken.rate)
        files.append((path.name, path, spoken.duration_s))
    everything = recording([s for text in texts for s in text], voice="en-us", wpm=175)
    path = write_wav(folder / "all-notes.wav", everything.samples, everything.rate)
    files.append((path.name, path, everything.duration_s))
    clip = recording(["Hello."], voice="en-gb")
    warm = write_wav(folder / "warm-up.wav", clip.samples, clip.rate)

    extractor = IsolatedExtractor()
    try:
        started = time.perf_counter()
        extractor.extract_media(".wav", warm)
        load_s = time.perf_counter() - started
        rows: list[Json] = []
        for name, source, duration in files:
            started = time.perf_counter()
            extracted = extractor.extract_media(".wav", source)
            wall = time.perf_counter() - started
            segments = (extracted.media or {}).get("segments", [])
            rows.append(
                {
                    "file": name,
                    "audio_s": round(duration, 2),
                    "wall_s": round(wall, 3),
                    "real_time_factor": round(wall / duration, 4),
                    "segments": len(segments),
                    "words": len(extracted.text.split()),
                }
            )
        peak = extractor.peak_rss_bytes
    finally:
        extractor.close()
    audio = sum(float(row["audio_s"]) for row in rows)
    wall = sum(float(row["wall_s"]) for row in rows)
    return {
        "targets": {"faster_than_real_time": audio / wall > 1.0},
        "invariants": {"every_file_transcribed": all(int(row["words"]) > 0 for row in rows)},
        "what": "seconds of audio transcribed per wall-clock second by the files connector's "
        "extraction child (ffmpeg decode, pause detection, Moonshine base, 1 thread)",
        "files": rows,
        "audio_s": round(audio, 2),
        "wall_s": round(wall, 3),
        "audio_s_per_s": round(audio / wall, 3),
        "real_time_factor": round(wall / audio, 4),
        "model_load_and_first_clip_s": round(load_s, 3),
        "child_peak_rss_mib": round(peak / (1 << 20), 1),
        "child_memory_limit_mib": round(extractor.limits.memory_bytes / (1 << 20)),
    }
