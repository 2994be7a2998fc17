"""The record: the unit every connector produces (see DESIGN.md, "Record").

``parse_record`` is the single gate from untyped input (JSON lines, HTTP bodies, SQL rows,
file manifests) to a ``Record``; everything after it may trust the invariants below.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from connectors.errors import RecordError
from connectors.limits import MAX_TEXT_CHARS, text_too_long

KNOWN_DOC_TYPES: frozenset[str] = frozenset(
    {
        "case_note",
        "visit_note",
        "referral",
        "assessment",
        "strategy_discussion",
        "icpc_minutes",
        "rcpc_minutes",
        "cp_plan",
        "cin_plan",
        "safety_plan",
        "health_contact",
        "school_contact",
        "police_notification",
        "letter",
        "court_report",
        "email",
        "document",
    }
)

MAX_ID_LENGTH = 256
# bounds on ``subjects``: a record is about a household, not a register
MAX_SUBJECTS = 50
MAX_OTHER_NAMES = 20
MAX_NAME_LENGTH = 200
_FIELDS = (
    "id",
    "case_id",
    "doc_type",
    "title",
    "text",
    "created_at",
    "updated_at",
    "author",
    "acl",
    "deny",
    "source_uri",
    "attachments",
    "subjects",
)
_SUBJECT_KEYS = frozenset({"id", "name", "other_names", "dob", "role"})


@dataclass(frozen=True, slots=True)
class Subject:
    """A person the record is about (DESIGN.md, "Record": ``subjects``).

    ``role`` is "child" for the child the case is about; other values ("mother", "father",
    "carer", "sibling", …) are kept as given, lower-cased.
    """

    id: str
    name: str
    role: str
    other_names: tuple[str, ...] = ()
    dob: dt.date | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "name": self.name, "role": self.role}
        if self.other_names:
            data["other_names"] = list(self.other_names)
        if self.dob is not None:
            data["dob"] = self.dob.isoformat()
        return data


@dataclass(frozen=True, slots=True)
class Record:
    """A case record as it enters the index.

    Invariants (enforced by ``parse_record``): ``id`` is non-empty, ``text`` is non-empty after
    stripping, ``acl`` and ``deny`` are sorted tuples of unique non-empty principals. ``acl`` may
    be empty only when the caller explicitly allowed it (``require_acl=False``): such a record
    is visible to nobody.
    """

    id: str
    text: str
    acl: tuple[str, ...]
    case_id: str | None = None
    doc_type: str | None = None
    title: str = ""
    created_at: dt.date | None = None
    updated_at: dt.datetime | None = None
    author: str | None = None
    deny: tuple[str, ...] = ()
    source_uri: str | None = None
    attachments: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)
    subjects: tuple[Subject, ...] = ()

    def content_hash(self) -> str:
        """Hash of everything that changes chunks or vectors (text, title and metadata).

        Permissions are deliberately excluded: an ACL-only change must not re-embed.
        ``subjects`` are included (names are searchable and shown, so a corrected name must
        reach the store), but only when present: a record without subjects keeps the hash it
        had before the field existed, so existing stores are not re-embedded.
        """
        payload = {
            "text": self.text,
            "title": self.title,
            "case_id": self.case_id,
            "doc_type": self.doc_type,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
            "author": self.author,
            "source_uri": self.source_uri,
            "attachments": list(self.attachments),
            "extra": _jsonable(dict(self.extra)),
        }
        if self.subjects:
            payload["subjects"] = [s.to_json() for s in self.subjects]
        return _sha256(payload)

    def acl_hash(self) -> str:
        """Hash of the permissions alone."""
        return _sha256({"acl": list(self.acl), "deny": list(self.deny)})

    def to_json(self) -> dict[str, Any]:
        """The record in the wire format of DESIGN.md (dates as ISO strings)."""
        data = asdict(self)
        data["acl"] = list(self.acl)
        data["deny"] = list(self.deny)
        data["attachments"] = list(self.attachments)
        data["created_at"] = self.created_at.isoformat() if self.created_at else None
        data["updated_at"] = self.updated_at.isoformat() if self.updated_at else None
        data["extra"] = _jsonable(dict(self.extra))
        data["subjects"] = [s.to_json() for s in self.subjects]
        return data


@dataclass(frozen=True, slots=True)
class Tombstone:
    """A deletion: the record with this id must disappear from every store."""

    id: str


def parse_record(
    raw: Mapping[str, Any],
    *,
    source_ref: str | None = None,
    require_acl: bool = True,
    max_text_chars: int = MAX_TEXT_CHARS,
) -> Record:
    """Validate one raw record and return it normalised.

    Raises ``RecordError`` naming ``source_ref`` (or the record id) and the reason when the id
    is missing, the text is empty or longer than ``max_text_chars``, a field has the wrong
    type, a date does not parse, any string holds a lone surrogate (``"\\ud800"`` in JSON: it
    cannot be stored as UTF-8), ``deleted`` is anything but ``false`` (a tombstone is
    ``"deleted": true`` and is not a record), or (with ``require_acl``) ``acl`` is missing or
    empty, or ``subjects`` is malformed (see ``parse_subjects``). Unknown ``doc_type`` values
    are kept as given; unknown keys are kept in ``extra``.
    """
    if not isinstance(raw, Mapping):
        raise RecordError(source_ref or "<record>", "a record must be a JSON object")
    record_id = raw.get("id")
    ref = source_ref or (_ref_of(record_id) if record_id else "<record without id>")
    _refuse_surrogates(raw, ref)
    if raw.get("deleted", False) is not False:
        raise RecordError(
            ref,
            f"'deleted' is {_printable(raw.get('deleted'))}: a tombstone needs the JSON boolean "
            "true, a record false or no 'deleted' at all",
        )
    if not isinstance(record_id, str) or not record_id.strip():
        raise RecordError(ref, "missing or empty 'id'")
    record_id = record_id.strip()
    if len(record_id) > MAX_ID_LENGTH:
        raise RecordError(ref, f"'id' is longer than {MAX_ID_LENGTH} characters")
    if source_ref is None:
        ref = record_id

    text = raw.get("text")
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise RecordError(ref, "'text' must be a string")
    if len(text) > max_text_chars:
        raise RecordError(ref, text_too_long(len(text), max_text_chars))
    if "\x00" in text:
        text = text.replace("\x00", "")
    if not text.strip():
        raise RecordError(ref, "the record has no text (empty 'text' and no readable attachment)")

    acl = _principals(raw.get("acl"), "acl", ref)
    if require_acl and not acl:
        raise RecordError(
            ref, "missing or empty 'acl': a record without 'acl' would be visible to nobody"
        )
    deny = _principals(raw.get("deny"), "deny", ref)

    title = raw.get("title") or ""
    if not isinstance(title, str):
        raise RecordError(ref, "'title' must be a string")

    extra = {k: v for k, v in raw.items() if k not in _FIELDS and k != "deleted"}
    if isinstance(raw.get("extra"), Mapping):
        extra = {**extra, **raw["extra"]}
        extra.pop("extra", None)

    return Record(
        id=record_id,
        text=text,
        acl=acl,
        deny=deny,
        case_id=_optional_str(raw.get("case_id"), "case_id", ref),
        doc_type=_doc_type(raw.get("doc_type"), ref),
        title=title.strip(),
        created_at=_date(raw.get("created_at"), "created_at", ref),
        updated_at=_datetime(raw.get("updated_at"), "updated_at", ref),
        author=_optional_str(raw.get("author"), "author", ref),
        source_uri=_optional_str(raw.get("source_uri"), "source_uri", ref),
        attachments=tuple(_string_list(raw.get("attachments"), "attachments", ref)),
        extra=extra,
        subjects=parse_subjects(raw.get("subjects"), ref),
    )


def parse_subjects(value: Any, ref: str) -> tuple[Subject, ...]:
    """Validate a record's ``subjects`` (``None`` or a list of person objects).

    Each entry needs ``id``, ``name`` and ``role`` as non-empty strings (at most
    ``MAX_NAME_LENGTH`` characters); ``other_names`` is an optional list of such strings
    (at most ``MAX_OTHER_NAMES``), ``dob`` an optional ISO date. At most ``MAX_SUBJECTS``
    entries; a person id may appear once. Unknown keys are refused (a typo such as ``"nmae"``
    would otherwise drop a name silently). Raises ``RecordError`` naming the record and the
    entry (``subjects[2].dob``).
    """
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise RecordError(ref, "'subjects' must be a list of person objects")
    if len(value) > MAX_SUBJECTS:
        raise RecordError(ref, f"'subjects' holds more than {MAX_SUBJECTS} people")
    subjects: list[Subject] = []
    seen: set[str] = set()
    for index, entry in enumerate(value):
        where = f"subjects[{index}]"
        if not isinstance(entry, Mapping):
            raise RecordError(ref, f"'{where}' must be an object with id, name and role")
        unknown = sorted(str(k) for k in entry if k not in _SUBJECT_KEYS)
        if unknown:
            raise RecordError(ref, f"'{where}' has unknown key(s): {', '.join(unknown)}")
        person_id = _subject_text(entry.get("id"), f"{where}.id", ref)
        if person_id in seen:
            raise RecordError(ref, f"'{where}.id' repeats the person id {person_id!r}")
        seen.add(person_id)
        others = entry.get("other_names")
        if others is None:
            others = []
        if not isinstance(others, list | tuple):
            raise RecordError(ref, f"'{where}.other_names' must be a list of strings")
        if len(others) > MAX_OTHER_NAMES:
            raise RecordError(ref, f"'{where}.other_names' holds more than {MAX_OTHER_NAMES} names")
        other_names = tuple(
            dict.fromkeys(
                _subject_text(o, f"{where}.other_names[{i}]", ref) for i, o in enumerate(others)
            )
        )
        subjects.append(
            Subject(
                id=person_id,
                name=_subject_text(entry.get("name"), f"{where}.name", ref),
                role=_subject_text(entry.get("role"), f"{where}.role", ref).lower(),
                other_names=other_names,
                dob=_dob(entry.get("dob"), f"{where}.dob", ref),
            )
        )
    return tuple(subjects)


def _dob(value: Any, name: str, ref: str) -> dt.date | None:
    if isinstance(value, str) and len(value.strip()) not in (0, 10):
        raise RecordError(ref, f"'{name}' is not an ISO date (YYYY-MM-DD): {value[:40]!r}")
    return _date(value, name, ref)


def _subject_text(value: Any, name: str, ref: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RecordError(ref, f"'{name}' must be a non-empty string")
    text = " ".join(value.split())
    if len(text) > MAX_NAME_LENGTH:
        raise RecordError(ref, f"'{name}' is longer than {MAX_NAME_LENGTH} characters")
    return text


def is_tombstone(raw: Mapping[str, Any]) -> bool:
    """True for ``{"id": …, "deleted": true}`` lines."""
    return isinstance(raw, Mapping) and raw.get("deleted") is True


_SURROGATE = re.compile("[\ud800-\udfff]")


def _refuse_surrogates(value: Any, ref: str, *, depth: int = 0) -> None:
    """Raise ``RecordError`` when a string anywhere in ``value`` holds a lone surrogate.

    ``json.loads`` turns the escape ``\\ud800`` into one; it cannot be encoded as UTF-8, so
    the store would fail on it, and with it the whole batch. Strings from JSON never hold a
    valid surrogate pair (those decode to one character), so any surrogate is an error.
    """
    if isinstance(value, str):
        match = _SURROGATE.search(value)
        if match is not None:
            raise RecordError(
                ref,
                f"a string holds the lone surrogate \\u{ord(match.group()):04x} at character "
                f"{match.start():,}, which is not valid Unicode text (a broken \\u escape?)",
            )
    elif depth > 64:
        raise RecordError(ref, "the record is nested more than 64 levels deep")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _refuse_surrogates(key, ref, depth=depth + 1)
            _refuse_surrogates(item, ref, depth=depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            _refuse_surrogates(item, ref, depth=depth + 1)


def _ref_of(record_id: Any) -> str:
    text = str(record_id)
    return ascii(text) if _SURROGATE.search(text) else text


def _printable(value: Any) -> str:
    """A short, printable form of an untrusted value for a failure message."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    shown = ascii(text) if isinstance(value, str) else text
    return shown if len(shown) <= 80 else shown[:77] + "..."


def _principals(value: Any, name: str, ref: str) -> tuple[str, ...]:
    items = _string_list(value, name, ref)
    cleaned = {item.strip() for item in items if item.strip()}
    return tuple(sorted(cleaned))


def _string_list(value: Any, name: str, ref: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise RecordError(ref, f"'{name}' must be a list of strings")
    return list(value)


def _optional_str(value: Any, name: str, ref: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise RecordError(ref, f"'{name}' must be a string")
    return value.strip() or None


def _doc_type(value: Any, ref: str) -> str | None:
    # Unknown values are kept as given (DESIGN.md); only surrounding blanks are dropped.
    return _optional_str(value, "doc_type", ref)


def _date(value: Any, name: str, ref: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        raise RecordError(ref, f"'{name}' must be an ISO date string")
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        raise RecordError(ref, f"'{name}' is not an ISO date: {value[:40]!r}") from None


def _datetime(value: Any, name: str, ref: str) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, dt.date):
        parsed = dt.datetime.combine(value, dt.time())
    elif isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise RecordError(ref, f"'{name}' is not an ISO timestamp: {value[:40]!r}") from None
    else:
        raise RecordError(ref, f"'{name}' must be an ISO timestamp string")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def _sha256(payload: Any) -> str:
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str).encode()
    return hashlib.sha256(blob).hexdigest()
