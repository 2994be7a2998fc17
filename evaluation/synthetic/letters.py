"""Letters the local authority sends and the social work statement for court."""

from __future__ import annotations

from typing import Literal

from evaluation.synthetic import observations as obs
from evaluation.synthetic.model import Draft
from evaluation.synthetic.pen import Pen

LetterKind = Literal["icpc_invite", "icpc_outcome", "plo", "closure", "gp_request"]


def letter(pen: Pen, kind: LetterKind) -> Draft:
    """A letter sent by the local authority."""
    titles = {
        "icpc_invite": (
            "Invitation to Initial Child Protection Conference",
            "Letter to {mum_title} - conference invitation",
        ),
        "icpc_outcome": (
            "Letter to {mum_title} - outcome of conference",
            "Letter: child protection plan",
        ),
        "plo": (
            "Letter before proceedings",
            "PLO letter",
            "Letter before proceedings (Public Law Outline)",
        ),
        "closure": ("Closure letter", "Letter to {mum_title} - case closure"),
        "gp_request": (
            "Letter to GP - request for information",
            "Information request to {gp_practice}",
        ),
    }[kind]
    draft = Draft("letter", pen.one(titles), "")
    greeting = pen.say("Dear {mum_title},") if kind != "gp_request" else pen.say("Dear {gp_doc},")
    bodies = {
        "icpc_invite": "I am writing to invite you to an {ICPC} about {kids_names}. The "
        "conference will be chaired by {chair}. You can bring a friend or an advocate.",
        "icpc_outcome": "Following the conference on {icpc_day}, {kids_names} [are|will be] "
        "subject to a {CPP}. Your social worker, {sw}, will visit at least every ten working days.",
        "plo": "We are very worried about your children. This letter explains why we are "
        "thinking about going to court and what you need to do. You are invited to a "
        "pre-proceedings meeting; please take this letter to a solicitor, as you are "
        "entitled to free legal advice.",
        "closure": "I am writing to let you know that our involvement with your family has "
        "now ended. Thank you for working with us.",
        "gp_request": "I am the social worker for {c_full} (DOB {c_dob}). I would be grateful "
        "for any information about attendance at appointments and any concerns held.",
    }
    pen.s["icpc_day"] = pen.date(pen.state.icpc_date or pen.day)
    parts = [greeting, pen.say(bodies[kind])]
    if kind == "plo":
        concerns = [obs.theme_evidence(pen.rng, pen.s, draft, t, pen.age) for t in pen.case.themes]
        parts.append(pen.say("Our concerns are: ") + " ".join(concerns))
    parts.append(pen.say("Yours sincerely,\n{author}"))
    draft.text = "\n\n".join(parts)
    return draft


def court_report(pen: Pen) -> Draft:
    """A social work statement for care proceedings, with a short chronology."""
    state = pen.state
    draft = Draft(
        "court_report",
        pen.one(
            (
                "Social Work Evidence Template (SWET)",
                "Initial social work statement",
                "Court report - social work evidence",
                "Final evidence statement",
            )
        ),
        "",
    )
    parts = [
        pen.say("In the matter of {kids_names}. Statement of {sw}, social worker, {la}. Date: {d}.")
    ]
    chronology = [pen.say("Chronology of significant events:")]
    if state.icpc_date:
        chronology.append(
            pen.date(state.icpc_date)
            + pen.say(" - {ICPC}; {CPP} under the category of ")
            + state.category
            + "."
        )
        if state.category == "neglect":
            draft.tag("neglect.general", 1)
    for day, kind in state.police_incidents[-4:]:
        label = {
            "da": "domestic incident",
            "missing": "missing episode",
            "found_far": "located out of area by police",
            "home_alone": "children found alone by police",
            "welfare": "police welfare check",
            "asb": "police attendance",
        }[kind]
        chronology.append(pen.date(day) + " - " + label + ".")
        draft.tag("police", 1)
    parts.append("\n".join(chronology))
    parts.append(
        pen.say("[Analysis of harm|The threshold]: ")
        + " ".join(obs.theme_evidence(pen.rng, pen.s, draft, t, pen.age) for t in pen.case.themes)
    )
    parts.append(
        pen.one(
            (
                "Care plan: the local authority seeks an interim supervision order; the children "
                "to "
                "remain at home with a robust safety plan.",
                "Care plan: the local authority seeks an interim care order with the children "
                "placed "
                "with {gran} under a connected persons assessment.",
            )
        )
    )
    draft.text = "\n\n".join(parts)
    return draft
