"""Transcription evaluation (issue 17): word error rate on recordings made from known text, and
whether a phrase from each recording finds it first, citing the right time.

``python -m evaluation.transcription --out reports/transcription`` (``make eval-transcription``)
writes ``transcription.json`` (sorted keys) and ``transcription.md``.

Recordings. Each is a short visit note read aloud by espeak-ng: three sentences shared with other
recordings and, second, one sentence found in no other recording (``UNIQUE``), whose words are
the search phrase. Every note is read by three voices (en-gb, en-us, en+f3, a female variant)
at 140, 175 and 210 words a minute, clean and with white noise at 20 dB and 10 dB SNR (27
recordings, one unique sentence each). Sentences are spoken one by one and joined with pauses,
so each sentence's true start and end are known. The texts were written for this evaluation.

Real speech. The eight channel-test clips of Debian's ``alsa-utils`` ("Front left", …, GPL-2,
``/usr/share/sounds/alsa``; fetched with ``apt-get download alsa-utils`` when not installed),
joined with pauses, and ``test-data/beckett.wav`` from the ``moonshine-cpp`` wheel (the wheel
is MIT-licensed; no separate licence is stated for the recording).

Measures. WER with ``jiwer`` after lower-casing, removing punctuation and collapsing spaces.
Search: every recording is indexed by the files connector (the sandbox child, Moonshine base)
into a scratch store with the real embedding model; the phrase is searched across all of
them; "first" is the recording ranked 1, and the cited time range is compared with the unique
sentence's true span: ``within_2s`` when it starts no earlier than 2 s before the sentence and
ends no later than 2 s after it, ``overlaps`` when it overlaps the sentence at all.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from connectors.files import FilesConnector
from evaluation.speech_samples import (
    Spoken,
    recording,
    speech_tools_missing,
    with_noise,
    write_wav,
)

# Shared sentences: a visit note's opening and closing lines.
TEXTS: tuple[tuple[str, ...], ...] = (
    (
        "I visited the family home on Tuesday morning.",
        "Both children were at home with their mother.",
        "The house was tidy and warm.",
    ),
    (
        "This was an unannounced visit after a referral from the school.",
        "Mother answered the door and let me in.",
        "We sat together in the kitchen.",
    ),
    (
        "I explained the reason for my visit to both parents.",
        "They were polite and answered my questions.",
        "I agreed to visit again next week.",
    ),
    (
        "The visit lasted about forty minutes.",
        "The children appeared clean and appropriately dressed.",
        "No concerns were raised by the neighbours.",
    ),
)
# One sentence per recording, and the words searched for it.
UNIQUE: tuple[tuple[str, str], ...] = (
    ("Leon showed me the bruise on his left forearm from football.", "bruise on his forearm"),
    ("The health visitor weighed the baby and found she had gained weight.", "baby gained weight"),
    ("Grandmother collects the twins from nursery every Thursday.", "twins from nursery"),
    ("Dad has started a parenting course at the family centre.", "parenting course"),
    ("The bedroom window was broken and covered with cardboard.", "window covered with cardboard"),
    ("Maya told me she feels safe when her aunt stays over.", "safe when her aunt stays"),
    ("There was a strong smell of cannabis in the hallway.", "smell of cannabis"),
    ("The landlord has promised to repair the damp in the bathroom.", "damp in the bathroom"),
    ("Mother missed the appointment with the mental health nurse.", "mental health nurse"),
    ("The school said the boy arrived hungry three mornings this week.", "arrived hungry"),
    (
        "Police were called to the flat after neighbours heard shouting.",
        "neighbours heard shouting",
    ),
    ("The dog was kept in the garden and appeared well cared for.", "dog kept in the garden"),
    ("Sophie wants to stay with her foster carers until the summer.", "foster carers summer"),
    ("The electricity was back on and the heating was working.", "heating was working"),
    ("Father agreed to keep his new partner away from the children.", "new partner away"),
    ("The youth worker takes him climbing on Saturday mornings.", "youth worker climbing"),
    ("I saw dirty nappies piled beside the kitchen bin.", "dirty nappies"),
    ("The midwife is worried about missed antenatal scans.", "missed antenatal scans"),
    ("Ella drew a picture of her family and left her brother out.", "drew a picture of her family"),
    ("The food bank parcel arrived on Monday with milk.", "food bank parcel"),
    ("Her uncle has moved into the spare room without telling us.", "moved into the spare room"),
    ("Liam is sleeping on a mattress on the living room floor.", "mattress on the floor"),
    ("The doctor prescribed cream for the rash on the toddler's legs.", "cream for the rash"),
    ("Mum proudly showed me the new bunk beds from the charity.", "new bunk beds"),
    ("The probation officer confirmed the curfew is being kept.", "probation officer curfew"),
    ("The speech therapy sessions will restart in September.", "speech therapy sessions"),
    ("The front garden was full of broken furniture and rubbish.", "broken furniture and rubbish"),
)
VOICES = ("en-gb", "en-us", "en+f3")
SPEEDS = (140, 175, 210)
NOISE: tuple[float | None, ...] = (None, 20.0, 10.0)  # SNR in dB; None: clean
ALSA_CLIPS = (
    ("Front_Left", "front left"),
    ("Front_Center", "front center"),
    ("Front_Right", "front right"),
    ("Rear_Left", "rear left"),
    ("Rear_Center", "rear center"),
    ("Rear_Right", "rear right"),
    ("Side_Left", "side left"),
    ("Side_Right", "side right"),
)
BECKETT = "Ever tried. Ever failed. No matter. Try again. Fail again. Fail better."
EVAL_PRINCIPAL = "team:eval"


def normalise(text: str) -> str:
    """Lower case, letters, digits and apostrophes only, single spaces."""
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower().replace("-", " ")).split())


def word_error_rate(reference: str, hypothesis: str) -> float:
    import jiwer

    return float(jiwer.wer(normalise(reference), normalise(hypothesis) or "<empty>"))


def _grid() -> list[dict[str, Any]]:
    """The 27 synthetic recordings: voice, speed, noise, sentences and the target's index."""
    plans: list[dict[str, Any]] = []
    combos = [(v, s, n) for v in VOICES for s in SPEEDS for n in NOISE]
    for index, ((voice, wpm, snr), (target, phrase)) in enumerate(zip(combos, UNIQUE, strict=True)):
        shared = TEXTS[index % len(TEXTS)]
        plans.append(
            {
                "name": f"note-{index:02d}-{voice.replace('+', '-')}-{wpm}-"
                f"{'clean' if snr is None else f'snr{snr:g}'}.wav",
                "voice": voice,
                "wpm": wpm,
                "noise": "clean" if snr is None else f"{snr:g} dB SNR",
                "snr": snr,
                "sentences": [shared[0], target, shared[1], shared[2]],
                "target": 1,
                "phrase": phrase,
            }
        )
    return plans


def _alsa_folder(cache: Path) -> Path | None:
    """The alsa-utils channel-test clips: installed, or unpacked from ``apt-get download``."""
    installed = Path("/usr/share/sounds/alsa")
    if (installed / "Front_Left.wav").is_file():
        return installed
    unpacked = cache / "alsa-utils" / "usr" / "share" / "sounds" / "alsa"
    if (unpacked / "Front_Left.wav").is_file():
        return unpacked
    apt, dpkg = shutil.which("apt-get"), shutil.which("dpkg")
    if apt is None or dpkg is None:
        return None
    cache.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(  # noqa: S603 (fixed programs and arguments)
            [apt, "download", "alsa-utils"], cwd=cache, check=True, capture_output=True, timeout=300
        )
        (deb,) = sorted(cache.glob("alsa-utils_*.deb"))
        subprocess.run(  # noqa: S603
            [dpkg, "-x", str(deb), str(cache / "alsa-utils")], check=True, timeout=120
        )
    except (subprocess.SubprocessError, OSError, ValueError):
        return None
    return unpacked if (unpacked / "Front_Left.wav").is_file() else None


def _alsa_recording(folder: Path) -> Spoken:
    """The eight clips (48 kHz) joined with a second of silence, resampled to 16 kHz by ffmpeg."""
    import wave

    parts: list[np.ndarray[Any, Any]] = []
    spans: list[tuple[float, float]] = []
    rate = 16_000
    cursor = 0
    for stem, _ in ALSA_CLIPS:
        with tempfile.TemporaryDirectory() as scratch:
            target = Path(scratch) / "clip.wav"
            subprocess.run(  # noqa: S603
                [shutil.which("ffmpeg") or "ffmpeg", "-nostdin", "-loglevel", "error", "-i",
                 str(folder / f"{stem}.wav"), "-ac", "1", "-ar", str(rate), str(target)],
                check=True, timeout=60,
            )  # fmt: skip
            with wave.open(str(target)) as reader:
                raw = reader.readframes(reader.getnframes())
        samples = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
        gap = np.zeros(rate, dtype=np.float32)
        parts.extend((gap, samples))
        cursor += len(gap)
        spans.append((cursor / rate, (cursor + len(samples)) / rate))
        cursor += len(samples)
    parts.append(np.zeros(rate, dtype=np.float32))
    return Spoken(np.concatenate(parts).astype(np.float32), rate, tuple(spans))


def _beckett() -> Path | None:
    import importlib.util

    spec = importlib.util.find_spec("moonshine_cpp")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "test-data" / "beckett.wav"
    return path if path.is_file() else None


def run(out: Path, *, work: Path, quick: bool = False) -> dict[str, Any]:
    """Make the recordings, index and search them, write the reports; returns the JSON."""
    from indexer import Indexer
    from retrieval.chunking import ChunkingConfig
    from retrieval.embedding import SentenceTransformerEmbedder
    from retrieval.models import AccessScope, SearchConfig, SearchRequest
    from retrieval.search import HybridSearcher
    from retrieval.store import RecordStore

    missing = speech_tools_missing()
    if missing is not None:
        raise SystemExit(f"evaluation.transcription: {missing}")
    source = work / "source"
    source.mkdir(parents=True)
    (source / "_acl.json").write_text(json.dumps({"acl": [EVAL_PRINCIPAL]}), encoding="utf-8")
    plans = _grid()[:4] if quick else _grid()
    items: list[dict[str, Any]] = []
    for plan in plans:
        spoken = recording(plan["sentences"], voice=plan["voice"], wpm=plan["wpm"])
        if plan["snr"] is not None:
            spoken = with_noise(spoken, plan["snr"], seed=len(items))
        write_wav(source / plan["name"], spoken.samples, spoken.rate)
        target = spoken.spans[plan["target"]]
        items.append(
            {
                **{k: plan[k] for k in ("name", "voice", "wpm", "noise", "phrase")},
                "reference": " ".join(plan["sentences"]),
                "duration_s": round(spoken.duration_s, 2),
                "true_span_s": [round(target[0], 2), round(target[1], 2)],
                "kind": "synthetic",
            }
        )
    alsa = _alsa_folder(work / "apt-cache")
    if alsa is not None:
        spoken = _alsa_recording(alsa)
        write_wav(source / "alsa-channel-test.wav", spoken.samples, spoken.rate)
        target = spoken.spans[4]
        items.append(
            {
                "name": "alsa-channel-test.wav",
                "kind": "real speech",
                "source": "Debian alsa-utils 1.2.8 /usr/share/sounds/alsa/*.wav (GPL-2)",
                "reference": " ".join(words for _, words in ALSA_CLIPS),
                "phrase": "rear center",
                "duration_s": round(spoken.duration_s, 2),
                "true_span_s": [round(target[0], 2), round(target[1], 2)],
            }
        )
    beckett = _beckett()
    if beckett is not None:
        shutil.copyfile(beckett, source / "beckett.wav")
        items.append(
            {
                "name": "beckett.wav",
                "kind": "real speech",
                "source": "moonshine-cpp 0.1.4 wheel, test-data/beckett.wav (MIT-licensed wheel; "
                "no separate licence stated for the recording)",
                "reference": BECKETT,
                "phrase": "try again fail again",
                "duration_s": 9.96,
                "true_span_s": None,  # one phrase run: the times of its words are not known
            }
        )

    store = RecordStore(work / "store.sqlite3")
    try:
        embedder = SentenceTransformerEmbedder()
        indexer = Indexer(store, embedder, ChunkingConfig())
        connector = FilesConnector(source, media_dir=work / "media")
        started = time.perf_counter()
        summary = indexer.run(connector)
        index_s = time.perf_counter() - started
        peak = getattr(connector.extractor, "peak_rss_bytes", 0)
        searcher = HybridSearcher(store, embedder, SearchConfig())
        scope = AccessScope.of(EVAL_PRINCIPAL)
        for item in items:
            record_id = f"files:{item['name']}"
            doc = store.document(record_id)
            item["transcript"] = doc.text if doc is not None else ""
            item["wer"] = round(word_error_rate(item["reference"], item["transcript"]), 4)
            result = searcher.search(SearchRequest(text=item["phrase"], scope=scope, top_k=5))
            hits = list(result.hits)
            item["first"] = bool(hits) and hits[0].document_id == record_id
            item["rank"] = next(
                (n for n, hit in enumerate(hits, start=1) if hit.document_id == record_id), None
            )
            heard = next((h.time_range for h in hits if h.document_id == record_id), None)
            item["cited_s"] = list(heard) if heard is not None else None
            span = item["true_span_s"]
            if heard is not None and span is not None:
                item["within_2s"] = heard[0] >= span[0] - 2 and heard[1] <= span[1] + 2
                item["overlaps"] = heard[0] < span[1] and heard[1] > span[0]
    finally:
        store.close()
        connector.close()
    report = _report(items, summary.failures, connector, index_s, peak)
    out.mkdir(parents=True, exist_ok=True)
    (out / "transcription.json").write_text(
        json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    (out / "transcription.md").write_text(_markdown(report), encoding="utf-8")
    return report


def _mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def _report(
    items: list[dict[str, Any]],
    failures: list[tuple[str, str]],
    connector: FilesConnector,
    index_s: float,
    peak: int,
) -> dict[str, Any]:
    synthetic = [i for i in items if i["kind"] == "synthetic"]
    timed = [i for i in items if "within_2s" in i]
    by: dict[str, dict[str, float | None]] = {}
    for key in ("voice", "wpm", "noise"):
        groups: dict[str, list[float]] = {}
        for item in synthetic:
            groups.setdefault(str(item[key]), []).append(item["wer"])
        by[key] = {name: _mean(values) for name, values in groups.items()}
    return {
        "model": "Moonshine base (moonshine-cpp 0.1.4), ONNX Runtime, 1 thread",
        "recordings": items,
        "failures": [list(f) for f in failures],
        "wer_mean_synthetic": _mean([i["wer"] for i in synthetic]),
        "wer_by": by,
        "search_first": sum(bool(i["first"]) for i in items),
        "search_total": len(items),
        "time_within_2s": sum(bool(i["within_2s"]) for i in timed),
        "time_overlaps": sum(bool(i["overlaps"]) for i in timed),
        "time_total": len(timed),
        "audio_s": round(connector.transcribed_s, 2),
        "transcribing_s": round(connector.transcribing_s, 2),
        "audio_s_per_s": round(connector.transcribed_s / max(connector.transcribing_s, 1e-9), 3),
        "real_time_factor": round(connector.transcribing_s / max(connector.transcribed_s, 1e-9), 4),
        "index_run_s": round(index_s, 1),
        "child_peak_rss_mib": round(peak / (1 << 20), 1),
    }


def _markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Transcription (issue 17)",
        "",
        f"Model: {report['model']}. Made by `make eval-transcription` "
        "(`python -m evaluation.transcription`); see the module docstring for the recordings.",
        "",
        f"- WER, synthetic visit notes (mean of {len([r for r in report['recordings'] if r['kind'] == 'synthetic'])}): "  # noqa: E501
        f"**{report['wer_mean_synthetic']}**",
        f"- Phrase finds its recording first: **{report['search_first']} of "
        f"{report['search_total']}**",
        f"- Cited time within 2 s of the phrase's sentence: **{report['time_within_2s']} of "
        f"{report['time_total']}** (overlapping it: {report['time_overlaps']})",
        f"- Speed: {report['audio_s']} s of audio in {report['transcribing_s']} s: "
        f"**{report['audio_s_per_s']} s of audio per second** (real-time factor "
        f"{report['real_time_factor']}), extraction child's peak RSS "
        f"**{report['child_peak_rss_mib']} MiB**",
        "",
        "## WER by condition (synthetic)",
        "",
        "| factor | value | mean WER |",
        "|---|---|---|",
    ]
    for key, groups in report["wer_by"].items():
        lines += [f"| {key} | {name} | {wer} |" for name, wer in groups.items()]
    lines += [
        "",
        "## Every recording",
        "",
        "| recording | kind | voice | wpm | noise | WER | first | cited s | true s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["recordings"]:
        lines.append(
            f"| {r['name']} | {r['kind']} | {r.get('voice', '')} | {r.get('wpm', '')} | "
            f"{r.get('noise', '')} | {r['wer']} | {'yes' if r['first'] else 'no'} | "
            f"{r['cited_s']} | {r['true_span_s']} |"
        )
    real = [r for r in report["recordings"] if r["kind"] == "real speech"]
    if real:
        lines += ["", "## Real speech", ""]
        lines += [
            f"- {r['name']}: {r['source']}. Reference: “{r['reference']}”. Transcript: "
            f"“{r['transcript']}”. WER {r['wer']}."
            for r in real
        ]
    if report["failures"]:
        lines += ["", "## Failures", ""] + [f"- {ref}: {why}" for ref, why in report["failures"]]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation.transcription", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("reports"))
    parser.add_argument("--quick", action="store_true", help="4 synthetic recordings only")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="casesearch-transcription-") as scratch:
        report = run(args.out, work=Path(scratch), quick=args.quick)
    print(
        f"WER {report['wer_mean_synthetic']}; first {report['search_first']}/"
        f"{report['search_total']}; within 2 s {report['time_within_2s']}/"
        f"{report['time_total']}; {report['audio_s_per_s']} s of audio per s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
