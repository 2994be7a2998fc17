"""Extraction of untrusted files in a child process with memory and time limits.

PDF, Office, e-mail, RTF and image parsers run on files anyone could have put in the folder:
one DOCX took the indexer to 9.9 GB and a damaged file can make a parser loop. So
``IsolatedExtractor`` hands those files to one long-lived child process (a fresh Python
interpreter started with ``subprocess``, never forked from the indexer, which holds the model
and threads) whose address space is capped with ``RLIMIT_AS``, and waits at most
``timeout_s`` for each answer. A file past either limit becomes an ``ExtractionError`` and the
child is replaced for the next file. Plain text and HTML stay in this process: they are
bounded by the file-size limit and read by our own code.

Protocol, over the child's stdin and stdout: a request is a 4-byte length, a JSON header
(``{"suffix": ".pdf"}``) and an 8-byte length with the file's bytes; the answer is an 8-byte
length and JSON (``{"ok": …}``, ``{"error": reason}`` or ``{"memory": true}``). A recording
is sent as a path instead (``{"suffix": ".mp3", "path": …}``, no bytes: the child's ffmpeg
reads the copy the parent wrote), and before its answer the child sends ``{"progress":
seconds}`` after each segment it transcribed; each resets the parent's deadline. JSON, not
pickle, comes back: a parser that an attacker took over in the child cannot make the parent
run code by what it answers. The child writes nothing else to that stdout (its fd 1 is
pointed at stderr, so a library that prints cannot corrupt the answers).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import selectors
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from connectors.errors import ExtractionError
from connectors.extract import (
    HTML_SUFFIXES,
    TEXT_SUFFIXES,
    AttachmentFailure,
    Extracted,
    Extractor,
)
from connectors.limits import ExtractionLimits, describe_bytes
from connectors.office import MAX_CELLS

_PACKAGE_ROOT = str(Path(__file__).resolve().parents[1])
_LONG = struct.Struct(">Q")
_SHORT = struct.Struct(">I")
# The largest answer the parent accepts: text at the character limit, JSON-escaped (\uXXXX is
# six bytes), plus metadata.
_ANSWER_SLACK = 1 << 20


class IsolatedExtractor:
    """``Extractor`` behind a child process with ``limits.memory_bytes`` and ``timeout_s``.

    The child starts on the first file that needs it and is reused for the next ones; it is
    replaced after a file that timed out, ran out of memory or killed it. ``close()`` stops
    it (idempotent). ``extract`` raises ``ExtractionError`` as ``Extractor.extract`` does,
    and also with "extraction exceeded 1 GiB of memory" / "extraction took longer than
    300 s" style reasons. Not thread-safe.
    """

    def __init__(
        self,
        *,
        ocr: bool = True,
        max_cells: int = MAX_CELLS,
        limits: ExtractionLimits | None = None,
    ) -> None:
        self.limits = limits or ExtractionLimits()
        self.ocr = ocr
        self.max_cells = max_cells
        self._local = Extractor(ocr=ocr, max_cells=max_cells, limits=self.limits)
        self._process: subprocess.Popen[bytes] | None = None
        self.started = 0  # child processes started so far (for tests and diagnostics)
        self.peak_rss_bytes = 0  # the largest peak RSS a child reported (diagnostics)

    def extract(self, suffix: str, data: bytes) -> Extracted:
        """The text of a file with this suffix; see ``Extractor.extract``."""
        if suffix in TEXT_SUFFIXES | HTML_SUFFIXES:
            return self._local.extract(suffix, data)
        return self._request({"suffix": suffix}, data)

    def extract_media(
        self, suffix: str, path: Path, *, progress: Callable[[float], None] | None = None
    ) -> Extracted:
        """The transcript of the recording at ``path``; see ``Extractor.extract_media``.

        The child reads the file itself (a recording may be larger than its memory limit) and
        reports each segment it transcribed: ``timeout_s`` then bounds decoding and each
        segment, so a four-hour recording is not cut off while a hung decoder still is.
        """
        return self._request({"suffix": suffix, "path": str(path)}, b"", progress=progress)

    def _request(
        self,
        header_fields: dict[str, str],
        data: bytes,
        *,
        progress: Callable[[float], None] | None = None,
    ) -> Extracted:
        process = self._child()
        if process.stdin is None or process.stdout is None:  # never: it is started with pipes
            raise ExtractionError("the extraction process has no pipes")
        header = json.dumps(header_fields).encode()
        deadline = time.monotonic() + self.limits.timeout_s
        try:
            process.stdin.write(_SHORT.pack(len(header)) + header + _LONG.pack(len(data)))
            process.stdin.write(data)
            process.stdin.flush()
            while True:
                size = _LONG.unpack(_read_exactly(process.stdout, _LONG.size, deadline))[0]
                if size > 6 * self.limits.max_text_chars + _ANSWER_SLACK:
                    raise ExtractionError(
                        "the extraction process sent an answer larger than allowed"
                    )
                answer = json.loads(_read_exactly(process.stdout, size, deadline))
                if not (isinstance(answer, dict) and "progress" in answer):
                    break
                deadline = time.monotonic() + self.limits.timeout_s
                if progress is not None:
                    progress(float(answer["progress"]))
        except TimeoutError:
            self.close()
            raise ExtractionError(
                f"extraction took longer than {self.limits.timeout_s:g} s (the limit): "
                "the file is too large or damaged"
            ) from None
        except (OSError, EOFError, ValueError, TypeError):
            raise ExtractionError(self._died()) from None
        except ExtractionError:
            self.close()
            raise
        if not isinstance(answer, dict):
            self.close()
            raise ExtractionError("the extraction process sent a malformed answer")
        if isinstance(answer.get("peak_rss"), int):
            self.peak_rss_bytes = max(self.peak_rss_bytes, answer["peak_rss"])
        if answer.get("memory"):
            self.close()
            raise ExtractionError(self._memory_reason())
        if "error" in answer:
            raise ExtractionError(str(answer["error"]))
        try:
            return _extracted_from_json(answer["ok"])
        except (KeyError, TypeError, ValueError):
            self.close()
            raise ExtractionError("the extraction process sent a malformed answer") from None

    def close(self) -> None:
        """Stop the child process (and anything it started), if one runs."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        process.wait()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # at interpreter exit, modules may be gone
            self.close()

    # --- the child ----------------------------------------------------------------------------

    def _child(self) -> subprocess.Popen[bytes]:
        if self._process is not None and self._process.poll() is None:
            return self._process
        self.close()
        options = {
            "ocr": self.ocr,
            "max_cells": self.max_cells,
            "limits": {
                "max_text_chars": self.limits.max_text_chars,
                "max_xml_elements": self.limits.max_xml_elements,
                "max_xml_depth": self.limits.max_xml_depth,
                "max_mime_depth": self.limits.max_mime_depth,
                "max_mime_parts": self.limits.max_mime_parts,
                "memory_bytes": self.limits.memory_bytes,
                "timeout_s": self.limits.timeout_s,
                "max_media_seconds": self.limits.max_media_seconds,
                "max_media_bytes": self.limits.max_media_bytes,
            },
        }
        code = (
            f"import sys; sys.path.insert(0, {_PACKAGE_ROOT!r}); "
            "from connectors.sandbox import serve; serve()"
        )
        # One OpenMP thread for Tesseract: each extra thread reserves address space that counts
        # against the child's limit, and the indexer runs one file at a time anyway.
        environment = {**os.environ, "OMP_THREAD_LIMIT": "1", "MALLOC_ARENA_MAX": "2"}
        self._process = subprocess.Popen(  # noqa: S603 (our own interpreter and code, no shell)
            [sys.executable, "-c", code, json.dumps(options)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=environment,
            start_new_session=True,  # so close() can kill what it started (tesseract, antiword)
        )
        self.started += 1
        return self._process

    def _died(self) -> str:
        process = self._process
        code = None
        if process is not None:
            try:
                code = process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                code = None
        self.close()
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return (
                f"the extraction process was killed ({name}) reading the file: past the "
                f"{describe_bytes(self.limits.memory_bytes)} memory limit or a parser crash"
            )
        if code == 3:  # serve() could not even answer after running out of memory
            return self._memory_reason()
        return (
            f"the extraction process stopped (exit status {code}) reading the file: past the "
            f"{describe_bytes(self.limits.memory_bytes)} memory limit or a parser crash"
        )

    def _memory_reason(self) -> str:
        return (
            f"extraction exceeded {describe_bytes(self.limits.memory_bytes)} of memory "
            "(the limit): the file is too large or a decompression bomb"
        )


def _read_exactly(stream: IO[bytes], size: int, deadline: float) -> bytes:
    """``size`` bytes from ``stream``; ``TimeoutError`` past ``deadline``, ``EOFError`` at end."""
    fd = stream.fileno()
    chunks: list[bytes] = []
    remaining = size
    # A selector, not select.select: a server may hold descriptors past select's 1024.
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while remaining:
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                raise TimeoutError
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            remaining -= len(chunk)
    return b"".join(chunks)


def _extracted_to_json(extracted: Extracted) -> dict[str, Any]:
    return {
        "text": extracted.text,
        "title": extracted.title,
        "created_at": extracted.created_at.isoformat() if extracted.created_at else None,
        "metadata": extracted.metadata,
        "attachments": list(extracted.attachments),
        "attachment_failures": [[f.name, f.reason] for f in extracted.attachment_failures],
        "ocr_used": extracted.ocr_used,
        "media": extracted.media,
    }


def _extracted_from_json(data: dict[str, Any]) -> Extracted:
    created = data["created_at"]
    return Extracted(
        text=str(data["text"]),
        title=str(data["title"]),
        created_at=dt.date.fromisoformat(created) if created else None,
        metadata={str(k): str(v) for k, v in dict(data["metadata"]).items()},
        attachments=tuple(str(name) for name in data["attachments"]),
        attachment_failures=tuple(
            AttachmentFailure(str(name), str(reason))
            for name, reason in data["attachment_failures"]
        ),
        ocr_used=bool(data["ocr_used"]),
        media=_media_from_json(data.get("media")),
    )


def _media_from_json(value: Any) -> dict[str, Any] | None:
    """The child's ``media`` object, checked for the shape the record page relies on."""
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("segments"), list):
        raise ValueError("malformed media")
    for segment in value["segments"]:
        if not (
            isinstance(segment, list)
            and len(segment) == 4
            and all(isinstance(part, int | float) for part in segment)
        ):
            raise ValueError("malformed media segment")
    return dict(value)


# --- in the child ---------------------------------------------------------------------------


def serve() -> None:
    """The child's loop: answer requests on stdin until it closes (see the module docstring).

    Caps its own address space first, so every parser it loads runs under the limit. Exits
    with status 3 when it ran out of memory and could not even answer.
    """
    import resource

    options = json.loads(sys.argv[1])
    limits = ExtractionLimits(**options["limits"])
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever a library prints goes to stderr, not into the answers
    requests = sys.stdin.buffer
    extractor = Extractor(ocr=options["ocr"], max_cells=options["max_cells"], limits=limits)
    while True:
        head = requests.read(_SHORT.size)
        if len(head) < _SHORT.size:
            return
        header = json.loads(requests.read(_SHORT.unpack(head)[0]))
        data = requests.read(_LONG.unpack(requests.read(_LONG.size))[0])

        def report(seconds: float) -> None:
            blob = json.dumps({"progress": seconds}).encode()
            answers.write(_LONG.pack(len(blob)) + blob)
            answers.flush()

        try:
            answer = _answer(extractor, header, data, report)
            del data
            answer["peak_rss"] = _peak_rss()
            blob = json.dumps(answer).encode()
        except MemoryError:
            answer, blob = {"memory": True}, b'{"memory": true}'
        try:
            answers.write(_LONG.pack(len(blob)) + blob)
            answers.flush()
        except MemoryError:
            os._exit(3)
        if answer.get("memory"):
            return  # a fresh process for the next file: this heap may be fragmented


def _peak_rss() -> int:
    """This process's peak RSS (``VmHWM``: unlike ``ru_maxrss``, not carried over from the
    parent's pages before ``exec``); 0 where ``/proc`` is missing."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _answer(
    extractor: Extractor,
    header: dict[str, Any],
    data: bytes,
    report: Callable[[float], None],
) -> dict[str, Any]:
    suffix = str(header["suffix"])
    try:
        if "path" in header:
            extracted = extractor.extract_media(suffix, Path(header["path"]), progress=report)
            return {"ok": _extracted_to_json(extracted)}
        return {"ok": _extracted_to_json(extractor.extract(suffix, data))}
    except ExtractionError as exc:
        return {"error": exc.reason}
    except MemoryError:
        return {"memory": True}
    except RecursionError:
        return {"error": "the file is nested too deeply to read"}
    except Exception as exc:  # any parser bug on a hostile file: this file fails, not the run
        return {"error": f"unreadable file: {type(exc).__name__}: {str(exc)[:200]}"}
