"""JSONL connector: one record (DESIGN.md) or tombstone ``{"id": …, "deleted": true}`` per line.

The file is treated as an append-only log. The checkpoint holds the byte offset read so far
and a SHA-256 of every byte before it, so a rerun on an appended file reads only the new
lines while a rewritten or truncated file, or one edited anywhere in place (even keeping its
length, as narrowing an ACL can), is read again from the start. The hash is carried along
while reading, so checkpoints cost no extra pass over the file. Records that vanish in a
rewrite are not tombstoned here: the indexer finds them through ``list_ids()``.

Net state only. A log holds superseded lines: a record shared with a team and later narrowed,
a record and later its tombstone. Read line by line and committed every few records, such a
file let a record's old line restore its old ACL (or bring a deleted record back) until its
last line was reached, and a run that died in between left it so. So ``fetch`` reads the part
of the file it is about to yield twice: first the ids and the number of the last line that
names each, then the lines, yielding a record or tombstone only from the last line of its id.
Each record goes straight from its stored state to the file's final word on it, whatever the
batch size, checkpoint or crash point. Memory: one dict entry per distinct id in that part.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from pydantic import Field

from connectors.base import Checkpoint, Connector, Failure, SourceItem
from connectors.errors import FatalConnectorError, RecordError
from connectors.limits import MAX_TEXT_CHARS
from connectors.record import Record, Tombstone, is_tombstone, parse_record

_BLOCK = 1 << 20
# A record at the text limit written with every character as a \uXXXX escape is 30 MB; twice
# that leaves room for the rest of the record. A longer line is read past, never held whole.
MAX_LINE_BYTES = 64 << 20
_BOM = b"\xef\xbb\xbf"


class JsonlCheckpoint(Checkpoint):
    """How far the file was read and what the bytes up to there looked like."""

    offset: int = Field(default=0, ge=0, description="bytes consumed")
    line: int = Field(default=0, ge=0, description="lines consumed")
    prefix_sha256: str | None = Field(
        default=None, description="SHA-256 of every byte before offset"
    )


@dataclass(frozen=True, slots=True)
class _Line:
    number: int
    end: int  # offset just after this line
    item: Record | Tombstone | Failure | None  # None: a blank line
    consumed: bool  # False: the last line had no newline and did not parse (maybe mid-write)
    raw: bytes = b""  # the line's bytes as read (for the running prefix hash)
    start: int = 0  # offset of the line's first byte
    skipped: bool = False  # too long: not kept in ``raw``, hashed from the file instead


class JsonlConnector(Connector):
    """Reads a JSONL file of records, yielding a checkpoint every ``checkpoint_every`` lines.

    A record whose text is longer than ``max_text_chars`` is a failure for its line, and so
    is a line longer than ``max_line_bytes`` (read past in blocks, never held whole).
    """

    scheme = "jsonl"
    checkpoint_type = JsonlCheckpoint

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        checkpoint_every: int = 200,
        max_text_chars: int = MAX_TEXT_CHARS,
        max_line_bytes: int = MAX_LINE_BYTES,
    ) -> None:
        if checkpoint_every <= 0 or max_text_chars <= 0 or max_line_bytes <= 0:
            raise ValueError("checkpoint_every, max_text_chars and max_line_bytes must be positive")
        self.path = Path(path)
        self.checkpoint_every = checkpoint_every
        self.max_text_chars = max_text_chars
        self.max_line_bytes = max_line_bytes

    @property
    def source_id(self) -> str:
        return f"jsonl:{self.path.resolve()}"

    def initial_checkpoint(self) -> JsonlCheckpoint:
        return JsonlCheckpoint()

    def fetch(self, checkpoint: Checkpoint) -> Iterator[SourceItem]:
        """Yield the lines after ``checkpoint`` in file order, then a final checkpoint.

        Malformed lines become ``Failure("PATH:LINE", reason)``. A last line without a newline
        that does not parse is reported but not consumed: a writer may still be finishing it.
        Raises ``FatalConnectorError`` when the file cannot be opened.
        """
        if not isinstance(checkpoint, JsonlCheckpoint):
            raise TypeError(f"expected JsonlCheckpoint, got {type(checkpoint).__name__}")
        with self._open() as handle:
            prefix = self._prefix_hash(handle, checkpoint)
            if prefix is None:
                checkpoint, prefix = self.initial_checkpoint(), hashlib.sha256()
            offset, line = checkpoint.offset, checkpoint.line
            last_line = self._last_lines(handle, offset, line)
            since_checkpoint = 0
            for parsed in self._lines(handle, offset, line):
                item = parsed.item
                if (
                    isinstance(item, Record | Tombstone)
                    and last_line.get(item.id, 0) > parsed.number
                ):
                    item = None  # superseded by a later line of the same id (module docstring)
                if item is not None:
                    yield item
                if not parsed.consumed:
                    break
                if parsed.skipped:
                    self._hash_range(handle, parsed.start, parsed.end, prefix)
                else:
                    prefix.update(parsed.raw)
                offset, line = parsed.end, parsed.number
                since_checkpoint += 1
                if since_checkpoint >= self.checkpoint_every:
                    since_checkpoint = 0
                    yield self._checkpoint(offset, line, prefix)
            yield self._checkpoint(offset, line, prefix)

    def list_ids(self) -> Iterable[str]:
        """Ids a full read leaves standing: later lines replace earlier, tombstones remove."""
        ids: dict[str, None] = {}
        with self._open() as handle:
            for parsed in self._lines(handle, 0, 0):
                if isinstance(parsed.item, Record):
                    ids[parsed.item.id] = None
                elif isinstance(parsed.item, Tombstone):
                    ids.pop(parsed.item.id, None)
        return list(ids)

    # --- reading ----------------------------------------------------------------------------

    def _last_lines(self, handle: BinaryIO, offset: int, line: int) -> dict[str, int]:
        """The number of the last line after ``offset`` that names each record id.

        Lines appended after this pass are not in it, so they are never skipped: they are newer
        than every line it saw.
        """
        last: dict[str, int] = {}
        for parsed in self._lines(handle, offset, line):
            if isinstance(parsed.item, Record | Tombstone):
                last[parsed.item.id] = parsed.number
        return last

    def estimate_items(self, checkpoint: Checkpoint) -> int | None:
        """About how many items ``fetch(checkpoint)`` yields, for a progress bar: the lines
        after the checkpoint's offset (all of them in a file now shorter than it), counted
        without parsing. ``None`` when the file cannot be read."""
        offset = checkpoint.offset if isinstance(checkpoint, JsonlCheckpoint) else 0
        lines, last = 0, b"\n"
        try:
            with self.path.open("rb") as handle:
                if handle.seek(0, 2) < offset:
                    offset = 0  # truncated: read again from the start
                handle.seek(offset)
                while block := handle.read(1 << 20):
                    lines += block.count(b"\n")
                    last = block[-1:]
        except OSError:
            return None
        return lines + (last != b"\n")

    def _open(self) -> BinaryIO:
        try:
            return self.path.open("rb")
        except OSError as exc:
            raise FatalConnectorError(f"cannot open {self.path}: {exc.strerror or exc}") from None

    def _lines(self, handle: BinaryIO, offset: int, line: int) -> Iterator[_Line]:
        handle.seek(offset)
        number = line
        position = offset
        while original := handle.readline(self.max_line_bytes + 1):
            start = position
            number += 1
            position += len(original)
            terminated = original.endswith(b"\n")
            if len(original) > self.max_line_bytes and not terminated:
                length, terminated = self._skip_line(handle, len(original))
                position = start + length
                reason = (
                    f"the line is {length:,} bytes long, more than the "
                    f"{self.max_line_bytes:,}-byte limit"
                )
                if not terminated:  # maybe still being written: leave it for the next run
                    failure = Failure(f"{self.path}:{number}", f"incomplete last line: {reason}")
                    yield _Line(number, start, failure, consumed=False)
                    return
                failure = Failure(f"{self.path}:{number}", reason)
                yield _Line(number, position, failure, consumed=True, start=start, skipped=True)
                continue
            raw = original[len(_BOM) :] if start == 0 and original.startswith(_BOM) else original
            item = self._parse(raw.rstrip(b"\r\n"), number)
            if item is None:
                yield _Line(number, position, None, consumed=True, raw=original)
                continue
            if isinstance(item, Failure) and not terminated:
                # A partial last line: report it, but leave it unread for the next run.
                reason = f"incomplete last line (no newline): {item.reason}"
                yield _Line(number, start, Failure(item.source_ref, reason), consumed=False)
                return
            yield _Line(number, position, item, consumed=True, raw=original)

    def _skip_line(self, handle: BinaryIO, read: int) -> tuple[int, bool]:
        """Read past the rest of an over-long line without keeping it: (its length in bytes,
        whether it ends with a newline)."""
        length = read
        while block := handle.readline(_BLOCK):
            length += len(block)
            if block.endswith(b"\n"):
                return length, True
        return length, False

    @staticmethod
    def _hash_range(handle: BinaryIO, start: int, end: int, prefix: hashlib._Hash) -> None:
        """Feed bytes ``start:end`` of the file to ``prefix``, leaving the position as it was."""
        position = handle.tell()
        handle.seek(start)
        remaining = end - start
        while remaining > 0:
            block = handle.read(min(_BLOCK, remaining))
            if not block:
                break
            prefix.update(block)
            remaining -= len(block)
        handle.seek(position)

    def _parse(self, raw: bytes, number: int) -> Record | Tombstone | Failure | None:
        ref = f"{self.path}:{number}"
        if not raw.strip():
            return None
        try:
            value = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            return Failure(ref, "not valid UTF-8")
        except (ValueError, RecursionError) as exc:
            return Failure(ref, f"not valid JSON: {exc}")
        if not isinstance(value, dict):
            return Failure(ref, "a line must be a JSON object")
        if is_tombstone(value):
            record_id = value.get("id")
            if not isinstance(record_id, str) or not record_id.strip():
                return Failure(ref, "a tombstone needs a non-empty string 'id'")
            if not _is_unicode(record_id):
                return Failure(
                    ref, "the tombstone's 'id' holds a lone surrogate (a broken \\u escape)"
                )
            return Tombstone(record_id.strip())
        try:
            return parse_record(value, source_ref=ref, max_text_chars=self.max_text_chars)
        except RecordError as exc:
            return Failure.from_error(exc)

    # --- file identity ----------------------------------------------------------------------

    def _checkpoint(self, offset: int, line: int, prefix: hashlib._Hash) -> JsonlCheckpoint:
        if offset == 0:
            return JsonlCheckpoint()
        return JsonlCheckpoint(offset=offset, line=line, prefix_sha256=prefix.hexdigest())

    def _prefix_hash(self, handle: BinaryIO, checkpoint: JsonlCheckpoint) -> hashlib._Hash | None:
        """The running hash at the checkpoint's offset, or None when those bytes changed."""
        prefix = hashlib.sha256()
        if checkpoint.offset == 0:
            return prefix
        if checkpoint.prefix_sha256 is None:
            return None
        if os.fstat(handle.fileno()).st_size < checkpoint.offset:
            return None
        remaining = checkpoint.offset
        handle.seek(0)
        while remaining:
            block = handle.read(min(_BLOCK, remaining))
            if not block:
                return None
            prefix.update(block)
            remaining -= len(block)
        return prefix if prefix.hexdigest() == checkpoint.prefix_sha256 else None


def _is_unicode(text: str) -> bool:
    """False when ``text`` holds a lone surrogate (it cannot be stored as UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
