"""Date phrases in a query, resolved against ``today`` into a date range.

Rules (weeks start on Monday; every range is inclusive):

- ``today``, ``yesterday``; ``1 March 2024``, ``March 1st, 2024``, ``01/03/2024`` (day first,
  as in the UK), ``2024-03-01``: that day.
- ``March 2024``, ``in March``: that month; ``2023``: that year. A month or day without a year is
  the latest one not after today.
- ``last week|month|year`` (also ``previous``): the previous calendar week, month or year.
- ``this week|month|year`` (also ``earlier this ...``, ``so far this ...``): from its start
  to today.
- ``last|past|previous N days|weeks|fortnights|months|years`` (N a number or a word: six, a
  couple of, a few = 3), ``the past year``, ``past month``, ``last fortnight``: a window of
  that length ending today.
- ``N weeks ago``: the calendar week, month or year containing that day (days: that day).
- ``last March``: the latest March before the current month.
- ``since X``, ``from X``, ``X onwards``: from the start of X; ``after X``: from the day after X;
  ``before X``: to the day before X; ``until|till|up to|by X``: to the end of X;
  ``between X and Y``, ``from X to Y``, ``X-Y``: from the start of X to the end of Y, a missing
  year taken from the other end (``between Jan and March 2024``).

A month or day-month without a year counts only after a preposition (``in``, ``since``,
``before``...) or inside a range, so "Jan" the person and "may" the verb are left alone. Several
phrases are intersected; when that is empty (``in 2022 and 2023``) their covering span is used.
In a list (``in May and June``) each date takes the preposition of the one before.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

Unit = Literal["day", "week", "fortnight", "month", "year"]


@dataclass(frozen=True, slots=True)
class DatePhrase:
    """A date phrase: its character span in the query and the range it asks for."""

    start: int
    end: int
    date_from: date | None
    date_to: date | None


@dataclass(frozen=True, slots=True)
class DateScan:
    """Every date phrase found, in query order, and the combined range."""

    phrases: tuple[DatePhrase, ...]
    date_from: date | None
    date_to: date | None


_MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4,
    "april": 4, "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8,
    "sep": 9, "sept": 9, "september": 9, "oct": 10, "october": 10, "nov": 11, "november": 11,
    "dec": 12, "december": 12,
}  # fmt: skip
_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "eighteen": 18, "twenty": 20, "couple": 2, "few": 3,
}  # fmt: skip

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_NUMBER = (
    r"(?:\d{1,3}|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|eighteen"
    r"|twenty|(?:a\s+)?couple(?:\s+of)?|(?:a\s+)?few)"
)
_UNIT = r"(?:days?|weeks?|wks?|fortnights?|months?|mths?|years?|yrs?)"
_ORDINAL = r"(?:st|nd|rd|th)?"

# One alternative per kind of atom; at each position the first alternative that fits wins.
_ATOM = re.compile(
    rf"""(?<![\w&])(?:
      (?P<iso>(?P<iso_y>\d{{4}})-(?P<iso_m>\d{{1,2}})-(?P<iso_d>\d{{1,2}}))
    | (?P<num>(?P<num_d>\d{{1,2}})[/.\-](?P<num_m>\d{{1,2}})[/.\-](?P<num_y>\d{{4}}|\d{{2}}))
    | (?P<roll>(?:the\s+)?(?:last|past|previous|preceding)\s+(?P<roll_n>{_NUMBER})\s+
        (?P<roll_u>{_UNIT}))
    | (?P<ago>(?P<ago_n>{_NUMBER})\s+(?P<ago_u>{_UNIT})\s+ago)
    | (?P<the_unit>the\s+(?:last|past|previous|preceding)\s+(?P<the_u>{_UNIT}))
    | (?P<past_unit>past\s+(?P<past_u>{_UNIT})|(?:last|previous)\s+(?P<last_f>fortnight))
    | (?P<prev>(?:last|previous)\s+(?P<prev_u>week|month|year))
    | (?P<prev_month>(?:last|previous)\s+(?P<prev_m>{_MONTH}))
    | (?P<this>(?:(?:earlier|so\s+far)\s+)?this\s+(?P<this_u>week|month|year)(?:\s+so\s+far)?)
    | (?P<today>today)
    | (?P<yesterday>yesterday)
    | (?P<dm>(?P<dm_d>\d{{1,2}}){_ORDINAL}\s+(?:of\s+)?(?P<dm_m>{_MONTH})
        (?:,?\s+(?P<dm_y>\d{{4}}))?)
    | (?P<md>(?P<md_m>{_MONTH})\s+(?P<md_d>\d{{1,2}}){_ORDINAL}(?:,?\s+(?P<md_y>\d{{4}}))?)
    | (?P<my>(?P<my_m>{_MONTH}),?\s+(?:(?P<my_y>\d{{4}})|['’](?P<my_yy>\d{{2}})))
    | (?P<mo>(?P<mo_m>{_MONTH}))
    | (?<![£$€#/\-])(?P<yr>(?:19|20)\d{{2}})(?![/\-]\d)
    )(?!\w|['’]\w)""",
    re.IGNORECASE | re.VERBOSE,
)

_FROM = frozenset({"since", "from", "starting", "starting from", "beginning", "as of"})
_AFTER = frozenset({"after"})
_BEFORE = frozenset({"before", "prior to"})
_UNTIL = frozenset({"until", "till", "til", "up to", "up until", "by"})
# A bare month ("Jan", "may") is a date only after one of these.
_MONTH_CONTEXT = frozenset(
    {*_FROM, *_AFTER, *_BEFORE, "until", "till", "til", "up to", "up until", "between", "in",
     "during", "throughout"}
)  # fmt: skip
_PREPOSITION = re.compile(
    r"(?:(?<!\w)(?P<prep>since|from|starting(?:\s+from)?|beginning|as\s+of|after|before"
    r"|prior\s+to|until|till|til|up\s+(?:to|until)|by|between|in|during|on|within|throughout"
    r"|over|for|of|around|dated)\s+)?(?:(?<!\w)the\s+)?\Z",
    re.IGNORECASE,
)
_RANGE_GAP = re.compile(r"\s*(?P<link>and|to|until|till|through|thru|[-–—])\s*", re.IGNORECASE)
_LIST_GAP = re.compile(r"\s*(?:,\s*)?(?:and|or|&|,)\s*", re.IGNORECASE)
_OPEN_END = re.compile(
    r"\s*(?:onwards?|to\s+(?:date|now|the\s+present|present))(?!\w)", re.IGNORECASE
)
_PREPOSITION_REACH = 40  # characters searched back for a preposition


@dataclass(frozen=True, slots=True)
class _Atom:
    """A date expression before prepositions and ranges are considered.

    ``month``/``day`` are set for a month or day written without a year (``year_given`` False),
    so a range can re-resolve it with the year of its other end.
    """

    start: int
    end: int
    first: date
    last: date
    year_given: bool
    needs_context: bool
    month: int | None = None
    day: int | None = None


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def _month_range(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _unit(word: str) -> Unit:
    head = word.lower()[0]
    if head == "d":
        return "day"
    if head == "w":
        return "week"
    if head == "f":
        return "fortnight"
    return "month" if head == "m" else "year"


def _number(text: str) -> int:
    words = text.lower().split()
    if words[0].isdigit():
        return int(words[0])
    return _NUMBER_WORDS[words[-1] if words[-1] != "of" else words[-2]]


def _back(today: date, count: int, unit: Unit) -> date:
    """``today`` moved ``count`` units into the past."""
    if unit == "day":
        return today - timedelta(days=count)
    if unit == "week":
        return today - timedelta(weeks=count)
    if unit == "fortnight":
        return today - timedelta(weeks=2 * count)
    return _add_months(today, -count if unit == "month" else -12 * count)


def _calendar_period(day: date, unit: Unit) -> tuple[date, date]:
    """The calendar day, week (Monday to Sunday), month or year containing ``day``."""
    if unit == "day":
        return day, day
    if unit in ("week", "fortnight"):
        monday = day - timedelta(days=day.weekday())
        return monday, monday + timedelta(days=6)
    if unit == "month":
        return _month_range(day.year, day.month)
    return date(day.year, 1, 1), date(day.year, 12, 31)


def _latest_year(today: date, month: int, day: int | None) -> int:
    """The year of the latest such month (or day) not after ``today``."""
    if (month, day or 1) <= (today.month, today.day):
        return today.year
    return today.year - 1


def _resolve(month: int, day: int | None, year: int) -> tuple[date, date]:
    if day is None:
        return _month_range(year, month)
    single = date(year, month, day)
    return single, single


def _full_year(digits: str, today: date) -> int:
    if len(digits) == 4:
        return int(digits)
    year = 2000 + int(digits)
    return year if year <= today.year + 10 else year - 100


def _atom(match: re.Match[str], today: date) -> _Atom | None:
    """The atom of one regex match, or ``None`` when it names no real date (31/02/2024)."""
    kind = match.lastgroup
    groups = match.groupdict()
    start, end = match.span()

    def fixed(first: date, last: date, needs_context: bool = False) -> _Atom:
        return _Atom(start, end, first, last, True, needs_context)

    def partial(month: int, day: int | None, year: str | None, needs_context: bool) -> _Atom:
        if year is not None:
            first, last = _resolve(month, day, _full_year(year, today))
            return _Atom(start, end, first, last, True, needs_context)
        first, last = _resolve(month, day, _latest_year(today, month, day))
        return _Atom(start, end, first, last, False, needs_context, month, day)

    def month_of(name: str) -> int:
        return _MONTHS[name.lower().rstrip(".")]

    try:
        if kind == "iso":
            single = date(int(groups["iso_y"]), int(groups["iso_m"]), int(groups["iso_d"]))
            return fixed(single, single)
        if kind == "num":
            year = _full_year(groups["num_y"], today)
            single = date(year, int(groups["num_m"]), int(groups["num_d"]))
            return fixed(single, single)
        if kind == "roll":
            unit = _unit(groups["roll_u"])
            return fixed(_back(today, _number(groups["roll_n"]), unit), today)
        if kind == "ago":
            unit = _unit(groups["ago_u"])
            return fixed(*_calendar_period(_back(today, _number(groups["ago_n"]), unit), unit))
        if kind in ("the_unit", "past_unit"):
            unit = _unit(groups["the_u"] or groups["past_u"] or groups["last_f"])
            return fixed(_back(today, 1, unit), today)
        if kind == "prev":
            unit = _unit(groups["prev_u"])
            return fixed(*_calendar_period(_back(today, 1, unit), unit))
        if kind == "prev_month":
            month = month_of(groups["prev_m"])
            year = today.year if month < today.month else today.year - 1
            return fixed(*_month_range(year, month))
        if kind == "this":
            return fixed(_calendar_period(today, _unit(groups["this_u"]))[0], today)
        if kind == "today":
            return fixed(today, today)
        if kind == "yesterday":
            yesterday = today - timedelta(days=1)
            return fixed(yesterday, yesterday)
        if kind == "dm":
            return partial(month_of(groups["dm_m"]), int(groups["dm_d"]), groups["dm_y"], False)
        if kind == "md":
            written: str | None = groups["md_y"]
            return partial(month_of(groups["md_m"]), int(groups["md_d"]), written, written is None)
        if kind == "my":
            written = groups["my_y"] or groups["my_yy"]
            return partial(month_of(groups["my_m"]), None, written, False)
        if kind == "mo":
            return partial(month_of(groups["mo_m"]), None, None, True)
        if kind == "yr":
            year = int(groups["yr"])
            return fixed(date(year, 1, 1), date(year, 12, 31))
    except (ValueError, OverflowError):
        return None  # no such day, or out of the calendar's range
    return None


def _with_year(atom: _Atom, year: int) -> _Atom | None:
    if atom.year_given or atom.month is None:
        return atom
    try:
        first, last = _resolve(atom.month, atom.day, year)
    except ValueError:
        return None
    return _Atom(atom.start, atom.end, first, last, True, False, atom.month, atom.day)


def _range(left: _Atom, right: _Atom) -> tuple[date, date] | None:
    """From the start of ``left`` to the end of ``right``, lending a year across."""
    first: _Atom | None = left
    last: _Atom | None = right
    if not left.year_given and right.year_given:
        first = _with_year(left, right.last.year)
        if first is not None and first.first > right.last:
            first = _with_year(left, right.last.year - 1)
    elif (left.year_given and not right.year_given) or (
        not left.year_given and not right.year_given
    ):
        last = _with_year(right, left.first.year)
        if last is not None and last.last < left.first:
            last = _with_year(right, left.first.year + 1)
    if first is None or last is None:
        return None
    return min(first.first, last.first), max(first.last, last.last)


def _preposition(text: str, start: int) -> tuple[str | None, int]:
    """The preposition (lowercased, single-spaced) just before ``start``, if any, and where the
    phrase begins (with the preposition and a "the")."""
    found = _PREPOSITION.search(text, max(0, start - _PREPOSITION_REACH), start)
    if found is None:  # cannot happen: the pattern matches the empty string at ``start``
        return None, start
    prep = found.group("prep")
    return (" ".join(prep.lower().split()) if prep else None), found.start()


def _has_context(atom: _Atom, prep: str | None) -> bool:
    """Whether a year-less atom is a date here: a day after any preposition ("on March 3"),
    a bare month only after one that usually introduces a time ("in May", not "by Jan")."""
    if prep is None:
        return False
    return atom.day is not None or prep in _MONTH_CONTEXT


def _shift(day: date, days: int) -> date:
    """``day`` moved by ``days``, held at the calendar's ends (years 1 and 9999)."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return day


def _apply(prep: str | None, first: date, last: date) -> tuple[date | None, date | None]:
    if prep in _FROM:
        return first, None
    if prep in _AFTER:
        return _shift(last, 1), None
    if prep in _BEFORE:
        return None, _shift(first, -1)
    if prep in _UNTIL:
        return None, last
    return first, last


def _combine(phrases: list[DatePhrase]) -> tuple[date | None, date | None]:
    """Intersection of the phrases' ranges, or their covering span when that is empty."""
    froms = [p.date_from for p in phrases if p.date_from is not None]
    tos = [p.date_to for p in phrases if p.date_to is not None]
    date_from = max(froms) if froms else None
    date_to = min(tos) if tos else None
    if date_from is not None and date_to is not None and date_from > date_to:
        open_start = any(p.date_from is None for p in phrases)
        open_end = any(p.date_to is None for p in phrases)
        date_from = None if open_start else min(froms)
        date_to = None if open_end else max(tos)
    return date_from, date_to


def find_dates(text: str, today: date) -> DateScan:
    """Every date phrase of ``text`` resolved against ``today``; never raises on any text."""
    atoms = [a for m in _ATOM.finditer(text) if (a := _atom(m, today)) is not None]
    phrases: list[DatePhrase] = []
    list_prep: str | None = None
    i = 0
    while i < len(atoms):
        atom = atoms[i]
        prep, start = _preposition(text, atom.start)
        if prep is None and phrases and _LIST_GAP.fullmatch(text, phrases[-1].end, atom.start):
            prep, start = list_prep, phrases[-1].end  # "in May and June": June is "in" too
        end = atom.end
        span: tuple[date, date] | None = None
        if i + 1 < len(atoms):
            following = atoms[i + 1]
            gap = _RANGE_GAP.fullmatch(text, atom.end, following.start)
            if gap is not None and (gap.group("link").lower() != "and" or prep == "between"):
                span = _range(atom, following)
                if span is not None:
                    end = following.end
                    i += 1
        i += 1
        if span is None:
            if atom.needs_context and not _has_context(atom, prep):
                continue
            date_from, date_to = _apply(prep, atom.first, atom.last)
        else:  # "from X to Y", "between X and Y": the whole range
            date_from, date_to = _apply(prep if prep in _BEFORE | _AFTER else None, *span)
        open_end = _OPEN_END.match(text, end)
        if open_end is not None and (prep is None or prep in _FROM):
            end, date_to = open_end.end(), None
        phrases.append(DatePhrase(start, end, date_from, date_to))
        list_prep = prep
    return DateScan(tuple(phrases), *_combine(phrases))
