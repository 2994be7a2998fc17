"""Home visit notes: the bulk of a case file and the most varied writing in it."""

from __future__ import annotations

import datetime as dt

from evaluation.synthetic import observations as obs
from evaluation.synthetic import voice
from evaluation.synthetic.model import Draft
from evaluation.synthetic.pen import Pen

MIN_WORDS = 150
TITLES: tuple[str, ...] = (
    "Home visit",
    "Home visit",
    "Statutory visit",
    "CP visit",
    "Unannounced home visit",
    "Announced home visit",
    "Home visit - {c} seen alone",
    "Visit to family home",
    "Statutory home visit ({CP})",
    "HV - {addr_short}",
    "Visit",
)
CIN_TITLES: tuple[str, ...] = ("CIN visit", "Home visit", "Child in Need visit", "Visit")
PURPOSES: tuple[str, ...] = (
    "[Statutory|Planned] visit to see {kids} and review progress against the plan.",
    "Unannounced visit following concerns [raised by school|shared by {hv}|from a neighbour].",
    "Visit to review the safety plan with {mum_ref} and see {c} alone.",
    "Visit to [follow up the police notification|discuss the incident at the weekend] and "
    "check on the children.",
    "[Planned|Announced] visit to complete direct work with {c}.",
    "To see the children and talk to {mum_ref} about the actions from the core group.",
)
ARRIVALS: tuple[str, ...] = (
    "{mum_ref_C} answered the door [promptly|after several knocks] and invited {me} in.",
    "On arrival {I} could hear [the television|a dog barking|shouting] from outside. "
    "{mum_ref_C} let {me} in after a few minutes.",
    "{mum_ref_C} and {kids_names} were at home. [{gran} was also present.|A friend of "
    "{mum_ref}'s left as {I} arrived.]",
    "There was no answer at first; {I} rang {mum_ref} and she came down to let {me} in.",
    "{mum_ref_C} [was expecting|had forgotten about] the visit but was welcoming.",
)
ATMOSPHERE: tuple[str, ...] = (
    "The dog was shut in the kitchen [and barked throughout|for the visit].",
    "The television was on loudly and {mum_ref} turned it down when asked.",
    "{gran} was leaving as {I} arrived and said she had been helping with the washing.",
    "{mum_ref_C} was still in her dressing gown at [11am|midday] and said she had had a bad night.",
    "There were several people in the flat when {I} arrived; {mum_ref} asked them to leave "
    "so that we could talk privately.",
    "{mum_ref_C} had tidied up before the visit and offered {me} a cup of tea.",
)
SIBLINGS: tuple[str, ...] = (
    "{sibs} {sibs_be} also seen and appeared [well|happy and relaxed|a little unsettled].",
    "{I} also saw {sibs}, who [showed me their toys|were watching a film|were playing in the "
    "garden].",
    "{sibs} {sibs_be} at [school|school or nursery] at the time of the visit.",
)
AgedTemplate = tuple[int, int, str]  # youngest age, oldest age, template

INTERACTION: tuple[AgedTemplate, ...] = (
    (
        3,
        12,
        "{mum_ref_C} [spoke warmly to|was patient with|was short with] {c} and [praised "
        "{c_him} for|helped {c_him} with] [tidying up|getting changed|a jigsaw]. {c} [went to "
        "her for a cuddle|sat close to her on the sofa|ignored her requests].",
    ),
    (
        0,
        17,
        "When {sib} became upset, {mum_ref} [comforted them quickly|shouted from the "
        "kitchen and did not go to them]; {I} talked about this with her afterwards.",
    ),
    (
        0,
        17,
        "The children [looked to {mum_ref} for reassurance|were confident around "
        "{mum_ref}] and there was [lots of laughter|a calm atmosphere|some tension] during the "
        "visit.",
    ),
    (
        5,
        17,
        "{mum_ref_C} made {c} a [sandwich|drink] and they chatted about [school|football|"
        "{c_his} friends]. The relationship appeared [warm|relaxed|strained today].",
    ),
    (
        0,
        2,
        "{mum_ref_C} fed {c} during the visit, [holding {c_him} close and talking to "
        "{c_him}|propping the bottle on a cushion while she looked at her phone].",
    ),
    (
        12,
        17,
        "{c} stayed in {c_his} room for most of the visit and only came down when "
        "{mum_ref} called {c_him}; they [bickered about chores|joked with each other].",
    ),
)
ROUTINE: tuple[AgedTemplate, ...] = (
    (
        0,
        17,
        "{mum_ref_C} described the children's day: up at [7|half seven], breakfast, "
        "school run [with {gran}|on foot], tea at [5|half five] and bed by [7.30|8pm] for the "
        "younger ones.",
    ),
    (
        10,
        17,
        "We talked about bedtimes; {c} has been going to bed [late|after 11pm] [because "
        "of {c_his} phone|and is tired at school]. {mum_ref_C} agreed to take the phone at "
        "[9pm|10pm].",
    ),
    (
        0,
        17,
        "{mum_ref_C} said mornings are the hardest part of the day and she often "
        "[oversleeps|struggles to get everyone out on time].",
    ),
    (
        0,
        17,
        "{mum_ref_C} said money is tight [since the Universal Credit changed|because of "
        "the rent arrears] and {I} gave her details of the [food bank|debt advice service|"
        "uniform exchange].",
    ),
    (
        0,
        3,
        "{mum_ref_C} said {c} [is sleeping through now|still wakes twice a night] and "
        "naps after lunch; she has been [weaning {c_him}|trying {c_him} on finger foods].",
    ),
)
HEALTH_EDUCATION: tuple[AgedTemplate, ...] = (
    (
        2,
        17,
        "{mum_ref_C} said {c} [has a dentist appointment booked|is due an eye test] next "
        "month and {I} asked her to let {me} know when it has happened.",
    ),
    (
        5,
        17,
        "{c} has been [off school with a cold|doing well at school]; {mum_ref} said the "
        "new teacher is [kind|strict|helping {c_him} with reading].",
    ),
    (
        0,
        17,
        "{mum_ref_C} said she [will ring|keeps meaning to ring] the surgery about {c}'s "
        "[cough|sleep|eczema] and {I} offered to help her book online.",
    ),
    (
        5,
        17,
        "{mum_ref_C} has been to parents' evening; {c_his} teacher said {c} is [trying "
        "hard|chatty in class|behind with maths].",
    ),
    (
        0,
        4,
        "{mum_ref_C} has [taken|not yet taken] {c} to the baby clinic to be weighed and "
        "said the {HV} is coming [next week|soon].",
    ),
    (
        2,
        4,
        "{c} has started [two|three] mornings a week at nursery using the funded hours "
        "and {mum_ref} said {c_he} is [settling well|clingy at drop-off].",
    ),
)
PLAN_REVIEW: tuple[str, ...] = (
    "We went through the safety plan together. {mum_ref_C} could say what she would do if "
    "[{perp} turned up|she felt unwell|{c} did not come home] and who is in her network.",
    "{I} checked the safety plan is still on the fridge; {mum_ref} said {gran} has been "
    "[visiting daily|helping with the school run] as agreed.",
    "The safety plan was discussed but {mum_ref} said she had lost her copy; {I} will bring "
    "another to the next visit.",
)
ANALYSIS: tuple[str, ...] = (
    "Analysis: [there has been some progress but|progress is slow and] the concerns "
    "identified at conference remain. {mum_ref_C} [is engaging|says the right things but "
    "change is not yet sustained].",
    "Analysis: {c} presents as [a bright|a guarded|a chatty] child. The worries remain "
    "[significant|high] and the plan continues to be needed.",
    "Reflection: {mum_ref} appeared [more positive|low] today. It is important that the "
    "network continues to support her to keep the children safe.",
    "Analysis: [the family are stable at present|risk has reduced but not enough to step "
    "down]; the safety plan is being followed.",
)
ANALYSIS_IMPROVED: tuple[str, ...] = (
    "Analysis: the changes {mum_ref} has made have now been sustained for [several|three] "
    "months and {c} appears settled.",
    "Analysis: things are much better; the network is strong and {mum_ref} is proud of "
    "what she has achieved.",
)
RISK: tuple[str, ...] = (
    "{c} remains at risk of harm if {mum_ref} is not able to sustain the changes.",
    "The protective factors are {gran}'s involvement and {c}'s good relationship with school.",
    "{I} will discuss the visit with {tm} in supervision.",
    "There were no immediate safeguarding concerns at the end of the visit.",
)
ACTION_ITEMS: tuple[str, ...] = (
    "{I} to [speak to school|update {hv}|chase the referral to the family support service].",
    "{mum_ref_C} to [ring the surgery|take the letters to the housing office|attend the "
    "Freedom Programme on Tuesday].",
    "Share this visit with the core group.",
    "Update the chronology.",
    "Book the family network meeting with {gran}.",
    "{I} to [see {c} alone|visit {c} at nursery or school] [next week|before the core group].",
)
ACTIONS: tuple[str, ...] = (
    "Actions: next visit within 10 working days; {I} will [speak to school|update {hv}|chase "
    "the referral to the family support service].",
    "Next steps: [share this visit with the core group|update the safety plan|book the "
    "family network meeting]. Next visit booked for ",
    "Actions: {mum_ref} to [ring the surgery|take the letters to the housing office|attend "
    "the Freedom Programme on Tuesday]. SW to visit again ",
)


def visit_note(pen: Pen) -> Draft:
    """One home visit, shaped by what is active in the case at this point."""
    case, state = pen.case, pen.state
    pen.s["addr_short"] = case.family.address.split(",")[-2].strip()
    titles = CIN_TITLES if state.cin_active and not state.cp_active else TITLES
    draft = Draft("visit_note", pen.one(titles), "", subject=case.child.first)
    headed = pen.chance(0.45)
    sections: list[tuple[str, str]] = []
    purpose_index = pen.rng.randrange(len(PURPOSES))
    sections.append(("Purpose of visit", pen.say(PURPOSES[purpose_index])))
    arrival = pen.one(ARRIVALS)
    if pen.chance(0.6):
        arrival += " " + pen.one(ATMOSPHERE)
    sections.append(("Present", arrival))

    active_neglect = case.has("neglect") and not state.improved
    home = ""
    if active_neglect:
        if pen.chance(0.55):
            home = obs.home_poor(pen.rng, pen.s, draft, pen.age, count=pen.rng.randint(1, 3))
        else:
            home = obs.home_neutral(pen.rng, pen.s)
    elif case.has("neglect"):
        roll = pen.rng.random()
        if roll < 0.45:
            home = obs.home_improving(pen.rng, pen.s)
        elif roll < 0.75:
            home = obs.home_good(pen.rng, pen.s, draft)
        else:
            home = obs.home_neutral(pen.rng, pen.s)
    elif pen.chance(0.35):
        home = obs.home_good(pen.rng, pen.s, draft)
    else:
        home = obs.home_neutral(pen.rng, pen.s)
    sections.append(("Home conditions", home))

    seen_alone = purpose_index in (2, 4) or pen.chance(0.7)
    sections.append(
        (
            "Voice of the child",
            voice.child_voice(
                pen.rng,
                pen.s,
                draft,
                pen.age,
                case.themes,
                seen_alone=seen_alone,
                worries_active=not state.improved and pen.chance(0.5),
            ),
        )
    )
    if case.family.siblings and pen.chance(0.6):
        sections.append(("Siblings", pen.one(SIBLINGS)))
    if pen.chance(0.75):
        sections.append(("Observations", _aged_one(pen, INTERACTION)))
    if pen.chance(0.6):
        sections.append(("Daily life", _aged_one(pen, ROUTINE)))
    if pen.chance(0.55):
        sections.append(("Health and education", _aged_one(pen, HEALTH_EDUCATION)))
    if state.plan_versions and pen.chance(0.45):
        sections.append(("Safety plan", pen.one(PLAN_REVIEW)))
    # Statutory visit records are rarely shorter than this; pad with the optional sections
    # that were not chosen, in a fixed order so the output stays reproducible.
    fillers = (
        ("Observations", INTERACTION),
        ("Daily life", ROUTINE),
        ("Health and education", HEALTH_EDUCATION),
    )
    for head, pool in fillers:
        if sum(len(body.split()) for _, body in sections) >= MIN_WORDS:
            break
        if all(existing != head for existing, _ in sections):
            sections.append((head, _aged_one(pen, pool)))

    discussion = _discussion(pen, draft)
    if discussion:
        sections.append(("Discussion with parent", discussion))

    analysis = pen.one(ANALYSIS_IMPROVED if state.improved else ANALYSIS)
    if pen.chance(0.6):
        analysis += " " + pen.one(RISK)
    sections.append(("Analysis", analysis))
    if pen.chance(0.5):
        items = pen.rng.sample(ACTION_ITEMS, pen.rng.randint(2, 3))
        action = "Actions:\n" + "\n".join(f"- {pen.say(item)}" for item in items)
        action += "\n- Next visit: " + pen.date(pen.day + _days(pen, 7, 14))
    else:
        action = pen.one(ACTIONS)
        if action.endswith(" "):
            action += pen.date(pen.day + _days(pen, 7, 14)) + "."
    sections.append(("Actions", action))

    if headed:
        text = "\n\n".join(
            body if ":" in body[:25] else f"{head}: {body}" for head, body in sections
        )
    else:
        text = "\n\n".join(body for _, body in sections)
    for extra in RISK:
        if len(text.split()) >= MIN_WORDS:
            break
        text += "\n\n" + pen.say(extra)
    draft.text = text
    draft.tag("visit", 1)
    return draft


def _aged_one(pen: Pen, pool: tuple[AgedTemplate, ...]) -> str:
    age = pen.age
    options = [text for low, high, text in pool if low <= age <= high]
    return pen.one(options or [pool[0][2]])


def _discussion(pen: Pen, draft: Draft) -> str:
    """Theme-driven talk with the parent; each choice tags what it evidences."""
    case, state = pen.case, pen.state
    parts: list[str] = []
    active = not state.improved
    if case.has("domestic_abuse"):
        if active and pen.chance(0.35):
            parts.append(obs.domestic_abuse(pen.rng, pen.s, draft, incident=True, age=pen.age))
        elif pen.chance(0.6):
            parts.append(obs.domestic_abuse(pen.rng, pen.s, draft, incident=False))
    if case.has("exploitation"):
        if active and pen.chance(0.5):
            parts.append(obs.exploitation(pen.rng, pen.s, draft, count=pen.rng.randint(1, 2)))
        elif not active and pen.chance(0.3):
            parts.append(obs.exploitation_decoy(pen.rng, pen.s, draft))
    elif pen.age >= 12 and pen.chance(0.3):
        parts.append(obs.exploitation_decoy(pen.rng, pen.s, draft))
    if case.has("home_alone"):
        if active and pen.chance(0.35):
            parts.append(obs.home_alone(pen.rng, pen.s, draft, pen.age))
    elif pen.chance(0.15):
        parts.append(obs.supervision_decoy(pen.rng, pen.s, draft))
    if case.has("substance") and pen.chance(0.5):
        parts.append(obs.substance(pen.rng, pen.s))
    if case.has("mental_health") and pen.chance(0.5):
        parts.append(obs.mental_health(pen.rng, pen.s))
    if case.has("physical") and pen.chance(0.4):
        parts.append(obs.physical(pen.rng, pen.s, pen.age))
    if not parts and pen.chance(0.6):
        parts.append(
            pen.one(
                (
                    "{mum_ref_C} talked about [money worries|the housing situation|her own "
                    "childhood] and said she is [managing|struggling a bit].",
                    "We discussed [bedtime routines|school mornings|the children's contact with "
                    "{dad}] and {mum_ref} agreed to [try the chart|keep a diary].",
                )
            )
        )
    return " ".join(parts)


def _days(pen: Pen, low: int, high: int) -> dt.timedelta:
    return dt.timedelta(days=pen.rng.randint(low, high))
