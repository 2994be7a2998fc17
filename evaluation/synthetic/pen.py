"""What a writer needs to write one document: the case, its state so far, the day and author."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from evaluation.synthetic.context import CaseFile, fmt_date
from evaluation.synthetic.people import Staff
from evaluation.synthetic.textkit import Slots, say, say_one


@dataclass(slots=True)
class CaseState:
    """What has happened in the case up to the document being written (mutated in date order)."""

    cp_active: bool = False
    cin_active: bool = False
    category: str = ""
    plan_versions: list[dt.date] = field(default_factory=list)
    strategy_dates: list[dt.date] = field(default_factory=list)
    icpc_date: dt.date | None = None
    rcpc_dates: list[dt.date] = field(default_factory=list)
    improved: bool = False
    police_incidents: list[tuple[dt.date, str]] = field(default_factory=list)
    missing_dates: list[dt.date] = field(default_factory=list)
    gp_dates: list[dt.date] = field(default_factory=list)
    plo: bool = False
    network_growth: int = 0


@dataclass(slots=True)
class Pen:
    """A writer's tools for one document."""

    rng: random.Random
    case: CaseFile
    state: CaseState
    day: dt.date
    author: Staff
    s: Slots

    @classmethod
    def open(
        cls,
        rng: random.Random,
        case: CaseFile,
        state: CaseState,
        day: dt.date,
        author: Staff,
    ) -> Pen:
        return cls(rng, case, state, day, author, case.slots(rng, day, author))

    @property
    def age(self) -> int:
        """The child's age in whole years (0-17)."""
        return min(self.case.child.age_on(self.day), 17)

    def say(self, template: str) -> str:
        return say(self.rng, template, self.s)

    def one(self, templates: tuple[str, ...] | list[str]) -> str:
        return say_one(self.rng, templates, self.s)

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    def date(self, day: dt.date) -> str:
        """``day`` in a UK style chosen for this mention."""
        return fmt_date(self.rng, day)
