"""People sources: who each case is about, from a case-management system's person register.

Records carry the people they are about in ``subjects`` (DESIGN.md, "Record"); a people source
supplies or corrects them per case without re-sending the records: a child's name changed by
adoption, a misspelt surname, a date of birth added. The indexer keeps the source's latest
snapshot beside the records (``indexer/people.py``).

Two layouts:

- ``jsonl:PATH``: one object per line, ``{"case_id": str, "subjects": [person, …]}`` with each
  person as in a record's ``subjects``. A later line for the same case replaces an earlier one;
  ``"subjects": []`` says the source knows the case has no people of its own.
- ``sql:URL`` with ``table``: one row per (case, person), columns ``case_id``, ``person_id``,
  ``name``, ``role`` and optionally ``other_names`` (a JSON list of strings), ``dob``
  (ISO date or a date value). Read through SQLAlchemy, so any database it reaches works.

Each bad line or row is a ``RecordError`` naming the file and line (or the table and case) and
the reason; the rest is read. A missing file or an unreachable database is a
``FatalConnectorError``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from connectors.errors import FatalConnectorError, RecordError
from connectors.record import Subject, parse_subjects

MAX_LINE_BYTES = 1_000_000
MAX_CASE_ID_CHARS = 256
_KEYS = frozenset({"case_id", "subjects"})


@dataclass(frozen=True, slots=True)
class CasePeople:
    """The people a case is about, as the people source says."""

    case_id: str
    subjects: tuple[Subject, ...]


def read_people(spec: str, *, table: str | None = None) -> Iterator[CasePeople | RecordError]:
    """Every case of the source ``spec`` (``jsonl:PATH`` or ``sql:URL`` with ``table``), one
    item per case (the last word on it), with a ``RecordError`` for each bad line or row."""
    kind, _, target = spec.partition(":")
    if kind == "jsonl" and target:
        if table is not None:
            raise FatalConnectorError("a JSONL people source takes no table")
        return _jsonl(Path(target))
    if kind == "sql" and target:
        if not table:
            raise FatalConnectorError("a SQL people source needs the table (or view) to read")
        return _sql(target, table)
    raise FatalConnectorError(f"people source {spec!r}: expected jsonl:PATH or sql:URL")


def _case_id(value: Any, ref: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RecordError(ref, "'case_id' must be a non-empty string")
    if len(value) > MAX_CASE_ID_CHARS:
        raise RecordError(ref, f"'case_id' is longer than {MAX_CASE_ID_CHARS} characters")
    return value.strip()


def _jsonl(path: Path) -> Iterator[CasePeople | RecordError]:
    if not path.is_file():
        raise FatalConnectorError(f"people source {path}: no such file")
    latest: dict[str, CasePeople] = {}
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            ref = f"{path}:{number}"
            if not raw.strip():
                continue
            try:
                latest_item = _jsonl_line(raw, ref)
            except RecordError as error:
                yield error
                continue
            latest.pop(latest_item.case_id, None)  # keep file order of each case's last line
            latest[latest_item.case_id] = latest_item
    yield from latest.values()


def _jsonl_line(raw: bytes, ref: str) -> CasePeople:
    if len(raw) > MAX_LINE_BYTES:
        raise RecordError(ref, f"line is longer than {MAX_LINE_BYTES:,} bytes")
    try:
        value = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise RecordError(ref, "line is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise RecordError(ref, f"not JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(value, Mapping):
        raise RecordError(ref, "line must be an object with case_id and subjects")
    unknown = sorted(str(k) for k in value if k not in _KEYS)
    if unknown:
        raise RecordError(ref, f"unknown key(s): {', '.join(unknown)}")
    if "subjects" not in value:
        raise RecordError(ref, "'subjects' is missing (use [] for a case with no people)")
    case_id = _case_id(value.get("case_id"), ref)
    return CasePeople(case_id, parse_subjects(value["subjects"], ref))


def _sql(url: str, table_name: str) -> Iterator[CasePeople | RecordError]:
    try:
        engine = sa.create_engine(url)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise FatalConnectorError(f"people source: cannot use the database URL ({exc})") from None
    try:
        with engine.connect() as conn:
            table = sa.Table(table_name, sa.MetaData(), autoload_with=conn)
            missing = {"case_id", "person_id", "name", "role"} - set(table.c.keys())
            if missing:
                lacking = ", ".join(sorted(missing))
                raise FatalConnectorError(
                    f"people source table {table_name!r} lacks column(s): {lacking}"
                )
            order = [table.c.case_id, table.c.person_id]
            rows = [dict(r) for r in conn.execute(sa.select(table).order_by(*order)).mappings()]
    except sa.exc.SQLAlchemyError as exc:
        reason = str(exc.orig) if isinstance(exc, sa.exc.DBAPIError) else type(exc).__name__
        raise FatalConnectorError(f"people source table {table_name!r}: {reason}") from None
    finally:
        engine.dispose()
    by_case: dict[str, list[dict[str, Any]]] = {}
    for index, row in enumerate(rows, start=1):
        ref = f"{table_name} row {index}"
        try:
            case_id = _case_id(row.get("case_id"), ref)
        except RecordError as error:
            yield error
            continue
        by_case.setdefault(case_id, []).append(row)
    for case_id, case_rows in by_case.items():
        ref = f"{table_name} case {case_id}"
        try:
            people = [_person_of_row(row, ref) for row in case_rows]
            yield CasePeople(case_id, parse_subjects(people, ref))
        except RecordError as error:
            yield error


def _person_of_row(row: Mapping[str, Any], ref: str) -> dict[str, Any]:
    person: dict[str, Any] = {"id": row.get("person_id"), "name": row.get("name")}
    person["role"] = row.get("role")
    others = row.get("other_names")
    if isinstance(others, str) and others.strip():
        try:
            person["other_names"] = json.loads(others)
        except json.JSONDecodeError:
            raise RecordError(ref, "'other_names' must be a JSON list of strings") from None
    elif others is not None and not isinstance(others, str):
        person["other_names"] = others
    dob = row.get("dob")
    if isinstance(dob, dt.datetime):
        dob = dob.date()
    if isinstance(dob, dt.date):
        dob = dob.isoformat()
    if dob is not None:
        person["dob"] = dob
    return person
