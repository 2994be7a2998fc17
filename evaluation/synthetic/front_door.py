"""The start of a case and its urgent decisions: referral, MASH screening, strategy
discussions and the assessment or section 47 enquiry that follows."""

from __future__ import annotations

from typing import Literal

from evaluation.synthetic import observations as obs
from evaluation.synthetic.model import Draft, Theme
from evaluation.synthetic.pen import Pen
from evaluation.synthetic.textkit import fit, join_names

ReferralSource = Literal["school", "police", "health_visitor", "hospital", "neighbour", "gp"]

REFERRER: dict[ReferralSource, str] = {
    "school": "{dsl}, {DSL} at {c_school}",
    "police": "{officer}, {force} (via {PPN})",
    "health_visitor": "{hv}, health visitor, {hv_team}",
    "hospital": "the paediatric liaison nurse at {hospital}",
    "neighbour": "a member of the public (anonymous, neighbour)",
    "gp": "{gp_doc}, {gp_practice}",
}
SOURCE_LABEL: dict[ReferralSource, str] = {
    "school": "school",
    "police": "police",
    "health_visitor": "health visitor",
    "hospital": "hospital",
    "neighbour": "anonymous",
    "gp": "GP",
}

Tagged = tuple[tuple[str, int], ...]
# What the referrer said, in the referrer's words: (source, template, tags it evidences).
REFERRAL_CONCERNS: dict[Theme, tuple[tuple[ReferralSource, str, Tagged], ...]] = {
    "neglect": (
        (
            "school",
            "School report that {c} has arrived hungry most days this term, asking "
            "staff for food, and that {c_his} uniform is dirty and smells of urine.",
            (("neglect.food", 2), ("neglect.hygiene", 2)),
        ),
        (
            "health_visitor",
            "At the HV's last visit the home was very dirty, with dog faeces "
            "on the floor, no safe sleeping space for the baby and no formula in the house.",
            (("neglect.home", 2), ("neglect.food", 2)),
        ),
        (
            "neighbour",
            "The caller says the children are often out in the street in dirty "
            'clothes and "always look starving"; rubbish bags are piled up in the front '
            "garden and there is a smell from the house.",
            (("neglect.food", 2), ("neglect.home", 2), ("neglect.hygiene", 2)),
        ),
        (
            "school",
            "{c} has untreated head lice and visible tooth decay and has not been "
            "taken to the dentist despite [three|several] letters home.",
            (("neglect.hygiene", 2), ("neglect.health", 2)),
        ),
    ),
    "domestic_abuse": (
        (
            "police",
            "Police attended {addr} after {mum} reported that {perp} had assaulted "
            "her [in front of the children|while {c} was in the room]. DASH risk assessment: "
            "[high|medium]. {perp} was arrested.",
            (("da", 2), ("police", 2)),
        ),
        (
            "police",
            "Third domestic incident at the address in [two|three] months. {mum} "
            'had visible injuries to her face; {c} told officers {c_he} was "scared Daddy '
            'will kill Mummy".',
            (("da", 2), ("police", 2)),
        ),
        (
            "school",
            '{c} disclosed to {c_his} teacher that "{perp} hurt Mummy and there was '
            'blood on the floor".',
            (("da", 2),),
        ),
    ),
    "exploitation": (
        (
            "police",
            "{c} ({c_age}) was found by police in {far_town} with [£300|£450] in cash "
            "and two phones, having been reported missing for two days. Police believe {c_he} "
            "is being used to supply drugs.",
            (
                ("exploitation.county_lines", 2),
                ("exploitation.items", 2),
                ("exploitation.missing", 2),
                ("missing", 2),
                ("police", 2),
            ),
        ),
        (
            "school",
            "{c}'s attendance has dropped sharply; {c_he} is being collected from "
            "school by older males in cars and has new expensive clothes {c_he} cannot explain.",
            (("exploitation.associates", 2), ("exploitation.items", 2)),
        ),
    ),
    "home_alone": (
        (
            "police",
            "Police attended at [23:00|22:15] after neighbours heard children crying; "
            "{kids_names} had been alone in the property for around three hours.",
            (("home_alone", 2), ("police", 2)),
        ),
        (
            "neighbour",
            "The caller says the children are regularly left on their own in the "
            "evenings while {mum} goes out, and that {c} answers the door to callers.",
            (("home_alone", 2),),
        ),
        (
            "school",
            "{c} told staff {c_he} was on {c_his} own overnight at the weekend and had "
            "to look after {sib}.",
            (("home_alone", 2),),
        ),
    ),
    "substance": (
        (
            "health_visitor",
            '{mum} disclosed daily cannabis use and drinking "to cope"; '
            "the flat smelled strongly of cannabis and {mum} appeared drowsy.",
            (),
        ),
        (
            "police",
            "Police attended a concern for welfare and found {mum} heavily intoxicated "
            "with {c} in her sole care.",
            (("police", 2),),
        ),
    ),
    "mental_health": (
        (
            "gp",
            "{mum} has severe depression, has recently stopped her medication and "
            "disclosed thoughts of ending her life. She is the sole carer for the children.",
            (),
        ),
        (
            "health_visitor",
            "{mum} scored highly on the Edinburgh scale and told the HV she "
            '"can\'t cope" and sometimes stays in bed all day.',
            (),
        ),
    ),
    "physical": (
        (
            "school",
            '{c} arrived at school with a bruise to {c_his} cheek and said "{perp} did it".',
            (),
        ),
        (
            "hospital",
            "{c} was brought to ED with an injury to {c_his} arm; the explanation "
            "given by the adults was inconsistent with the injury.",
            (),
        ),
    ),
}


def _referral_options(theme: Theme, pen: Pen) -> list[tuple[ReferralSource, str, Tagged]]:
    """Concerns that fit the family: no school referrer or quoted words for a baby, no
    health visitor for a family without one, and no sibling for an only child."""
    options = list(REFERRAL_CONCERNS[theme])
    if pen.age < 4:
        options = [o for o in options if o[0] != "school" and " told " not in o[1]] or options
    if pen.case.health_visitor is None:
        options = [o for o in options if o[0] != "health_visitor"] or options
    allowed = set(fit([o[1] for o in options], pen.s))
    return [o for o in options if o[1] in allowed]


def referral(pen: Pen) -> Draft:
    """The contact that opened the case, written up by the MASH in the referrer's terms."""
    case = pen.case
    choices = _referral_options(case.themes[0], pen)
    source, template, tags = choices[pen.rng.randrange(len(choices))]
    pen.s["source_label"] = SOURCE_LABEL[source]
    title = pen.one(
        (
            "MASH referral",
            "Contact and referral",
            "Referral received - {source_label}",
            "Initial contact record",
            "Referral to children's social care",
        )
    )
    draft = Draft("referral", title, "", subject=case.child.first)
    referrer = pen.say(REFERRER[source])
    parts = [
        pen.say("Date of contact: {d}. Referrer: ") + referrer + ".",
        pen.say(
            "Child(ren): {kids_ages}. Address: {addr}. Mother: {mum_full}. "
            "[Father: {dad_full}.|Father: {dad_full} (not living in the home).]"
        ),
    ]
    reason = [
        pen.one(
            (
                "Reason for referral:",
                "Summary of concerns:",
                "Concerns reported:",
                "Presenting issues:",
            )
        ),
        pen.say(template),
    ]
    for topic, grade in tags:
        draft.tag(topic, grade)
    for theme in case.themes[1:2]:
        others = _referral_options(theme, pen)
        _, extra, extra_tags = others[pen.rng.randrange(len(others))]
        reason.append(pen.say("[The referrer also said|Also reported]: ") + pen.say(extra))
        for topic, grade in extra_tags:
            draft.tag(topic, grade)
    parts.append(" ".join(reason))
    if source == "police":
        draft.tag("police", 2)
    parts.append(
        pen.one(
            (
                "[Parental consent|Consent to share information] was [obtained|not sought as this "
                "may place the children at increased risk].",
                "{mum_ref_C} is [aware of|not aware of] the referral.",
                "The referrer is [worried|very worried] about the children and asked for feedback.",
            )
        )
    )
    if pen.chance(0.5):
        parts.append(
            pen.say(
                "Previous involvement: [none known|a {CIN} episode in 2019 "
                "(closed)|two previous contacts from school (NFA)]."
            )
        )
    draft.text = "\n\n".join(parts)
    return draft


def mash_decision(pen: Pen, next_step: str) -> Draft:
    """The MASH screening outcome, with the checks that informed it."""
    case = pen.case
    title = pen.one(
        (
            "MASH decision",
            "MASH outcome",
            "Screening decision",
            "MASH enquiry - outcome",
            "Management decision (MASH)",
        )
    )
    draft = Draft("case_note", title, "", subject=case.child.first)
    pen.s["n_police"] = str(pen.rng.randint(2, 5))
    pen.s["pct"] = str(pen.rng.randint(70, 96))
    rag = "RED" if next_step == "strategy" else pen.rng.choice(("AMBER", "AMBER", "GREEN"))
    checks = [
        pen.say(
            "Police: [{n_police} previous call-outs to the address|no information "
            "held|one previous domestic incident (2021)]."
        ),
        pen.say(
            "Health: registered with {gp_practice}; [no concerns from {GP}|{HV} has "
            "concerns about engagement|missed appointments noted]."
        ),
        pen.say(
            "Education: {c_school} - [attendance {pct}%|no concerns shared|concerns "
            "as per referral]."
        ),
    ]
    if "call-outs" in checks[0] or "domestic" in checks[0]:
        draft.tag("police", 1)
    if case.health_visitor and pen.chance(0.5):
        checks.append(pen.say("Health visitor: {hv} ({hv_team})."))
        draft.tag("hv", 1)
    decision = {
        "strategy": "Threshold for significant harm met. Strategy discussion to be convened "
        "[today|within 24 hours] by {tm}.",
        "assessment": "Threshold for {CIN} met. Passed to the assessment team for a "
        "[single assessment|Child and Family assessment] (45 working days).",
    }[next_step]
    parts = [
        pen.say("[MASH checks completed|Multi-agency checks completed] by {mash_worker}."),
        "\n".join(checks),
        pen.say(f"RAG rating: {rag}. Decision: {decision}"),
    ]
    draft.text = "\n\n".join(parts)
    return draft


STRATEGY_TITLES: tuple[str, ...] = (
    "Strategy discussion",
    "Strategy meeting",
    "Strategy discussion - {reason_short}",
    "Multi-agency strategy discussion",
    "Strat discussion",
)


def strategy_discussion(pen: Pen, reason: Theme, *, first: bool) -> Draft:
    """A multi-agency strategy discussion; police always take part."""
    case = pen.case
    pen.s["reason_short"] = {
        "neglect": "home conditions",
        "domestic_abuse": "domestic incident",
        "exploitation": "missing episode / CCE",
        "home_alone": "children found alone",
        "substance": "parental drug use",
        "mental_health": "parental mental health",
        "physical": "injury to child",
    }[reason]
    pen.s["n"] = str(pen.rng.randint(2, 6))
    pen.s["pct"] = str(pen.rng.randint(70, 97))
    draft = Draft("strategy_discussion", pen.one(STRATEGY_TITLES), "", subject=case.child.first)
    attendees = [
        pen.say("{tm} (team manager, chair)"),
        pen.say("{sw} (social worker)"),
        pen.say("{officer} ({force}[ CAIT| Safeguarding Unit|])"),
        pen.say("[Named Nurse for Safeguarding|Safeguarding nurse] (health)"),
    ]
    if case.child.school:
        attendees.append(pen.say("{dsl} ({c_school})"))
    if case.health_visitor and pen.chance(0.6):
        attendees.append(pen.say("{hv} (health visitor)"))
        draft.tag("hv", 1)
    if reason == "exploitation":
        attendees.append(pen.say("{cce_worker} (exploitation team)"))
    parts = [
        pen.say("Date: {d}. [Held virtually on Teams|Held by telephone|Held at the MASH].")
        + "\n"
        + pen.say("[Attendees|Present]: ")
        + join_names(attendees)
        + ".",
    ]
    why = pen.one(
        (
            "Reason for strategy discussion:",
            "Purpose:",
            "Reason for the meeting:",
        )
    )
    why += " " + (
        pen.say("[New referral|Referral received] from {MASH}.")
        if first
        else pen.say(
            "[New incident|Further concerns] while {c} is [subject to a {CPP}|open to {la}]."
        )
    )
    parts.append(why)
    info = [pen.say("[Information shared|Information from agencies]:")]
    info.append(
        pen.say("Social care: ") + obs.theme_evidence(pen.rng, pen.s, draft, reason, pen.age)
    )
    info.append(
        pen.one(
            (
                "Police: {officer} shared [{n} previous call-outs to the address|that {perp} has "
                "previous convictions for violence|intelligence linking {c} to older males in "
                "{far_town}|no previous information on the family].",
                "Police: checks show [{n} domestic incidents since 2021|a previous missing episode|"
                "{perp} is on bail for an unrelated offence].",
            )
        )
    )
    info.append(
        pen.one(
            (
                "Health: [the children are up to date with immunisations|{c} has missed "
                "appointments|no concerns known to health].",
                "Health: {GP} records show [no safeguarding history|a previous attendance at "
                "{hospital}].",
            )
        )
    )
    if case.child.school:
        info.append(
            pen.say(
                "Education: {c_school} report [attendance of {pct}%|that {c} "
                "is quiet and withdrawn|no previous concerns]."
            )
        )
    parts.append("\n".join(info))
    decision = pen.one(
        (
            "Decision: threshold met for a [joint|single agency] {S47} enquiry. [A joint "
            "visit will take place today|Police to consider a criminal investigation].",
            "Outcome: agreed that the threshold for {S47} enquiries is met; [single agency "
            "(social care) enquiry|joint enquiry with police].",
            "Outcome: {S47} enquiry to [continue|be completed] and an {ICPC} to be convened "
            "within 15 working days.",
        )
    )
    if not first and pen.chance(0.3):
        decision = pen.say(
            "Outcome: {S47} threshold [met; existing plan to be updated|not "
            "met; continue under the current plan with increased visits]."
        )
    parts.append(decision)
    actions = [
        pen.say("SW to see {c} alone [today|within 24 hours]."),
        pen.say("Police to [complete checks|update on the investigation|speak to {perp}]."),
        pen.say("Safety plan to be [agreed|updated] with {mum_ref} and the network."),
        pen.say("School to monitor and update [daily|weekly]."),
    ]
    if reason == "exploitation":
        actions.append(pen.say("{NRM} referral to be completed by {sw}."))
    parts.append(
        pen.say("[Actions|Agreed actions]:\n")
        + "\n".join(
            f"- {a}" for a in pen.rng.sample(actions, min(len(actions), pen.rng.randint(2, 4)))
        )
    )
    draft.text = "\n\n".join(parts)
    draft.tag("strategy", 1)
    draft.tag("police", 1)
    if reason == "exploitation" and pen.state.missing_dates:
        draft.tag("missing", 1)
    pen.state.strategy_dates.append(pen.day)
    return draft


def assessment(pen: Pen, *, s47: bool) -> Draft:
    """A section 47 outcome or a Child and Family (single) assessment summary."""
    case = pen.case
    title = pen.one(
        ("Section 47 enquiry - outcome", "S47 outcome", "Outcome of child protection enquiries")
        if s47
        else (
            "Child and Family Assessment",
            "Single assessment",
            "C&F assessment - summary and analysis",
            "Assessment (CIN)",
        )
    )
    draft = Draft("assessment", title, "", subject=case.child.first)
    parts = [
        pen.say(
            "[Assessment of|Children]: {kids_ages}. Completed by {sw}. "
            "[Authorised|Signed off] by {tm}."
        )
    ]
    parts.append(
        pen.say("[Family composition|Household]: {mum_full} (mother) and {kids_names}. ")
        + (
            pen.say("{dad_full} lives in the home.")
            if case.family.father_in_home
            else pen.say("{dad_full} lives separately[ and has contact at weekends|].")
        )
    )
    parts.append(
        pen.say("[Child's lived experience|Child's day-to-day experience]: ")
        + " ".join(obs.theme_evidence(pen.rng, pen.s, draft, t, pen.age) for t in case.themes)
    )
    parts.append(
        pen.one(
            (
                "Parenting capacity: {mum_ref} loves the children and wants to do her best, but "
                "[has struggled to sustain change|minimises the concerns|has started to engage "
                "with "
                "support].",
                "Parenting capacity: basic care is [inconsistent|variable]; emotional warmth is "
                "evident in how {mum_ref} speaks about the children.",
            )
        )
    )
    parts.append(
        pen.one(
            (
                "Family and environment: {gran_rel} {gran} is a protective factor and lives "
                "nearby. "
                "The family has [rent arrears|debts|no recourse to public funds].",
                "Family and environment: the family are isolated; [{mum_ref} has no local family|"
                "housing is overcrowded]. {gran} offers some support.",
            )
        )
    )
    outcome = (
        pen.one(
            (
                "Outcome: concerns substantiated; the child is judged to be at risk of significant "
                "harm. An {ICPC} will be convened.",
                "Outcome: {S47} concerns substantiated - {ICPC} requested.",
            )
        )
        if s47
        else pen.one(
            (
                "Recommendation: {CIN} plan with [a family support worker|parenting support] and "
                "monthly visits.",
                "Recommendation: step to a {CIN} plan; review in three months.",
            )
        )
    )
    parts.append(outcome)
    draft.text = "\n\n".join(parts)
    return draft
