"""Brief notes in practitioners' shorthand ("HV. M answered door. Home conds poor...").

Real case files are full of these: a doorstep visit or a quick check typed up in a minute,
with abbreviations (M, MGM, conds, imms, w/c) that a search must still connect to "mother",
"home conditions" and "immunisations". They are recorded as case notes, not visit notes.
"""

from __future__ import annotations

import datetime as dt

from evaluation.synthetic.model import Draft
from evaluation.synthetic.pen import Pen

TITLES: tuple[str, ...] = (
    "Brief visit note",
    "Unannounced HV - note",
    "Doorstep visit",
    "Quick visit",
    "Visit (brief)",
    "HV note",
)
NEGLECT_BITS: tuple[tuple[str, str], ...] = (
    ("Home conds poor - dog mess in hallway & lounge, strong smell of urine.", "neglect.home"),
    ("Kitchen v dirty, piles of dishes, flies round bin.", "neglect.home"),
    (
        "Fridge v little food (milk & ketchup only), cupboards bare. FB voucher given.",
        "neglect.food",
    ),
    ("{c} said no brekkie today, ate 3 biscuits straight away when offered.", "neglect.food"),
    ("{c} in same clothes as last visit, smelt of wee, hair matted.", "neglect.hygiene"),
    ("Nits visible, not treated - M hasn't got the lotion yet.", "neglect.hygiene"),
    ("Missed dentist x2 & imms overdue - M says she forgot.", "neglect.health"),
    ("No bedding on {c}'s mattress, mould on bedroom wall.", "neglect.home"),
)
DECOY_BITS: tuple[str, ...] = (
    "Home conds good - clean, tidy, food in fridge. No concerns re neglect.",
    "House clean & warm. Kids clean, dressed appropriately, fed. No concerns re basic care.",
)
NEUTRAL_BITS: tuple[str, ...] = (
    "Home conds ok.",
    "Home as prev.",
    "Didn't go in past the hallway - M said she was just going out.",
)


def brief_visit(pen: Pen) -> Draft:
    """A shorthand note of a short visit, tagged by what its fragments evidence."""
    case, state = pen.case, pen.state
    draft = Draft("case_note", pen.one(TITLES), "", subject=case.child.first)
    gran = {"maternal grandmother": "MGM", "paternal grandmother": "PGM"}.get(
        case.family.grandparent_label, "MA"
    )
    pen.s["g"] = gran
    lines = [
        pen.say(
            "[Unannounced|Planned|Statutory|Announced] HV. M [answered door|let SW in after "
            "5 mins|was out - waited 20 mins]. [{g} present.|P not present.|]"
        ),
    ]
    seen = pen.say("{c} ({c_age})") + (pen.say(" & {sibs}") if case.family.siblings else "")
    lines.append(seen + " seen.")
    active = not state.improved
    if case.has("neglect") and active and pen.chance(0.75):
        picks = pen.rng.sample(NEGLECT_BITS, pen.rng.randint(1, 2))
        for template, facet in picks:
            lines.append(pen.say(template))
            draft.tag(facet, 2)
    elif not case.has("neglect") and pen.chance(0.3):
        lines.append(pen.one(DECOY_BITS))
        draft.decoys.add("neglect")
    else:
        lines.append(pen.one(NEUTRAL_BITS))
    age = pen.age
    if age < 3:
        lines.append(pen.say("{c} [asleep in cot|in bouncer], appeared well, M responded to cues."))
        draft.tag("wishes", 1)
    elif age >= 5 and pen.chance(0.7):
        quote, topic, grade = _quote(pen)
        lines.append(pen.say("{c} seen alone [in bedroom|in kitchen|at school] - said ") + quote)
        draft.tag("wishes", 2)
        if topic:
            draft.tag(topic, grade)
    lines.extend(_theme_bits(pen, draft, active))
    lines.append(
        pen.say(
            "Safety plan [reviewed|not reviewed - M didn't have copy|on fridge, "
            "M could talk it through]. Next visit w/c "
        )
        + (pen.day + dt.timedelta(days=pen.rng.randint(7, 14))).strftime("%d/%m")
        + pen.say(". [Discuss w/ TM.|Update core group.|]")
    )
    draft.text = "\n".join(lines)
    draft.tag("visit", 1)
    return draft


def _quote(pen: Pen) -> tuple[str, str, int]:
    case = pen.case
    options: list[tuple[str, str, int]] = [
        ("\"it's fine at home\", wants to go to {gran}'s more.", "", 0),
        ('"I like my new teacher", worried about Mum being sad.', "", 0),
        ('wants SW to "stop coming", otherwise ok.', "", 0),
    ]
    if not pen.state.improved:
        if case.has("neglect"):
            options.append(('"there\'s never nothing for tea".', "neglect.food", 2))
        if case.has("home_alone") and case.family.siblings:
            options.append(
                ("Mum goes out when they are in bed & {c_he} has to mind {sib}.", "home_alone", 2)
            )
        if case.has("domestic_abuse"):
            options.append(('"{perp} shouts at Mum" & {c_he} hides upstairs.', "da", 1))
    text, topic, grade = options[pen.rng.randrange(len(options))]
    return pen.say(text), topic, grade


def _theme_bits(pen: Pen, draft: Draft, active: bool) -> list[str]:
    case = pen.case
    bits: list[str] = []
    if case.has("domestic_abuse") and pen.chance(0.6):
        if active and pen.chance(0.5):
            bits.append(
                pen.say(
                    "M disclosed {perp} came round [Sat|Fri night], argument, he "
                    "[pushed her|grabbed her arm] - PPN to follow."
                )
            )
            draft.tag("da", 2)
        else:
            bits.append(pen.say("M says no contact w/ {perp} since [NMO|bail conditions]."))
            draft.tag("da", 1)
    if case.has("exploitation") and active and pen.chance(0.7):
        if pen.chance(0.5):
            bits.append(
                pen.say(
                    "{c} not home til [2am|3am] [Fri|Sat], new trainers & 2 phones "
                    "- won't say where from."
                )
            )
            draft.tag("exploitation.items", 2)
        else:
            bits.append(
                pen.say(
                    "{c} picked up by older lads in car outside - reg noted & passed to police."
                )
            )
            draft.tag("exploitation.associates", 2)
            draft.tag("police", 1)
    if case.has("home_alone") and active and pen.chance(0.4):
        bits.append(
            pen.say(
                "M admitted leaving kids alone [to go to shop|overnight Sat] - "
                "advised re safety plan."
            )
        )
        draft.tag("home_alone", 2)
    if case.has("substance") and pen.chance(0.5):
        bits.append(
            pen.say(
                "[Strong smell of cannabis. M denies use.|Empty cans in kitchen, M "
                "says her friend's.]"
            )
        )
    if case.has("mental_health") and pen.chance(0.5):
        bits.append(pen.say("M low, tearful, not taking meds. Advised GP/crisis line."))
    return bits
