"""Files connector: a folder tree of case documents (text, HTML, PDF, Office, e-mail, scans,
audio and video recordings).

Conventions (manifest, ACL files, folder layout, ids) are documented in
``connectors/README.md``. Per file, the stream holds a ``Record``, or a ``Failure`` naming the
file's path relative to the root; deleted files become ``Tombstone`` items.

Change detection: the checkpoint maps each indexed file to (size, mtime_ns, sha256, id, hash of
its resolved metadata). A file whose size, mtime and metadata are unchanged is skipped without
being read; when size or mtime changed it is hashed and re-extracted only if its bytes differ.
A same-size rewrite within one mtime tick is therefore missed, as it is by rsync.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import stat
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal, TypeGuard, get_args
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from connectors.base import Checkpoint, Connector, Failure, SourceItem
from connectors.errors import FatalConnectorError, RecordError
from connectors.extract import (
    IMAGE_SUFFIXES,
    SUPPORTED_SUFFIXES,
    AttachmentFailure,
    Extracted,
    ExtractionError,
    Extractor,
)
from connectors.file_metadata import (
    ACL_FILE_NAMES,
    MANIFEST_NAMES,
    AclResolver,
    DateSource,
    Manifest,
    ManifestRow,
    find_manifest,
    folder_convention,
    load_manifest,
    own_metadata,
)
from connectors.limits import ExtractionLimits
from connectors.media import MEDIA_SUFFIXES, MediaCopies
from connectors.office import MAX_CELLS
from connectors.record import Record, Tombstone, parse_record
from connectors.sandbox import IsolatedExtractor

DEFAULT_MAX_BYTES = 50_000_000
NO_ACL = "no acl: add a manifest row or an _acl.json"
# Bump when extraction changes in a way that should re-read every file.
EXTRACTION_VERSION = 2  # 2: dates and types from the documents themselves


class FileState(BaseModel):
    """What the checkpoint remembers about one indexed file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    size: int
    mtime_ns: int
    sha256: str
    id: str
    meta: str = Field(description="hash of the resolved metadata (id, case, type, ACL, …)")


class FilesCheckpoint(Checkpoint):
    """Indexed files by POSIX path relative to the root."""

    files: dict[str, FileState] = Field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Candidate:
    rel: str
    path: Path
    suffix: str
    problem: str | None = None  # set: not read, reported as a failure with this reason


# Why the walk passes over a file it finds (and, but for "type", how a manifest row is told).
_Passed = Literal["hidden", "lock", "link", "special", "acl", "manifest", "type", "image"]
_PASSED_REASONS: dict[_Passed, str] = {
    "hidden": "is a hidden file (its name starts with '.'), which is not read",
    "lock": "is an Office lock file (its name starts with '~$'), which is not read",
    "link": "is a symbolic link, which is not followed",
    "special": "is not a regular file (a FIFO, socket or device), which is never opened",
    "acl": "is an ACL file, not a document",
    "manifest": "is the manifest itself, not a document",
    "image": "is an image and OCR is switched off, so it is not read",
}


class FilesConnector(Connector):
    """Reads every supported file under ``root``.

    ``max_bytes`` bounds the size of a file that is read at all; ``max_cells`` the cells read
    from one spreadsheet; ``ocr`` enables Tesseract for images and scanned PDF pages (when off,
    image files are skipped like unknown types); ``manifest`` names a CSV or JSONL manifest
    (default: ``manifest.csv`` or ``manifest.jsonl`` in the root); a checkpoint is yielded
    after every ``checkpoint_every`` files read; ``limits`` caps the text of one file, the XML
    of one Office document, the MIME nesting of one e-mail, and the memory and time of the
    child process that reads PDF, Office, e-mail, RTF, image, audio and video files
    (``limits.isolate``). Recordings are transcribed (``connectors.media``); with
    ``media_dir`` a copy of each recording's bytes is kept there by SHA-256 for playback.
    ``transcribed_s`` and ``transcribing_s`` add up the seconds of audio transcribed and the
    seconds it took, for the progress line.
    Unknown extensions, hidden files, symlinks and ACL/manifest files are skipped; the
    relative paths of skipped files of unknown type from the last walk are in ``skipped``.
    Special files (FIFOs, sockets, devices) and names that are not valid UTF-8 are never
    opened: each is a failure. ``close()`` stops the child process (``fetch`` also stops it
    when it ends).
    """

    scheme = "files"
    checkpoint_type = FilesCheckpoint
    reports_failures_every_run = True

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_cells: int = MAX_CELLS,
        ocr: bool = True,
        manifest: str | os.PathLike[str] | None = None,
        checkpoint_every: int = 100,
        limits: ExtractionLimits | None = None,
        media_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        if max_bytes <= 0 or max_cells <= 0 or checkpoint_every <= 0:
            raise ValueError("max_bytes, max_cells and checkpoint_every must be positive")
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.manifest = manifest
        self.checkpoint_every = checkpoint_every
        self.limits = limits or ExtractionLimits()
        self.extractor: Extractor | IsolatedExtractor = (
            IsolatedExtractor(ocr=ocr, max_cells=max_cells, limits=self.limits)
            if self.limits.isolate
            else Extractor(ocr=ocr, max_cells=max_cells, limits=self.limits)
        )
        self.skipped: tuple[str, ...] = ()
        self.media = MediaCopies(Path(media_dir)) if media_dir is not None else None
        self.transcribed_s = 0.0
        self.transcribing_s = 0.0

    @property
    def source_id(self) -> str:
        return f"files:{self.root.resolve()}"

    def initial_checkpoint(self) -> FilesCheckpoint:
        return FilesCheckpoint()

    def close(self) -> None:
        """Stop the extraction child process, if one runs (idempotent)."""
        if isinstance(self.extractor, IsolatedExtractor):
            self.extractor.close()

    def fetch(self, checkpoint: Checkpoint) -> Iterator[SourceItem]:
        """Yield records for new or changed files, tombstones for removed ones, then a checkpoint.

        Failed files are not recorded in the checkpoint (they are retried and reported on the
        next run); a previously indexed file that fails keeps its old record, except that a
        file that lost its ACL is withdrawn with a tombstone. Manifest rows that are malformed
        or name no file the walk reads come first, as failures naming ``manifest.ext:LINE``;
        they change no record, so they are reported again on every run until the manifest is
        fixed. Raises ``FatalConnectorError`` when the root is not a folder or the manifest is
        unreadable.
        """
        if not isinstance(checkpoint, FilesCheckpoint):
            raise TypeError(f"expected FilesCheckpoint, got {type(checkpoint).__name__}")
        try:
            yield from self._fetch(checkpoint)
        finally:
            self.close()  # no child process outlives the run (the indexer may not call close)

    def _fetch(self, checkpoint: FilesCheckpoint) -> Iterator[SourceItem]:
        manifest = self._manifest()
        for problem in manifest.problems:
            yield Failure.from_error(problem)
        manifest_path = find_manifest(self.root, self.manifest)
        for row in manifest.rows.values():
            reason = self._unread_reason(row.path, manifest_path)
            if reason is not None:
                yield Failure(row.ref, reason)
        previous = checkpoint.files
        state = dict(previous)
        acl = AclResolver(self.root)
        seen: set[str] = set()
        work = 0
        for candidate in self._walk():
            seen.add(candidate.rel)
            items, new_state = self._process(candidate, previous.get(candidate.rel), manifest, acl)
            if new_state is None:
                if any(isinstance(item, Tombstone) for item in items):
                    state.pop(candidate.rel, None)
            else:
                state[candidate.rel] = new_state
            yield from items
            if items:
                work += 1
                if work % self.checkpoint_every == 0:
                    yield FilesCheckpoint.model_construct(files=dict(state))
        for rel in sorted(set(previous) - seen):
            yield Tombstone(previous[rel].id)
            state.pop(rel, None)
        yield FilesCheckpoint.model_construct(files=state)

    def list_ids(self) -> Iterable[str]:
        """Ids of every supported file now under the root (readable or not; not those whose
        name is not valid UTF-8 or that are special files, which never get a record)."""
        manifest = self._manifest()
        return [
            self._record_id(c.rel, manifest.rows.get(c.rel))
            for c in self._walk()
            if c.problem is None
        ]

    def estimate_items(self, checkpoint: Checkpoint) -> int | None:
        """About how many items ``fetch(checkpoint)`` yields, for a progress bar: files that are
        new or whose size or modification time changed, plus files gone. Only ``stat`` is
        asked, so a change of metadata alone (a manifest row, an ACL file) is not counted."""
        if not isinstance(checkpoint, FilesCheckpoint) or not self.root.is_dir():
            return None
        previous = checkpoint.files
        changed = seen = 0
        for candidate in self._walk():
            seen += candidate.rel in previous
            state = previous.get(candidate.rel)
            try:
                info = candidate.path.stat()
            except OSError:
                changed += 1
                continue
            if state is None or (state.size, state.mtime_ns) != (info.st_size, info.st_mtime_ns):
                changed += 1
        return changed + len(previous) - seen

    def readable_paths(self) -> list[str]:
        """Relative paths of the files a run would read, in walk order (no records made)."""
        return [c.rel for c in self._walk() if c.problem is None]

    # --- one file ---------------------------------------------------------------------------

    def _process(
        self,
        candidate: _Candidate,
        previous: FileState | None,
        manifest: Manifest,
        acl: AclResolver,
    ) -> tuple[list[SourceItem], FileState | None]:
        """Items for one file and its new checkpoint entry (``None``: leave it as it was)."""
        rel = candidate.rel
        if candidate.problem is not None:
            return [Failure(rel, candidate.problem)], None
        if rel in manifest.broken:
            return self._withdraw(previous, Failure(rel, manifest.broken[rel]))
        try:
            stat = candidate.path.stat()
            meta = self._metadata(rel, manifest.rows.get(rel), acl)
        except RecordError as exc:
            return self._withdraw(previous, Failure(rel, exc.reason))
        except OSError as exc:
            return [Failure(rel, f"cannot read the file: {exc.strerror or exc}")], None
        meta_hash = _hash_json(meta)
        if (
            previous is not None
            and previous.size == stat.st_size
            and previous.mtime_ns == stat.st_mtime_ns
            and previous.meta == meta_hash
        ):
            return [], None
        max_bytes = self._max_bytes(candidate.suffix)
        if stat.st_size > max_bytes:
            return [Failure(rel, f"larger than the {_megabytes(max_bytes)} limit")], None
        if not meta["acl"]:
            return self._withdraw(previous, Failure(rel, NO_ACL))
        try:
            data = self._read(candidate.path, max_bytes)
        except OSError as exc:
            return [Failure(rel, f"cannot read the file: {exc.strerror or exc}")], None
        except ExtractionError as exc:
            return [Failure(rel, exc.reason)], None
        sha256 = hashlib.sha256(data).hexdigest()
        state = FileState(
            size=len(data),
            mtime_ns=stat.st_mtime_ns,
            sha256=sha256,
            id=str(meta["id"]),
            meta=meta_hash,
        )
        if previous is not None and previous.sha256 == sha256 and previous.meta == meta_hash:
            return [], state  # touched, not changed: remember the new mtime, emit nothing
        try:
            record, attachment_failures = self._record(
                candidate, data, meta, stat.st_mtime_ns, sha256
            )
        except (ExtractionError, RecordError) as exc:
            return [Failure(rel, exc.reason)], None
        except RecursionError:
            return [Failure(rel, "the file is nested too deeply to read")], None
        except MemoryError:
            return [Failure(rel, "reading the file ran out of memory")], None
        except Exception as exc:  # a parser bug on one hostile file fails the file, not the run
            reason = f"unreadable file: {type(exc).__name__}: {str(exc)[:200]}"
            return [Failure(rel, reason)], None
        items: list[SourceItem] = []
        if previous is not None and previous.id != record.id:
            items.append(Tombstone(previous.id))
        items.append(record)
        # The e-mail is indexed; each attachment that could not be read is reported on its own
        # (once: the e-mail is checkpointed as done).
        items.extend(
            Failure(f"{rel}#{failure.name}", f"attachment not indexed: {failure.reason}")
            for failure in attachment_failures
        )
        return items, state

    def _max_bytes(self, suffix: str) -> int:
        return self.limits.max_media_bytes if suffix in MEDIA_SUFFIXES else self.max_bytes

    def _read(self, path: Path, max_bytes: int | None = None) -> bytes:
        """The bytes of a regular file, at most ``max_bytes`` (default: the connector's
        ``max_bytes``; else ``ExtractionError``).

        Opened without following a link and without blocking, and checked to be a regular
        file on the open descriptor: a FIFO put in place of a file after the walk looked at it
        cannot hang the run.
        """
        if max_bytes is None:
            max_bytes = self.max_bytes
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(path, flags)
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise ExtractionError(_PASSED_REASONS["special"])
            data = handle.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise ExtractionError(f"larger than the {_megabytes(max_bytes)} limit")
        return data

    @staticmethod
    def _withdraw(
        previous: FileState | None, failure: Failure
    ) -> tuple[list[SourceItem], FileState | None]:
        # Permissions that can no longer be resolved must not leave the old record searchable
        # under its old ACL.
        if previous is None:
            return [failure], None
        return [Tombstone(previous.id), failure], None

    def _record(
        self, candidate: _Candidate, data: bytes, meta: dict[str, Any], mtime_ns: int, sha: str
    ) -> tuple[Record, tuple[AttachmentFailure, ...]]:
        """The file's record; raises ``ExtractionError`` or ``RecordError``."""
        if candidate.suffix in MEDIA_SUFFIXES:
            extracted = self._transcribe(candidate.suffix, data, sha)
        else:
            extracted = self.extractor.extract(candidate.suffix, data)
        if not extracted.text.strip():
            raise ExtractionError("no text could be extracted (empty document)")
        modified = dt.datetime.fromtimestamp(mtime_ns / 1e9, tz=dt.UTC)
        title = meta["title"] or extracted.title
        own_date = extracted.metadata.get("date_source")
        own = own_metadata(
            candidate.rel,
            given_date=meta["created_at"],
            given_type=(meta["doc_type"], meta["doc_type_from"]) if meta["doc_type"] else None,
            file_date=(
                (extracted.created_at, own_date)
                if extracted.created_at is not None and _is_date_source(own_date)
                else None
            ),
            scanned=extracted.ocr_used and candidate.suffix == ".pdf",
            title=title,
            text=extracted.text,
            is_email=candidate.suffix == ".eml",
            modified=modified.date(),
        )
        extra: dict[str, Any] = {
            "sha256": sha,
            **extracted.metadata,
            "date_source": own.date_source,
        }
        if own.doc_type_source is not None:
            extra["doc_type_source"] = own.doc_type_source
        if extracted.ocr_used:
            extra["ocr"] = True
        if extracted.media is not None:
            extra["media"] = {**extracted.media, "sha256": sha}
        if extracted.attachment_failures:
            extra["attachment_errors"] = {f.name: f.reason for f in extracted.attachment_failures}
        raw = {
            "id": meta["id"],
            "case_id": meta["case_id"],
            "doc_type": own.doc_type,
            "title": title or candidate.path.name,
            "text": extracted.text,
            "created_at": own.created_at,
            "updated_at": modified.isoformat(),
            "author": meta["author"],
            "acl": meta["acl"],
            "deny": meta["deny"],
            "source_uri": "file://" + quote(candidate.rel),
            "attachments": list(extracted.attachments),
            "extra": extra,
        }
        record = parse_record(
            raw, source_ref=candidate.rel, max_text_chars=self.limits.max_text_chars
        )
        return record, extracted.attachment_failures

    def _transcribe(self, suffix: str, data: bytes, sha: str) -> Extracted:
        """A recording's transcript, read from the kept copy (or, without ``media_dir``, a
        private temporary file): the child process decodes a path, not bytes on a pipe."""
        started = time.perf_counter()
        if self.media is not None:
            extracted = self.extractor.extract_media(suffix, self.media.put(data, sha))
        else:
            with tempfile.TemporaryDirectory(prefix="casesearch-recording-") as folder:
                path = Path(folder) / f"recording{suffix}"
                path.write_bytes(data)
                extracted = self.extractor.extract_media(suffix, path)
        if extracted.media is not None:
            self.transcribed_s += float(extracted.media.get("duration_s", 0.0))
            self.transcribing_s += time.perf_counter() - started
        return extracted

    # --- metadata ---------------------------------------------------------------------------

    def _manifest(self) -> Manifest:
        if not self.root.is_dir():
            raise FatalConnectorError(f"{self.root} is not a folder")
        return load_manifest(find_manifest(self.root, self.manifest), self.root)

    def _metadata(self, rel: str, row: ManifestRow | None, acl: AclResolver) -> dict[str, Any]:
        """Resolved metadata of one file; raises ``RecordError`` for a malformed ACL file."""
        case_id, doc_type = folder_convention(rel)
        folder = rel.rpartition("/")[0]
        rule = acl.rule_for(folder)
        allow = (row.acl if row is not None else None) or (rule.acl if rule else ())
        deny = set(row.deny if row is not None else ()) | set(rule.deny if rule else ())
        given = row or ManifestRow(path=rel, ref="")
        return {
            "id": self._record_id(rel, row),
            "case_id": given.case_id or case_id,
            "doc_type": given.doc_type or doc_type,
            "doc_type_from": "manifest" if given.doc_type else "folder" if doc_type else None,
            "title": given.title,
            "created_at": given.created_at,
            "author": given.author,
            "acl": sorted(allow),
            "deny": sorted(deny),
            "version": EXTRACTION_VERSION,
        }

    @staticmethod
    def _record_id(rel: str, row: ManifestRow | None) -> str:
        return row.id if row is not None and row.id else f"files:{rel}"

    # --- walking ----------------------------------------------------------------------------

    def _walk(self) -> Iterator[_Candidate]:
        """Supported files in a stable order (sorted, depth first); records ``skipped``."""
        if not self.root.is_dir():
            raise FatalConnectorError(f"{self.root} is not a folder")
        manifest = find_manifest(self.root, self.manifest)
        skipped: list[str] = []
        for directory, dirnames, filenames in os.walk(self.root, followlinks=False):
            base = Path(directory)
            rel_dir = base.relative_to(self.root).as_posix()
            kept: list[str] = []
            for name in sorted(dirnames):
                if name.startswith("."):
                    continue
                rel = name if rel_dir == "." else f"{rel_dir}/{name}"
                if _is_utf8(name):
                    kept.append(name)
                else:  # its files could not be named either: report the folder once
                    yield _Candidate(
                        rel=_printable(rel) + "/",
                        path=base / name,
                        suffix="",
                        problem=_NOT_UTF8.format(what="folder", effect="nothing in it is read"),
                    )
            dirnames[:] = kept
            for name in sorted(filenames):
                path = base / name
                rel = name if rel_dir == "." else f"{rel_dir}/{name}"
                passed = self._passed_over(rel, path, manifest)
                if passed in ("type", "image"):
                    skipped.append(_printable(rel))
                if passed == "special":
                    yield _Candidate(
                        rel=_printable(rel), path=path, suffix="", problem=_special_reason(path)
                    )
                elif passed is None and not _is_utf8(name):
                    yield _Candidate(
                        rel=_printable(rel),
                        path=path,
                        suffix="",
                        problem=_NOT_UTF8.format(what="file", effect="it is not read"),
                    )
                elif passed is None:
                    yield _Candidate(rel=rel, path=path, suffix=path.suffix.lower())
        self.skipped = tuple(skipped)

    def _passed_over(self, rel: str, path: Path, manifest: Path | None) -> _Passed | None:
        """Why the walk does not read the file at ``rel`` (``None``: it reads it)."""
        name = path.name
        if name in ACL_FILE_NAMES:
            return "acl"
        if name.startswith("."):
            return "hidden"
        if name.startswith("~$"):
            return "lock"
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            mode = stat.S_IFREG  # gone since the walk listed it: reading it reports that
        if stat.S_ISLNK(mode):
            return "link"
        if not stat.S_ISREG(mode):
            return "special"
        if (manifest is not None and path == manifest) or rel in MANIFEST_NAMES:
            return "manifest"
        suffix = path.suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            return "type"
        if suffix in IMAGE_SUFFIXES and not self.extractor.ocr:
            return "image"
        return None

    def _unread_reason(self, rel: str, manifest: Path | None) -> str | None:
        """Why a manifest row's ``path`` names no file the walk reads (``None``: it does)."""
        shown = repr(rel)
        path = self.root
        parts = PurePosixPath(rel).parts
        for depth, part in enumerate(parts):
            path = path / part
            folder = "/".join(parts[: depth + 1])
            if not os.path.lexists(path):
                return f"the file named in path, {shown}, was not found"
            if path.is_symlink():
                where = "is" if depth == len(parts) - 1 else f"is inside {folder!r}, which is"
                return (
                    f"path {shown} {where} a symbolic link; links are not followed "
                    "(they could point outside the root)"
                )
            if depth < len(parts) - 1 and part.startswith("."):
                return f"path {shown} is inside the hidden folder {folder!r}, which is not read"
            if depth < len(parts) - 1 and not path.is_dir():
                return f"the file named in path, {shown}, was not found ({folder!r} is a file)"
        if path.is_dir():
            return f"path {shown} names a folder, not a file"
        if not path.is_file():
            return f"path {shown} is not a regular file"
        passed = self._passed_over(rel, path, manifest)
        if passed is None:
            return None
        if passed == "type":
            suffix = path.suffix.lower()
            kind = f"the extension {suffix!r}" if suffix else "no extension"
            return f"path {shown} has {kind}, which is not a type that is read"
        return f"path {shown} {_PASSED_REASONS[passed]}"


_NOT_UTF8 = (
    "the {what} name is not valid UTF-8 (its undecodable bytes are shown as \\xNN); "
    "{effect} until it is renamed"
)


def _is_utf8(name: str) -> bool:
    """False for a name ``os`` decoded with surrogate escapes (its bytes are not UTF-8)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _printable(rel: str) -> str:
    """``rel`` with each undecodable byte as ``\\xNN``: a name that can be shown and stored."""
    return os.fsencode(rel).decode("utf-8", "backslashreplace")


def _special_reason(path: Path) -> str:
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return _PASSED_REASONS["special"]
    kinds = (
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    )
    kind = next((label for test, label in kinds if test(mode)), "not a regular file")
    return f"is {kind}, not a regular file: skipped without being opened"


def _is_date_source(value: str | None) -> TypeGuard[DateSource]:
    return value in get_args(DateSource)


def _hash_json(value: Any) -> str:
    blob = json.dumps(value, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


def _megabytes(limit: int) -> str:
    if limit >= 1_000_000:
        return f"{limit / 1_000_000:g} MB"
    return f"{limit:,} byte"
