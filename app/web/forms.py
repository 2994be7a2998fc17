"""The search form as the page submits it (GET query parameters), checked field by field.

Errors are collected, not raised, so the page can show them GOV.UK style: a summary at the top
linking to each field, and the message again beside the field.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from fastapi import Request

from app.settings import Settings

PAGE_SIZE = 10
MAX_ID_CHARS = 256
MAX_DOC_TYPES = 50
_DOC_TYPE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_DIGITS = re.compile(r"[0-9]{1,6}")


@dataclass(frozen=True, slots=True)
class DateField:
    """The three boxes of a GOV.UK date input, as typed."""

    day: str = ""
    month: str = ""
    year: str = ""

    @property
    def empty(self) -> bool:
        return not (self.day or self.month or self.year)


@dataclass(slots=True)
class SearchForm:
    """What the user asked for, as typed (to fill the form again) and as checked values."""

    submitted: bool = False
    q: str = ""
    case_id: str | None = None
    doc_types: list[str] = field(default_factory=list)
    date_from_input: DateField = DateField()
    date_to_input: DateField = DateField()
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    page: int = 1
    # search the words exactly as typed (``exact=1``): no spelling corrections, added
    # wordings, dates or names read from the query
    exact: bool = False
    # dates the page filled into the boxes from a date phrase of the query (``read_from``,
    # ``read_to``); see ``parse_search_form``
    read_from: dt.date | None = None
    read_to: dt.date | None = None
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def offset(self) -> int:
        return (self.page - 1) * PAGE_SIZE

    @property
    def filtered(self) -> bool:
        return bool(self.doc_types or self.date_from or self.date_to)

    def params(self, *, page: int | None = None) -> list[tuple[str, str]]:
        """Query parameters that reproduce this search (for paging and links)."""
        out: list[tuple[str, str]] = [("q", self.q)]
        if self.case_id:
            out.append(("case_id", self.case_id))
        out.extend(("doc_type", t) for t in self.doc_types)
        for prefix, value in (("from", self.date_from), ("to", self.date_to)):
            if value is not None:
                out += [
                    (f"{prefix}_day", str(value.day)),
                    (f"{prefix}_month", str(value.month)),
                    (f"{prefix}_year", str(value.year)),
                ]
        if self.exact:
            out.append(("exact", "1"))
        chosen = self.page if page is None else page
        if chosen > 1:
            out.append(("page", str(chosen)))
        return out


def _one(request: Request, name: str, limit: int) -> str:
    # Longer than any legitimate value: cut, and the length check below reports it.
    return (request.query_params.get(name) or "").strip()[: limit + 1]


def parse_search_form(request: Request, settings: Settings) -> SearchForm:
    """Read the search form from the query string. A page without ``q`` is not a search."""
    params = request.query_params
    form = SearchForm(submitted="q" in params)
    max_chars = settings.limits.max_query_chars
    form.q = _one(request, "q", max_chars)
    if form.submitted and not form.q:
        form.errors["q"] = "Enter what you are looking for"
    elif len(form.q) > max_chars:
        form.errors["q"] = f"Search must be {max_chars} characters or fewer"
        form.q = form.q[:max_chars]

    case_id = _one(request, "case_id", MAX_ID_CHARS)
    if len(case_id) > MAX_ID_CHARS:
        form.errors["case_id"] = "Case reference is too long"
    else:
        form.case_id = case_id or None

    seen: list[str] = []
    for value in params.getlist("doc_type")[: MAX_DOC_TYPES + 1]:
        value = value.strip()
        if _DOC_TYPE.fullmatch(value) and value not in seen:
            seen.append(value)
    form.doc_types = seen[:MAX_DOC_TYPES]

    form.date_from_input = DateField(
        _one(request, "from_day", 4), _one(request, "from_month", 4), _one(request, "from_year", 6)
    )
    form.date_to_input = DateField(
        _one(request, "to_day", 4), _one(request, "to_month", 4), _one(request, "to_year", 6)
    )
    form.date_from = _date(form.date_from_input, "from", "Date from", form.errors)
    form.date_to = _date(form.date_to_input, "to", "Date to", form.errors)
    # A box still holding the date the page read from the query's words is not a filter of
    # its own: the words decide (edit "since March 2024" out and that date goes too).
    if form.date_from is not None and form.date_from == _iso(params.get("read_from")):
        form.date_from, form.date_from_input = None, DateField()
    if form.date_to is not None and form.date_to == _iso(params.get("read_to")):
        form.date_to, form.date_to_input = None, DateField()
    if form.date_from and form.date_to and form.date_to < form.date_from:
        form.errors["to"] = "Date to must be the same as or after date from"
        form.date_to = None

    form.exact = params.get("exact") == "1"
    page = params.get("page", "1")
    max_page = settings.limits.max_offset // PAGE_SIZE + 1
    form.page = int(page) if _DIGITS.fullmatch(page) and 1 <= int(page) <= max_page else 1
    return form


def _iso(value: str | None) -> dt.date | None:
    if not value or len(value) != 10:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _date(value: DateField, key: str, name: str, errors: dict[str, str]) -> dt.date | None:
    if value.empty:
        return None
    missing = [part for part in ("day", "month", "year") if not getattr(value, part)]
    if missing:
        errors[key] = f"{name} must include a {' and '.join(missing)}"
        return None
    if not all(_DIGITS.fullmatch(part) for part in (value.day, value.month, value.year)):
        errors[key] = f"{name} must be a real date"
        return None
    if len(value.year) != 4:
        errors[key] = f"Year in {name.lower()} must include 4 numbers"
        return None
    try:
        return dt.date(int(value.year), int(value.month), int(value.day))
    except ValueError:
        errors[key] = f"{name} must be a real date"
        return None
