"""Safety plans in several versions, of which only the newest is in force.

Titles and wording drift between versions on purpose ("Safety plan", "Family safety
agreement", "Updated safety plan following RCPC"): the current version must be found by date
and context, not because it repeats the words "safety plan" more than its predecessors.
"""

from __future__ import annotations

import datetime as dt

from evaluation.synthetic.model import Draft, Theme
from evaluation.synthetic.pen import Pen
from evaluation.synthetic.textkit import fit, join_names

FIRST_TITLES: tuple[str, ...] = (
    "Safety plan",
    "Safety plan",
    "Initial safety plan",
    "Interim safety plan (agreed at strategy discussion)",
    "Safety plan - {c}",
    "Immediate safety plan",
    "Safety plan (current version)",
)
LATER_TITLES: tuple[str, ...] = (
    "Safety plan (reviewed)",
    "Family safety agreement",
    "Updated safety plan following {RCPC}",
    "Revised safety plan - version {n}",
    "Safety plan v{n}",
    "Safety agreement (reviewed with family)",
    "Keeping {c} safe - family agreement",
    "Safety network agreement",
    "Safety plan review",
    "Amended safety arrangements",
    "Safety plan",
    "Safety plan",
    "Safety plan (current version)",
)

RULES: dict[Theme, tuple[str, ...]] = {
    "domestic_abuse": (
        "{perp} will not come to the family home or contact {mum} except through "
        "[solicitors|the contact centre].",
        "If {perp} turns up at the house, {mum} will not open the door and will ring 999.",
        "{c} knows to go to [the neighbour at number 12|{gran}'s] and call 999 if there is "
        "shouting or fighting.",
        "Contact between the children and {perp} will be supervised by {gran} at her home "
        "[on Saturdays|every other Sunday].",
        "{mum} will keep her phone charged and has the IDVA's number ({idva}).",
    ),
    "neglect": (
        "{mum} will make sure there is food in the house every day; {gran} will check the "
        "cupboards [on Mondays and Thursdays|twice a week].",
        "The children will have a bath at least every other day and clean uniform each morning.",
        "{mum} will take {c} to all health and dental appointments; the {HV} will send text "
        "reminders.",
        "The house will be kept clear of rubbish and dog mess; the dog will stay in the yard.",
        "{mum} will use the washing machine donated by the charity and wash bedding weekly.",
    ),
    "home_alone": (
        "The children will never be left alone in the house, day or night.",
        "If {mum} has to go out, {gran} or another adult agreed with the social worker will "
        "look after the children.",
        "{c} will not be asked to look after {sib}.",
    ),
    "exploitation": (
        "{c} will be home by [9pm|9.30pm] on school nights; if {c_he} is not home by [10pm|"
        "10.30pm], {mum} will report {c_him} missing to police on 101 and let the EDT know.",
        "{mum} will check {c}'s room and bag for unexplained money, phones or drugs and tell "
        "the social worker.",
        "{c} will not travel to {far_town} and will share {c_his} location with {mum}.",
        "{c} will meet {cce_worker} from the exploitation team weekly.",
    ),
    "substance": (
        "{mum} will not use drugs or alcohol while caring for the children; a sober adult "
        "({gran}) will be in the house at weekends.",
        "{mum} will take part in [weekly|fortnightly] drug and alcohol testing.",
    ),
    "mental_health": (
        "{mum} will take her medication as prescribed and attend her appointments.",
        "If {mum} feels unwell or unsafe she will call {gran} and the crisis line, and {gran} "
        "will come and care for the children.",
    ),
    "physical": (
        "There will be no physical chastisement of the children; {mum} will use time-out and "
        "praise as practised with the family support worker.",
        "Any injury to the children will be explained to school and the social worker the "
        "same day.",
    ),
}

RULE_TAGS: dict[Theme, tuple[str, int]] = {
    "domestic_abuse": ("da", 1),
    "neglect": ("neglect.general", 1),
    "home_alone": ("home_alone", 1),
    "exploitation": ("exploitation.general", 1),
}

WORRY_STATEMENTS: dict[Theme, str] = {
    "domestic_abuse": "{perp} has hurt {mum} when the children were in the house and the "
    "children have been frightened.",
    "neglect": "the children have not always had enough food, clean clothes or a safe, clean "
    "home, and have missed health appointments.",
    "home_alone": "the children have been left alone at home without an adult.",
    "exploitation": "{c} has gone missing and adults may be using {c_him} to carry drugs.",
    "substance": "{mum}'s use of drugs and alcohol means she cannot always look after the "
    "children safely.",
    "mental_health": "when {mum} is very unwell she cannot always meet the children's needs.",
    "physical": "{c} has been hurt by an adult at home.",
}

CHANGES: tuple[str, ...] = (
    "{gran} now visits every day after school.",
    "Contact with {perp} has moved to the contact centre.",
    "The curfew for {c} has been relaxed to 10pm at weekends.",
    "A neighbour, {neighbour}, has joined the safety network.",
    "{mum} now has a Ring doorbell fitted by the police.",
    "{gran} is no longer able to help on Mondays because of her health; {aunt} covers instead.",
    "The family support worker now visits twice a week.",
)


def safety_plan(pen: Pen, version: int, previous: dt.date | None) -> Draft:
    """Version ``version`` of the case's safety plan (1 is the first)."""
    case, state = pen.case, pen.state
    pen.s["n"] = str(version)
    pen.s["neighbour"] = pen.one(("Sandra at number 9", "Mr Ali next door", "Tina upstairs"))
    pen.s["aunt"] = pen.one(("Aunt Kerry", "Auntie Joy", "{dad}'s sister"))
    title = pen.one(FIRST_TITLES if version == 1 else LATER_TITLES)
    draft = Draft("safety_plan", title, "", subject=case.child.first)
    review = pen.day + dt.timedelta(days=pen.rng.choice((28, 42, 56, 90)))
    head = [
        pen.say("[Date agreed|Agreed on|Date]: {d}. [Review date|To be reviewed by]: ")
        + pen.date(review)
        + "."
    ]
    if version > 1 and previous is not None and pen.chance(0.7):
        head.append(
            pen.say(
                "[This plan replaces|This version supersedes|This updates] the "
                "[plan|agreement] dated "
            )
            + pen.date(previous)
            + "."
        )
    if version > 1 and pen.chance(0.5):
        head.append(
            pen.say(
                "[Reviewed at|Updated after] the [{RCPC}|core group|home visit] "
                "with {mum} and the safety network.[ This safety plan is now the one in place.| "
                "The safety plan has been updated and shared with everyone.|]"
            )
        )
    network = [pen.s["mum_full"] + " (Mum)", f"{pen.s['gran_full']} ({pen.s['gran_rel']})"]
    if state.network_growth or version > 2:
        network.append(pen.s["neighbour"])
    network.append(f"{pen.s['sw']} (social worker)")
    parts = ["\n".join(head)]
    parts.append(
        pen.say("[Who is in the safety network|Safety network|People helping]: ")
        + join_names(network)
        + "."
    )
    worries = [pen.say(WORRY_STATEMENTS[t]) for t in case.themes if t in WORRY_STATEMENTS]
    parts.append(
        pen.say("[What we are worried about|Worries|Why we need this plan]: ")
        + " ".join(w[:1].upper() + w[1:] for w in worries)
    )
    rules: list[str] = []
    for theme in case.themes:
        options = tuple(fit(RULES.get(theme, ()), pen.s))
        if not options:
            continue
        count = min(len(options), pen.rng.randint(2, 4))
        rules.extend(pen.say(rule) for rule in pen.rng.sample(options, count))
        if theme in RULE_TAGS:
            draft.tag(*RULE_TAGS[theme])
    bullet = pen.rng.choice(("- ", "* ", ""))
    numbered = bullet == ""
    lines = [f"{i}. {rule}" if numbered else f"{bullet}{rule}" for i, rule in enumerate(rules, 1)]
    parts.append(
        pen.say(
            "[What will happen to keep the children safe|The plan|Agreed "
            "actions|Rules everyone has agreed]:\n"
        )
        + "\n".join(lines)
    )
    if version > 1 and pen.chance(0.6):
        changes = pen.rng.sample(CHANGES, 2)
        parts.append(
            pen.say("[Changes since the last version|What has changed]: ")
            + " ".join(pen.say(c) for c in changes)
        )
    if pen.age >= 5 and pen.chance(0.4):
        parts.append(
            pen.say(
                "{c}'s [words|own version]: \"If I feel scared I will [tell my teacher|ring "
                'Nana|go to my room and text Mum]. {gran} is my safe grown-up."'
            )
        )
    parts.append(
        pen.say(
            "If the plan is not kept to, [the social worker will talk to her manager and a "
            "strategy discussion may be held|{la} may need to consider legal advice (PLO)|the "
            "safety network will meet again the same week]."
        )
    )
    parts.append(pen.say("[Signed|Agreed] by {mum}, {gran} and {sw}."))
    draft.text = "\n\n".join(parts)
    draft.tag("safety_plan", 1)
    state.plan_versions.append(pen.day)
    return draft
