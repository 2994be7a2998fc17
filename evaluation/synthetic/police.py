"""Police notifications (PPNs / Merlin reports): domestic abuse, missing episodes, children
found alone, welfare checks and exploitation."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from evaluation.synthetic import observations as obs
from evaluation.synthetic.model import Draft
from evaluation.synthetic.pen import Pen

PoliceKind = Literal["da", "missing", "found_far", "home_alone", "welfare", "asb"]

HEADERS: tuple[str, ...] = (
    "{PPN} received from {force}. Officer: {officer}. Ref: {ref}.",
    "{force} [PPN|Merlin] {ref} shared by {MASH} on {d}.",
    "Police notification received via {MASH} ({mash_worker}). Occurrence {ref}.",
    "{PPN} - child coming to notice. Reporting officer {officer}, ref {ref}.",
)
TITLES: dict[PoliceKind, tuple[str, ...]] = {
    "da": (
        "PPN - domestic incident",
        "Police notification - DA incident",
        "Domestic incident report",
        "PPN received",
        "Police notification",
    ),
    "missing": (
        "Missing person report",
        "Police notification - missing",
        "Missing episode - police",
        "Merlin - missing child",
        "PPN received",
    ),
    "found_far": (
        "Police notification - {c} located in {far_town}",
        "PPN - arrest",
        "Police information - exploitation concern",
        "Merlin report",
    ),
    "home_alone": (
        "PPN - children found alone",
        "Police attendance at home address",
        "Police notification",
        "Concern for welfare - police",
    ),
    "welfare": ("Police welfare check", "PPN - concern for welfare", "Police notification"),
    "asb": ("Police notification - neighbour dispute", "PPN received", "Police information"),
}


def police_notification(pen: Pen, kind: PoliceKind) -> Draft:
    """A police notification of ``kind``; always direct evidence of police involvement."""
    rng = pen.rng
    pen.s["ref"] = f"{rng.choice('WPKS')}{rng.randint(10, 99)}/{rng.randint(1000, 99999)}"
    draft = Draft("police_notification", pen.one(TITLES[kind]), "", subject=pen.case.child.first)
    draft.tag("police", 2)
    pen.s["risk"] = pen.rng.choice(("standard", "medium", "high"))
    parts = [pen.one(HEADERS)]
    if kind == "da":
        parts.append(_domestic(pen, draft))
    elif kind == "missing":
        parts.append(_missing(pen, draft))
    elif kind == "found_far":
        parts.append(obs.exploitation(pen.rng, pen.s, draft, count=pen.rng.randint(1, 2)))
        parts.append(
            pen.one(
                (
                    "{c} was [interviewed with an appropriate adult|spoken to by {officer}] and "
                    "[said nothing|gave a no comment interview]. An {NRM} referral will be "
                    "considered.",
                    "Police have graded this as a child exploitation concern and shared with the "
                    "exploitation hub.",
                )
            )
        )
    elif kind == "home_alone":
        parts.append(obs.home_alone(pen.rng, pen.s, draft, pen.age))
        parts.append(
            pen.one(
                (
                    "Officers remained until {mum_ref} returned. She was [given words of advice|"
                    "arrested for child neglect and released on bail].",
                    "The children were taken to {gran}'s for the night.",
                )
            )
        )
    elif kind == "welfare":
        parts.append(
            pen.one(
                (
                    "Officers attended for a concern for welfare after [a call from a neighbour|"
                    "{mum}'s sister rang] reporting [shouting|that {mum} sounded drunk].",
                    "Police conducted a welfare check at {addr} following a 101 call.",
                )
            )
        )
        if pen.case.has("neglect") and not pen.state.improved:
            parts.append(obs.home_poor(pen.rng, pen.s, draft, pen.age, count=2))
        elif pen.case.has("substance"):
            parts.append(
                pen.say(
                    "{mum} appeared intoxicated; officers waited until {gran} "
                    "arrived to care for the children."
                )
            )
        else:
            parts.append(pen.say("The children were safe and well; no further action."))
    else:
        parts.append(
            pen.one(
                (
                    "Police attended {addr} regarding [a dispute with neighbours over "
                    "noise|damage to "
                    "a car outside]. The children were present but not involved. No offences "
                    "disclosed.",
                )
            )
        )
    parts.append(
        pen.one(
            (
                "Risk graded {risk} by police.",
                "[Shared with|Forwarded to] the allocated social worker.",
                "{MASH} outcome: pass to allocated worker for information.",
            )
        )
    )
    draft.text = "\n\n".join(parts)
    pen.state.police_incidents.append((pen.day, kind))
    return draft


def _domestic(pen: Pen, draft: Draft) -> str:
    draft.tag("da", 2)
    return pen.one(
        (
            "Police were called by [neighbours|{mum}|{c}] at {night} to reports of "
            "shouting and screaming at {addr}. {mum} had [a swollen eye|red marks on her neck] "
            "and said {perp} had [punched|strangled] her during an argument [about money|after "
            "drinking]. The children were present; {c} was found hiding upstairs. DASH: {risk}. "
            "{perp} was arrested for [ABH|assault] and [bailed with conditions not to contact "
            "{mum}|released under investigation].",
            "Verbal argument between {mum} and {perp} reported by a neighbour. No injuries; {perp} "
            "left before police arrived. {kids_names} were in bed. DASH completed: {risk} risk.",
            "{mum} reported that {perp} [kicked the front door in|smashed her phone] after she "
            "refused to let him in. {c} witnessed this and was [crying|shaking] when officers "
            "arrived. DASH: {risk}. {perp} [was arrested for criminal damage|has left the "
            "area].",
            "{perp} breached his bail conditions by attending {addr} at {night}. {mum} "
            "called 999 as per the safety plan. He was arrested nearby. The children were "
            "asleep. DASH: {risk}.",
        )
    )


def _missing(pen: Pen, draft: Draft) -> str:
    draft.tag("missing", 2)
    exploited = pen.case.has("exploitation")
    if exploited:
        draft.tag("exploitation.missing", 2)
    found_day = pen.day + dt.timedelta(days=pen.rng.randint(0, 2))
    pen.s["found"] = pen.date(found_day)
    pen.state.missing_dates.append(pen.day)
    found = pen.one(
        (
            "{c} was found by police [in {far_town}|at a flat in {town}|at a friend's house] on "
            "{found}.",
            "{c} returned home of {c_his} own accord on {found}, [tired and hungry|with a new "
            "jacket|with no phone].",
        )
    )
    if exploited and "new jacket" in found:
        draft.tag("exploitation.items", 2)
    if exploited and pen.case.far_town in found:
        draft.tag("exploitation.county_lines", 1)
    elif exploited and pen.chance(0.4):
        found += " " + pen.say("{c_he_C} had [£140|£220] in cash and a second phone.")
        draft.tag("exploitation.items", 2)
    return (
        pen.one(
            (
                "{mum} reported {c} missing at {night} after {c_he} failed to return "
                "home. [This is {c_his} third missing episode this month.|{c_he_C} was last seen "
                "getting into a car.|{c_he_C} has been missing before.]",
                "{c} ({c_age}) was reported missing from home on {d}. Police graded the risk as "
                "[medium|high] because of {c_his} age and previous concerns.",
            )
        )
        + " "
        + found
        + " "
        + pen.one(
            (
                "A {RHI} has been requested.",
                "{RHI} to be completed within 72 hours.",
                "Police safe and well check completed.",
            )
        )
    )
