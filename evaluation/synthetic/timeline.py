"""One case from referral to today: who the family are, what happens when, and the records.

``plan_case`` fixes the cast and the shape of the case; ``write_case`` walks its events in
date order (a heap, because some events schedule follow-ups, e.g. a missing episode leads to
a return home interview) and lets each writer see the state the case is in on that day.
"""

from __future__ import annotations

import datetime as dt
import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from evaluation.synthetic import (
    agencies,
    casenotes,
    conferences,
    front_door,
    letters,
    people,
    shorthand,
)
from evaluation.synthetic import police as police_notes
from evaluation.synthetic.context import Allocation, CaseFile, Pathway, perpetrator_for
from evaluation.synthetic.model import Draft, Theme
from evaluation.synthetic.pen import CaseState, Pen
from evaluation.synthetic.people import Staff
from evaluation.synthetic.safety_plans import safety_plan
from evaluation.synthetic.textkit import pick, weekday_on_or_after
from evaluation.synthetic.visits import visit_note

INDEX_AGE: dict[Theme, tuple[int, int]] = {
    "neglect": (0, 9),
    "domestic_abuse": (1, 15),
    "exploitation": (13, 16),
    "home_alone": (5, 10),
    "substance": (0, 8),
    "mental_health": (1, 14),
    "physical": (0, 14),
}
SECONDARY: dict[Theme, tuple[Theme, ...]] = {
    "neglect": ("substance", "mental_health", "home_alone", "domestic_abuse"),
    "domestic_abuse": ("substance", "mental_health", "neglect"),
    "exploitation": ("domestic_abuse", "neglect", "substance"),
    "home_alone": ("neglect", "substance", "mental_health"),
    "substance": ("neglect", "domestic_abuse", "home_alone"),
    "mental_health": ("neglect", "domestic_abuse"),
    "physical": ("domestic_abuse", "mental_health"),
}
LINE_NAMES: tuple[str, ...] = ("Bando", "Zee", "Tony", "K2", "Milly", "Dotty", "Ricky")


def plan_case(
    rng: random.Random,
    *,
    number: int,
    case_id: str,
    team: str,
    primary: Theme,
    conflict_of_interest: bool,
    today: dt.date,
) -> CaseFile:
    """The cast and shape of one case (no documents yet)."""
    themes: list[Theme] = [primary]
    for extra in rng.sample(SECONDARY[primary], rng.choice((0, 0, 1, 1, 2))):
        themes.append(extra)
    low, high = INDEX_AGE[primary]
    index_age = rng.randint(low, high)
    opened = weekday_on_or_after(today - dt.timedelta(days=rng.randint(330, 1420)))
    # Nobody in the household turns 18 while the case is open: children's services end there.
    oldest = 17 - ((today - opened).days + 364) // 365
    index_age = min(index_age, max(oldest, 0))
    closed = rng.random() < 0.2
    if closed:
        last = opened + dt.timedelta(days=rng.randint(300, max(301, (today - opened).days - 20)))
    else:
        last = today - dt.timedelta(days=rng.randint(1, 12))
    town = pick(rng, [t for t in people.TOWNS if t.team == team])
    family = people.make_family(
        rng,
        town,
        index_age=index_age,
        oldest=max(oldest, index_age),
        n_children=rng.choices((1, 2, 3, 4), (3, 4, 3, 1))[0],
        opened=opened,
    )
    workers = [
        w
        for w in people.SOCIAL_WORKERS[team]
        if not (conflict_of_interest and w == people.CONFLICTED_WORKER[team])
    ]
    allocations = [Allocation(opened, pick(rng, workers))]
    if (last - opened).days > 500 and rng.random() < 0.6:
        change = opened + dt.timedelta(days=rng.randint(200, (last - opened).days - 100))
        others = [w for w in workers if w != allocations[0].worker]
        allocations.append(Allocation(change, pick(rng, others)))
    under_five = any(c.age_on(opened) < 5 for c in family.children)
    pathway: Pathway = "cp" if rng.random() < (0.75 if primary != "neglect" else 0.6) else "cin"
    perpetrator, label = perpetrator_for(rng, family)
    return CaseFile(
        case_id=case_id,
        number=number,
        team=team,
        themes=tuple(themes),
        pathway=pathway,
        family=family,
        opened=opened,
        last_activity=min(last, today - dt.timedelta(days=1)),
        allocations=tuple(allocations),
        manager=people.TEAM_MANAGERS[team],
        chair=pick(rng, people.CP_CHAIRS),
        mash_worker=pick(rng, people.MASH_STAFF),
        doctor=pick(rng, people.DOCTORS),
        practice=pick(rng, town.surgeries),
        health_visitor=pick(rng, people.HEALTH_VISITORS) if under_five else None,
        dsl=pick(rng, people.DSL_NAMES),
        senco=pick(rng, people.SENCO_NAMES),
        school_nurse=pick(rng, people.SCHOOL_NURSES),
        officer=pick(rng, people.POLICE_OFFICERS),
        idva=pick(rng, people.IDVAS),
        exploitation_worker=pick(rng, people.EXPLOITATION_WORKERS),
        youth_worker=pick(rng, people.YOUTH_WORKERS),
        perpetrator=perpetrator,
        perpetrator_label=label,
        far_town=pick(rng, people.FAR_TOWNS),
        line_name=pick(rng, LINE_NAMES),
        conflict_of_interest=conflict_of_interest,
        closed=closed,
    )


@dataclass(frozen=True, slots=True)
class Written:
    """A draft with the day it was recorded and who recorded it."""

    day: dt.date
    draft: Draft
    author: Staff


Writer = Callable[[Pen], Draft]


@dataclass(order=True)
class _Event:
    day: dt.date
    priority: int
    seq: int
    name: str = field(compare=False)
    writer: Writer = field(compare=False)
    author: str = field(compare=False)  # "sw", "tm", "mash", "minutes"


@dataclass(slots=True)
class _Schedule:
    rng: random.Random
    case: CaseFile
    heap: list[_Event] = field(default_factory=list)
    seq: int = 0

    def add(
        self, day: dt.date, name: str, writer: Writer, *, author: str = "sw", priority: int = 5
    ) -> None:
        self.seq += 1
        heapq.heappush(self.heap, _Event(day, priority, self.seq, name, writer, author))

    def spread(self, count: int, start: dt.date, end: dt.date) -> list[dt.date]:
        """``count`` weekdays between ``start`` and ``end``, sorted."""
        span = max((end - start).days, 1)
        days = sorted(self.rng.randint(0, span) for _ in range(count))
        return [weekday_on_or_after(start + dt.timedelta(days=d)) for d in days]


def write_case(rng: random.Random, case: CaseFile) -> list[Written]:
    """Every record of the case in the order it was written."""
    sched = _Schedule(rng, case)
    state = CaseState()
    start, end = case.opened, case.last_activity
    span = (end - start).days
    improves = rng.random() < (0.45 if case.pathway == "cp" else 0.6)
    improved_on = (
        start + dt.timedelta(days=int(span * rng.uniform(0.45, 0.8))) if improves else None
    )
    trouble_end = improved_on or end

    sched.add(start, "referral", front_door.referral, author="mash", priority=0)
    if case.conflict_of_interest:
        sched.add(
            start, "conflict", lambda p: casenotes.case_note(p, "conflict"), author="tm", priority=1
        )
    plan_days: list[dt.date] = []
    if case.pathway == "cp":
        cp_start = start
        sched.add(
            start,
            "mash",
            lambda p: front_door.mash_decision(p, "strategy"),
            author="mash",
            priority=1,
        )
    else:
        sched.add(
            start,
            "mash",
            lambda p: front_door.mash_decision(p, "assessment"),
            author="mash",
            priority=1,
        )
        assess = weekday_on_or_after(start + dt.timedelta(days=rng.randint(25, 45)))
        sched.add(assess, "assessment", lambda p: front_door.assessment(p, s47=False))
        sched.add(assess + dt.timedelta(days=rng.randint(3, 9)), "cin_plan", conferences.cin_plan)
        plan_days.append(assess + dt.timedelta(days=rng.randint(0, 12)))
        reviews = sched.spread(max(1, span // 120), assess + dt.timedelta(days=60), end)
        escalate = rng.random() < 0.45 and span > 300
        cp_start = start + dt.timedelta(days=rng.randint(120, max(121, span - 200)))
        for review in reviews:
            if not escalate or review < cp_start:
                sched.add(review, "cin_review", lambda p: casenotes.case_note(p, "cin_review"))
        if not escalate:
            cp_start = end + dt.timedelta(days=1)
    if cp_start <= end:
        _child_protection(sched, cp_start, end, improved_on, plan_days)
    if not plan_days or rng.random() < 0.9:
        _safety_plans(sched, plan_days, end)
    _background(sched, start, end, trouble_end)
    if case.closed:
        sched.add(end, "closure", lambda p: casenotes.case_note(p, "closure"), priority=8)
        sched.add(end, "closure_letter", lambda p: letters.letter(p, "closure"), priority=9)
    _trim(sched, end)

    written: list[Written] = []
    while sched.heap:
        event = heapq.heappop(sched.heap)
        if event.day > end:
            continue
        if improved_on is not None and event.day >= improved_on:
            state.improved = True
        author = _author(case, event.author, event.day, rng)
        pen = Pen.open(rng, case, state, event.day, author)
        draft = event.writer(pen)
        draft.check()
        written.append(Written(event.day, draft, author))
        for follow_up in _follow_ups(sched, event, state):
            follow_up()
    return written


MAX_PLANNED = 50
"""Planned records per case; follow-ups (return home interviews, urgent strategy discussions,
Operation Encompass calls) come on top, keeping a case at roughly 25-60 records."""
_ROUTINE = frozenset(
    {
        "visit",
        "brief_visit",
        "phone",
        "supervision",
        "health",
        "core_group",
        "direct_work",
        "network",
        "school",
        "gp_request",
    }
)


def _trim(sched: _Schedule, end: dt.date) -> None:
    """Drop routine events at random until the case fits ``MAX_PLANNED`` records."""
    planned = [e for e in sched.heap if e.day <= end]
    excess = len(planned) - MAX_PLANNED
    if excess <= 0:
        return
    routine = sorted(e for e in planned if e.name in _ROUTINE)
    visits = [e for e in routine if e.name == "visit"]
    keep_visits = set(id(e) for e in visits[:: max(1, len(visits) // 6)])
    droppable = [e for e in routine if id(e) not in keep_visits]
    dropped = {id(e) for e in sched.rng.sample(droppable, min(excess, len(droppable)))}
    sched.heap = [e for e in sched.heap if id(e) not in dropped]
    heapq.heapify(sched.heap)


def _child_protection(
    sched: _Schedule,
    begin: dt.date,
    end: dt.date,
    improved_on: dt.date | None,
    plan_days: list[dt.date],
) -> None:
    rng, case = sched.rng, sched.case
    strat = weekday_on_or_after(begin + dt.timedelta(days=rng.randint(0, 2)))
    first = begin == case.opened
    reason = case.themes[0]
    sched.add(
        strat,
        "strategy",
        lambda p: front_door.strategy_discussion(p, reason, first=first),
        author=pick(rng, ("tm", "sw")),
        priority=2,
    )
    plan_days.append(strat + dt.timedelta(days=rng.randint(0, 2)))
    s47 = weekday_on_or_after(strat + dt.timedelta(days=rng.randint(8, 13)))
    sched.add(strat + dt.timedelta(days=rng.randint(1, 4)), "s47_visit", visit_note)
    sched.add(s47, "s47", lambda p: front_door.assessment(p, s47=True))
    icpc = weekday_on_or_after(strat + dt.timedelta(days=rng.randint(17, 24)))
    sched.add(
        icpc - dt.timedelta(days=rng.randint(5, 8)),
        "invite",
        lambda p: letters.letter(p, "icpc_invite"),
    )
    sched.add(icpc, "icpc", conferences.icpc_minutes, author="minutes", priority=3)
    sched.add(
        icpc + dt.timedelta(days=rng.randint(1, 3)),
        "outcome_letter",
        lambda p: letters.letter(p, "icpc_outcome"),
    )
    sched.add(icpc + dt.timedelta(days=rng.randint(2, 6)), "cp_plan", conferences.cp_plan)
    if rng.random() < 0.6:
        plan_days.append(icpc + dt.timedelta(days=rng.randint(0, 3)))
    review = icpc + dt.timedelta(days=91)
    stepped = False
    count = 0
    while review <= end and not stepped:
        count += 1
        better = improved_on is not None and review >= improved_on
        outcome = "continue"
        if better:
            outcome = "step_down" if rng.random() < 0.8 else "end"
            stepped = True
        sched.add(
            weekday_on_or_after(review),
            "rcpc",
            partial(conferences.rcpc_minutes, outcome=outcome),
            author="minutes",
            priority=3,
        )
        if rng.random() < 0.75:
            plan_days.append(review + dt.timedelta(days=rng.randint(0, 10)))
        if outcome == "step_down":
            sched.add(
                review + dt.timedelta(days=rng.randint(5, 15)), "cin_plan", conferences.cin_plan
            )
        if count == 2 and improved_on is None and rng.random() < 0.7:
            _pre_proceedings(sched, review + dt.timedelta(days=rng.randint(10, 30)), end)
        review += dt.timedelta(days=182)


def _pre_proceedings(sched: _Schedule, day: dt.date, end: dt.date) -> None:
    rng = sched.rng
    sched.add(day, "legal", lambda p: casenotes.case_note(p, "legal_planning"), author="tm")
    sched.add(
        day + dt.timedelta(days=rng.randint(5, 12)),
        "plo",
        lambda p: letters.letter(p, "plo"),
        author="tm",
    )
    if rng.random() < 0.6:
        court = day + dt.timedelta(days=rng.randint(70, 130))
        sched.add(court, "court", letters.court_report)
        if rng.random() < 0.5:
            sched.add(
                court + dt.timedelta(days=rng.randint(10, 40)),
                "cla",
                lambda p: casenotes.case_note(p, "cla"),
            )


def _safety_plans(sched: _Schedule, plan_days: list[dt.date], end: dt.date) -> None:
    rng = sched.rng
    days = sorted(d for d in plan_days if d <= end)
    if len(days) < 2 and (end - sched.case.opened).days > 200 and rng.random() < 0.85:
        days.append(sched.spread(1, days[-1] if days else sched.case.opened, end)[0])
    days = sorted(days)[: rng.randint(3, 6)]
    previous: list[dt.date] = []
    for version, day in enumerate(days, start=1):
        prior = previous[-1] if previous else None
        sched.add(
            day, "safety_plan", partial(safety_plan, version=version, previous=prior), priority=6
        )
        previous.append(day)


def _background(sched: _Schedule, start: dt.date, end: dt.date, trouble_end: dt.date) -> None:
    rng, case = sched.rng, sched.case
    span = (end - start).days
    first = start + dt.timedelta(days=5)
    for day in sched.spread(min(11, max(6, span // 80)), first, end):
        sched.add(day, "visit", visit_note)
    for day in sched.spread(rng.randint(1, 3), first, end):
        sched.add(day, "brief_visit", shorthand.brief_visit)
    # GP contacts at least two weeks apart, so the newest record is the newest appointment.
    kept: list[dt.date] = []
    for day in sched.spread(rng.randint(2, 3), first, end):
        if not kept or (day - kept[-1]).days >= 14:
            kept.append(day)
            sched.add(day, "gp", agencies.gp_contact)
    if case.health_visitor:
        hv_end = min(end, start + dt.timedelta(days=900))
        for day in sched.spread(rng.randint(1, 4), first, hv_end):
            sched.add(day, "hv", agencies.hv_contact)
    for day in sched.spread(rng.randint(1, 2), first, end):
        sched.add(day, "health", agencies.other_health)
    if case.has("physical") or case.has("exploitation") or rng.random() < 0.3:
        for day in sched.spread(1, first, trouble_end):
            sched.add(day, "hospital", agencies.hospital_contact)
    if case.child.school or case.child.age_on(end) >= 4:
        for day in sched.spread(rng.randint(2, 4), first, end):
            concern = (day < trouble_end and rng.random() < 0.7) or rng.random() < 0.15
            sched.add(day, "school", partial(agencies.school_contact, concern=concern))
    _police(sched, first, trouble_end)
    for day in sched.spread(max(1, min(4, span // 160)), first, end):
        sched.add(day, "supervision", lambda p: casenotes.case_note(p, "supervision"), author="tm")
    for day in sched.spread(rng.randint(1, 2), first, end):
        sched.add(day, "phone", lambda p: casenotes.case_note(p, "phone_call"))
    if case.child.age_on(start) >= 4:
        for day in sched.spread(rng.randint(0, 1), first, end):
            sched.add(day, "direct_work", lambda p: casenotes.case_note(p, "direct_work"))
    if case.child.school and rng.random() < 0.1:
        for day in sched.spread(1, first, end):
            sched.add(day, "lado", lambda p: casenotes.case_note(p, "lado"), author="tm")
    if rng.random() < 0.5:
        for day in sched.spread(1, first, end):
            sched.add(day, "network", lambda p: casenotes.case_note(p, "network_meeting"))
    for allocation in case.allocations[1:]:
        sched.add(allocation.start, "transfer", lambda p: casenotes.case_note(p, "transfer"))
    if rng.random() < 0.5:
        sched.add(
            first + dt.timedelta(days=rng.randint(0, 20)),
            "gp_request",
            lambda p: letters.letter(p, "gp_request"),
        )
    if case.pathway == "cp" or rng.random() < 0.5:
        for day in sched.spread(rng.randint(1, 2), first, end):
            sched.add(day, "core_group", lambda p: casenotes.case_note(p, "core_group"))


def _times(kind: police_notes.PoliceKind, count: int) -> list[police_notes.PoliceKind]:
    return [kind] * count


def _police(sched: _Schedule, first: dt.date, trouble_end: dt.date) -> None:
    rng, case = sched.rng, sched.case
    kinds: list[police_notes.PoliceKind] = []
    if case.has("domestic_abuse"):
        kinds += _times("da", rng.randint(2, 3))
    if case.has("exploitation"):
        kinds += _times("missing", rng.randint(2, 4)) + _times("found_far", 1)
    if case.has("home_alone"):
        kinds += _times("home_alone", rng.randint(1, 2))
    if (case.has("neglect") or case.has("substance")) and rng.random() < 0.5:
        kinds.append("welfare")
    if not kinds and rng.random() < 0.5:
        kinds.append("asb")
    for kind, day in zip(kinds, sched.spread(len(kinds), first, trouble_end), strict=True):
        sched.add(
            day,
            f"police:{kind}",
            partial(police_notes.police_notification, kind=kind),
            author=pick(rng, ("mash", "sw")),
            priority=1,
        )
    if case.has("exploitation"):
        for day in sched.spread(1, first, trouble_end):
            sched.add(day, "nrm", lambda p: casenotes.case_note(p, "nrm"))
    if case.has("domestic_abuse") and rng.random() < 0.6:
        for day in sched.spread(1, first, trouble_end):
            sched.add(day, "marac", lambda p: casenotes.case_note(p, "marac"))
    intel = 0.5 if case.has("domestic_abuse") or case.has("exploitation") else 0.15
    if rng.random() < intel:
        for day in sched.spread(1, first, trouble_end):
            sched.add(day, "intel", lambda p: casenotes.case_note(p, "police_intel"), author="tm")


_INCIDENT_THEME: dict[str, Theme] = {
    "police:da": "domestic_abuse",
    "police:missing": "exploitation",
    "police:found_far": "exploitation",
    "police:home_alone": "home_alone",
}


def _follow_ups(sched: _Schedule, event: _Event, state: CaseState) -> list[Callable[[], None]]:
    """Events that a written event triggers (return home interviews, urgent strategy)."""
    rng = sched.rng
    actions: list[Callable[[], None]] = []
    if event.name == "police:da" and sched.case.child.school and rng.random() < 0.5:
        day = weekday_on_or_after(event.day + dt.timedelta(days=1))
        actions.append(lambda: sched.add(day, "encompass", agencies.operation_encompass))
    if event.name == "police:missing" and rng.random() < 0.85:
        day = event.day + dt.timedelta(days=rng.randint(1, 3))
        actions.append(
            lambda: sched.add(day, "rhi", lambda p: casenotes.case_note(p, "rhi"), priority=4)
        )
    if event.name.startswith("police:") and state.cp_active and rng.random() < 0.25:
        theme = _INCIDENT_THEME.get(event.name, sched.case.themes[0])
        day = weekday_on_or_after(event.day + dt.timedelta(days=1))
        actions.append(
            lambda: sched.add(
                day,
                "strategy",
                lambda p: front_door.strategy_discussion(p, theme, first=False),
                author="tm",
                priority=2,
            )
        )
    return actions


def _author(case: CaseFile, role: str, day: dt.date, rng: random.Random) -> Staff:
    if role == "tm":
        return case.manager
    if role == "mash":
        return case.mash_worker
    if role == "minutes":
        return people.MINUTE_TAKERS[case.team] if rng.random() < 0.7 else case.chair
    return case.worker_on(day)
