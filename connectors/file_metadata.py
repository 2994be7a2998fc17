"""Metadata for files on disk: a sidecar manifest, ACL files and folder conventions.

Precedence for each field (documented in ``connectors/README.md``): a non-empty manifest
value, else what the folder says (``<case_id>/<doc_type>/…`` and the nearest ACL file), else
what the file says (its title; its date and type by ``own_metadata``), else defaults (id and
title from the path, the date from the modification time).
``deny`` is the union of the manifest's and the ACL file's: a deny is never lost.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from dateutil import parser as date_parser

from connectors.errors import FatalConnectorError, RecordError

MANIFEST_NAMES = ("manifest.csv", "manifest.jsonl")
ACL_FILE_NAMES = ("_acl.json", ".acl")  # in this order when a folder holds both
MANIFEST_COLUMNS = (
    "path",
    "id",
    "case_id",
    "doc_type",
    "title",
    "created_at",
    "author",
    "acl",
    "deny",
)


@dataclass(frozen=True, slots=True)
class ManifestRow:
    """One manifest entry; ``None`` means "not given here, fall back"."""

    path: str
    ref: str  # "manifest.csv:LINE", for failures
    id: str | None = None
    case_id: str | None = None
    doc_type: str | None = None
    title: str | None = None
    created_at: str | None = None
    author: str | None = None
    acl: tuple[str, ...] | None = None
    deny: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AclRule:
    """Permissions read from an ``_acl.json`` / ``.acl`` file; ``source`` is its relative path."""

    acl: tuple[str, ...]
    deny: tuple[str, ...]
    source: str


@dataclass(frozen=True, slots=True)
class Manifest:
    source: str | None
    rows: Mapping[str, ManifestRow]
    problems: tuple[RecordError, ...]
    broken: Mapping[str, str]  # relative path -> why its manifest row was rejected


def find_manifest(root: Path, manifest: str | os.PathLike[str] | None) -> Path | None:
    """The manifest to use: the one given (relative to ``root`` if not absolute) or the default.

    Raises ``FatalConnectorError`` when a given manifest is missing or both defaults exist:
    guessing which one holds the permissions is not safe.
    """
    if manifest is not None:
        path = Path(manifest)
        path = path if path.is_absolute() else root / path
        if not path.is_file():
            raise FatalConnectorError(f"manifest {path} does not exist")
        return path
    present = [root / name for name in MANIFEST_NAMES if (root / name).is_file()]
    if len(present) > 1:
        raise FatalConnectorError(
            f"both {MANIFEST_NAMES[0]} and {MANIFEST_NAMES[1]} exist in {root}; keep one"
        )
    return present[0] if present else None


def load_manifest(path: Path | None, root: Path) -> Manifest:
    """Read a CSV or JSONL manifest into rows keyed by normalised relative path.

    A later row for the same path replaces an earlier one. Row problems are returned as
    ``RecordError`` naming ``manifest.ext:LINE``. When the bad row still names its file (a
    field of the wrong type, an id already given to another path), that file is listed in
    ``broken`` so it fails rather than falling back to possibly broader folder permissions.
    Raises ``FatalConnectorError`` when the manifest cannot be read at all or a CSV manifest
    has no ``path`` column.
    """
    if path is None:
        return Manifest(source=None, rows={}, problems=(), broken={})
    try:
        data = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise FatalConnectorError(f"cannot read manifest {path}: {exc}") from None
    name = _display(path, root)
    entries = _csv_rows(data, name) if path.suffix.lower() == ".csv" else _jsonl_rows(data, name)
    rows: dict[str, ManifestRow] = {}
    problems: list[RecordError] = []
    broken: dict[str, str] = {}
    for ref, raw in entries:
        try:
            row = _row(raw, ref)
        except RecordError as exc:
            problems.append(exc)
            named = _named_path(raw)
            if named is not None:
                broken[named] = f"bad manifest row {ref}: {exc.reason}"
            continue
        rows[row.path] = row
        broken.pop(row.path, None)
    # Two files under one id would overwrite each other in the index: the first keeps it.
    owners: dict[str, ManifestRow] = {}
    for rel, row in list(rows.items()):
        if row.id is None:
            continue
        owner = owners.setdefault(row.id, row)
        if owner is not row:
            reason = f"id {row.id!r} is already used by {owner.path}"
            problems.append(RecordError(row.ref, reason))
            broken[rel] = f"bad manifest row {row.ref}: {reason}"
            del rows[rel]
    return Manifest(source=name, rows=rows, problems=tuple(problems), broken=broken)


def _named_path(raw: dict[str, Any] | str) -> str | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("path"), str):
        return None
    try:
        return normalise_relative(raw["path"], "")
    except RecordError:
        return None


def _csv_rows(data: str, name: str) -> Iterator[tuple[str, dict[str, Any] | str]]:
    reader = csv.DictReader(io.StringIO(data, newline=""))
    fields = [(field or "").strip().lower() for field in reader.fieldnames or []]
    if "path" not in fields:
        raise FatalConnectorError(f"manifest {name} has no 'path' column")
    reader.fieldnames = fields
    for raw in reader:
        ref = f"{name}:{reader.line_num}"
        yield ref, {key: value for key, value in raw.items() if isinstance(key, str)}


def _jsonl_rows(data: str, name: str) -> Iterator[tuple[str, dict[str, Any] | str]]:
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        ref = f"{name}:{number}"
        try:
            raw = json.loads(line)
        except (ValueError, RecursionError) as exc:
            yield ref, f"not valid JSON: {exc}"
            continue
        yield ref, raw if isinstance(raw, dict) else "a manifest line must be a JSON object"


def _row(raw: dict[str, Any] | str, ref: str) -> ManifestRow:
    if isinstance(raw, str):
        raise RecordError(ref, raw)
    path = normalise_relative(_text(raw.get("path"), "path", ref) or "", ref)
    acl = _principals(raw.get("acl"), "acl", ref)
    return ManifestRow(
        path=path,
        ref=ref,
        id=_text(raw.get("id"), "id", ref),
        case_id=_text(raw.get("case_id"), "case_id", ref),
        doc_type=_text(raw.get("doc_type"), "doc_type", ref),
        title=_text(raw.get("title"), "title", ref),
        created_at=_text(raw.get("created_at"), "created_at", ref),
        author=_text(raw.get("author"), "author", ref),
        acl=acl or None,
        deny=_principals(raw.get("deny"), "deny", ref),
    )


def normalise_relative(value: str, ref: str) -> str:
    """A manifest path as the POSIX path relative to the root the walk produces."""
    cleaned = value.strip().replace("\\", "/")
    if not cleaned:
        raise RecordError(ref, "the manifest row has no 'path'")
    posix = PurePosixPath(cleaned)
    if posix.is_absolute() or ".." in posix.parts:
        raise RecordError(ref, f"manifest path {value!r} must be relative to the root")
    return posix.as_posix()


def _text(value: Any, name: str, ref: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise RecordError(ref, f"manifest '{name}' must be a string")
    text = str(value).strip()
    return text or None


def split_principals(value: str) -> list[str]:
    """``"team:a; role:qa"`` → ``["team:a", "role:qa"]`` (semicolons; commas also accepted)."""
    return [part.strip() for part in value.replace(",", ";").split(";") if part.strip()]


def _principals(value: Any, name: str, ref: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        items = split_principals(value)
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        items = [item.strip() for item in value if item.strip()]
    else:
        raise RecordError(ref, f"manifest '{name}' must be a list or a ';'-separated string")
    return tuple(sorted(set(items)))


class AclResolver:
    """Finds the nearest ACL file for a folder (the folder itself, then each parent up to root).

    Results are cached per folder for one walk; create a new resolver for each run so edits
    to ACL files are seen.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[str, AclRule | RecordError | None] = {}

    def rule_for(self, rel_dir: str) -> AclRule | None:
        """The rule for a folder given relative to the root ("" for the root itself).

        Raises ``RecordError`` naming the ACL file when the nearest one is malformed: its
        files must not fall back to a broader parent rule.
        """
        rule = self._lookup(rel_dir)
        if isinstance(rule, RecordError):
            raise rule
        return rule

    def _lookup(self, rel_dir: str) -> AclRule | RecordError | None:
        if rel_dir in self._cache:
            return self._cache[rel_dir]
        found: AclRule | RecordError | None = None
        for name in ACL_FILE_NAMES:
            candidate = self.root / rel_dir / name if rel_dir else self.root / name
            if candidate.is_file() and not candidate.is_symlink():
                found = _read_acl_file(candidate, f"{rel_dir}/{name}" if rel_dir else name)
                break
        else:
            if rel_dir:
                parent = PurePosixPath(rel_dir).parent.as_posix()
                found = self._lookup("" if parent == "." else parent)
        self._cache[rel_dir] = found
        return found


def _read_acl_file(path: Path, rel: str) -> AclRule | RecordError:
    try:
        raw = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        return RecordError(rel, f"unreadable ACL file {rel}: {exc}")
    if isinstance(raw, list):
        raw = {"acl": raw}
    if not isinstance(raw, dict):
        return RecordError(rel, f'ACL file {rel} must hold {{"acl": [...], "deny": [...]}}')
    try:
        acl = _principals(raw.get("acl"), "acl", rel)
        deny = _principals(raw.get("deny"), "deny", rel)
    except RecordError:
        return RecordError(rel, f"ACL file {rel}: 'acl' and 'deny' must be lists of strings")
    return AclRule(acl=acl, deny=deny, source=rel)


def folder_convention(rel_path: str) -> tuple[str | None, str | None]:
    """Case and document type from the folders: ``<case_id>/<doc_type>/…/file``.

    ``<case_id>/file`` gives only the case; a file in the root gives neither.
    """
    folders = PurePosixPath(rel_path).parts[:-1]
    case_id = folders[0] if folders else None
    doc_type = folders[1] if len(folders) > 1 else None
    return case_id, doc_type


def _display(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


# --- what the document says about itself ----------------------------------------------------

DateSource = Literal[
    "manifest",
    "pdf_metadata",
    "docx_metadata",
    "odt_metadata",
    "email_header",
    "heading",
    "file_name",
    "file_mtime",
]
TypeSource = Literal["manifest", "folder", "title", "heading", "file_name", "email"]

# How many non-empty lines at the top of a document count as its heading.
HEADING_LINES = 8
_HEADING_CHARS = 200
_MONTHS = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
# A date as people write it in a heading: "3 March 2024", "3rd Mar 2024", "March 3, 2024",
# "03/03/2024" (UK: day first), "3.3.24", "2024-03-03".
_DATE = re.compile(
    rf"\b(?:\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTHS}\.?,?\s+\d{{4}}"
    rf"|{_MONTHS}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
    r"|\d{4}-\d{1,2}-\d{1,2}"
    r"|\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2}))\b",
    re.IGNORECASE,
)
# Lines whose date is not the document's: a birth date, a review or deadline still to come.
_OTHER_DATE = re.compile(
    r"\b(?:birth|born|d\.?o\.?b\b|review date|next review|date of next|due|deadline|expir)",
    re.IGNORECASE,
)
_EARLIEST = dt.date(1980, 1, 1)

# Headings and titles that name a document type of the record format (connectors/record.py),
# tried in this order on each line; the first line that matches any decides.
_TYPE_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), doc_type)
    for pattern, doc_type in (
        (r"\b(?:initial child protection|initial case) conference\b|\bICPC\b", "icpc_minutes"),
        (r"\breview (?:child protection |case )?conference\b|\bRCPC\b", "rcpc_minutes"),
        (r"\bchild protection (?:case )?conference\b", "icpc_minutes"),
        (r"\bstrategy (?:discussion|meeting)\b|\bs\.?\s?47 strategy\b", "strategy_discussion"),
        (r"\bsafety plan\b", "safety_plan"),
        (r"\bchild protection plan\b|\bCP plan\b", "cp_plan"),
        (r"\bchild in need plan\b|\bCIN plan\b", "cin_plan"),
        (
            r"\b(?:home|statutory|unannounced|announced) visit\b|\bvisit (?:note|record|report)\b"
            r"|\brecord of (?:a |the )?visit\b|\bdate of (?:the )?visit\b",
            "visit_note",
        ),
        (
            r"\bpolice (?:notification|protection notice|report)\b|\bPPN\b"
            r"|\bdomestic (?:abuse|violence) notification\b",
            "police_notification",
        ),
        (r"\breferral\b", "referral"),
        (r"\bcourt report\b|\bstatement (?:to|for) the court\b|\bSWET\b", "court_report"),
        (r"\bassessment\b", "assessment"),
        (r"\bcase (?:note|recording)s?\b", "case_note"),
        (
            r"\bhealth (?:visitor|visiting|contact)\b|\bGP (?:letter|contact|surgery)\b"
            r"|\bschool nurse\b|\bmidwife\b",
            "health_contact",
        ),
        (r"\bschool (?:contact|report)\b|\bdesignated safeguarding lead\b", "school_contact"),
        (r"^dear\b|^letter\b|\bletter to\b", "letter"),
    )
)


def heading_lines(text: str, limit: int = HEADING_LINES) -> list[str]:
    """The first ``limit`` non-empty lines of ``text``, blanks collapsed, each cut to 200
    characters: where a document's heading, date line and type are written."""
    lines: list[str] = []
    for line in text.splitlines():
        cleaned = " ".join(line.split())
        if cleaned:
            lines.append(cleaned[:_HEADING_CHARS])
            if len(lines) == limit:
                break
    return lines


def date_in(lines: Iterable[str]) -> dt.date | None:
    """The first date written in ``lines`` that is the document's own.

    Numeric dates are read day first (UK). Lines about a birth date, a review date or a
    deadline are passed over, and so are dates before 1980 or after tomorrow.
    """
    for line in lines:
        if _OTHER_DATE.search(line):
            continue
        for match in _DATE.finditer(line):
            day = _parse_date(match.group(0))
            if day is not None:
                return day
    return None


def _parse_date(written: str) -> dt.date | None:
    iso = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", written)
    try:
        if iso is not None:  # year first: never read day first
            day = dt.date(*(int(part) for part in iso.groups()))
        else:
            day = date_parser.parse(written, dayfirst=True).date()
    except (ValueError, OverflowError):
        return None
    if day < _EARLIEST or day > dt.date.today() + dt.timedelta(days=1):
        return None
    return day


def doc_type_in(lines: Iterable[str]) -> str | None:
    """The document type the first line that names one names (``_TYPE_RULES``), else None."""
    for line in lines:
        for pattern, doc_type in _TYPE_RULES:
            if pattern.search(line):
                return doc_type
    return None


def name_words(rel_path: str) -> str:
    """A file's name without extension, ``_`` and ``-`` between words read as spaces."""
    stem = PurePosixPath(rel_path).stem
    return re.sub(r"(?<=[A-Za-z])[_-]+|[_-]+(?=[A-Za-z])", " ", stem)


@dataclass(frozen=True, slots=True)
class OwnMetadata:
    """A file's date and document type, each with where it came from (``date_source`` and
    ``doc_type_source`` in the record's ``extra``)."""

    created_at: str
    date_source: DateSource
    doc_type: str | None
    doc_type_source: TypeSource | None


def own_metadata(
    rel_path: str,
    *,
    given_date: str | None,
    given_type: tuple[str, TypeSource] | None,
    file_date: tuple[dt.date, DateSource] | None,
    scanned: bool,
    title: str,
    text: str,
    is_email: bool,
    modified: dt.date,
) -> OwnMetadata:
    """Date and type of one file by the documented precedence (connectors/README.md).

    Date: the manifest's ``created_at``; else the document's own properties or headers
    (``file_date``: PDF, DOCX or ODT created date, an e-mail's Date) unless the PDF was scanned,
    whose properties date the scan; else a date in the heading lines; else one in the file
    name; else the modification date. Type: the manifest's or the folder's (``given_type``);
    else the title, the heading lines (not an e-mail's), the file name, in that order; else
    ``email`` for an e-mail; else none.
    """
    lines = heading_lines(text)
    name = name_words(rel_path)
    written: tuple[tuple[DateSource, list[str]], ...] = (("heading", lines), ("file_name", [name]))
    date: tuple[dt.date, DateSource] | None = None
    if file_date is not None and not (scanned and file_date[1] == "pdf_metadata"):
        date = file_date
    for date_from, candidates in written:
        if date is None and (found := date_in(candidates)) is not None:
            date = (found, date_from)
    if date is None and file_date is not None:
        date = file_date  # a scan's date still beats the copy's modification time
    date_source: DateSource
    if given_date is not None:
        created, date_source = given_date, "manifest"
    else:
        day, date_source = date or (modified, "file_mtime")
        created = day.isoformat()

    named: tuple[tuple[TypeSource, list[str]], ...] = (
        ("title", [title]),
        # an e-mail's body starts like a letter ("Dear …"): only its subject names its type
        ("heading", [] if is_email else lines),
        ("file_name", [name]),
    )
    typed: tuple[str, TypeSource] | None = given_type
    for type_from, candidates in named:
        if typed is None and (found_type := doc_type_in(candidates)) is not None:
            typed = (found_type, type_from)
    if typed is None and is_email:
        typed = ("email", "email")
    return OwnMetadata(
        created_at=created,
        date_source=date_source,
        doc_type=typed[0] if typed else None,
        doc_type_source=typed[1] if typed else None,
    )
