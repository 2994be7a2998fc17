"""Small text tools shared by the document writers: seeded choice, templates, UK dates.

Templates are ordinary ``str.format`` strings with one extra: ``[a|b|c]`` picks one alternative
at random (``[a|]`` makes ``a`` optional). Square brackets are therefore reserved for
alternatives and never appear literally in generated prose. A ``{key_C}`` placeholder is
``{key}`` with its first letter capitalised, for slots that can open a sentence.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Mapping, Sequence
from typing import TypeVar

T = TypeVar("T")

_ALTERNATIVES = re.compile(r"\[([^\[\]]*)\]")
_SPACES = re.compile(r"[ \t]{2,}")
_SPACE_BEFORE_PUNCT = re.compile(r" +([,.;:!?])")
_DOUBLE_FULL_STOP = re.compile(r"\.\.(?!\.)")
_SENTENCE_START = re.compile(r"(^|[.!?] |\n)([a-z])")

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def pick(rng: random.Random, options: Sequence[T]) -> T:
    """One element of ``options`` (which must not be empty)."""
    return options[rng.randrange(len(options))]


def chance(rng: random.Random, probability: float) -> bool:
    """True with the given probability."""
    return rng.random() < probability


def some(rng: random.Random, options: Sequence[T], low: int, high: int) -> list[T]:
    """Between ``low`` and ``high`` distinct elements of ``options``, in random order."""
    count = min(len(options), rng.randint(low, high))
    return rng.sample(list(options), count)


class Slots(dict[str, str]):
    """Template values; ``{name_C}`` gives ``{name}`` with a capital first letter."""

    def __missing__(self, key: str) -> str:
        if key.endswith("_C") and key[:-2] in self:
            value = self[key[:-2]]
            return value[:1].upper() + value[1:]
        raise KeyError(f"template slot {key!r} is not defined")


def vary(rng: random.Random, template: str) -> str:
    """Resolve every ``[a|b|c]`` group to one alternative (innermost groups first)."""
    while True:
        match = _ALTERNATIVES.search(template)
        if match is None:
            return template
        choice = pick(rng, match.group(1).split("|"))
        template = template[: match.start()] + choice + template[match.end() :]


def tidy(text: str) -> str:
    """Collapse the double spaces and stray punctuation that optional alternatives leave."""
    text = _SPACES.sub(" ", text)
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    return _DOUBLE_FULL_STOP.sub(".", text)


def finish(text: str) -> str:
    """Final clean-up of a whole document: trimmed lines, at most one blank line in a row,
    and a capital letter at the start of every sentence (slots such as "mother" or
    "child protection plan" may open one)."""
    text = _SENTENCE_START.sub(lambda m: m.group(1) + m.group(2).upper(), tidy(text))
    lines = [line.strip() for line in text.split("\n")]
    out: list[str] = []
    for line in lines:
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


def say(rng: random.Random, template: str, slots: Mapping[str, str]) -> str:
    """``template`` with alternatives resolved and slots filled."""
    return tidy(vary(rng, template).format_map(slots))


def fit(templates: Sequence[str], slots: Mapping[str, str]) -> list[str]:
    """``templates`` without those that name a sibling, when the child has none.

    Falls back to every template when that would leave nothing.
    """
    if slots.get("has_sib") == "yes":
        return list(templates)
    kept = [t for t in templates if "{sib}" not in t and "{sib_" not in t and "{sib'" not in t]
    return kept or list(templates)


def say_one(rng: random.Random, templates: Sequence[str], slots: Mapping[str, str]) -> str:
    """One of ``templates`` (skipping sibling templates for an only child), filled."""
    return say(rng, pick(rng, fit(templates, slots)), slots)


def uk_date(day: dt.date, style: int) -> str:
    """``day`` written the way case recorders write dates; ``style`` selects the form."""
    month = MONTHS[day.month - 1]
    forms = (
        f"{day.day:02d}/{day.month:02d}/{day.year}",
        f"{day.day} {month} {day.year}",
        f"{day.day:02d}.{day.month:02d}.{day.year % 100:02d}",
        f"{WEEKDAYS[day.weekday()]} {day.day} {month}",
        f"{day.day}/{day.month}/{day.year % 100:02d}",
        f"{day.day} {month[:3]} {day.year}",
    )
    return forms[style % len(forms)]


def join_names(names: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if not names:
        return ""
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]


def add_working_days(day: dt.date, days: int) -> dt.date:
    """``day`` plus ``days`` weekdays (bank holidays are ignored)."""
    current = day
    remaining = days
    while remaining > 0:
        current += dt.timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current


def weekday_on_or_after(day: dt.date) -> dt.date:
    """``day`` or the Monday after it when it falls at a weekend."""
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def word_count(text: str) -> int:
    """Whitespace-separated words in ``text``."""
    return len(text.split())
