"""Case notes: supervision, core groups, calls, return home interviews, MARAC, legal
planning, LADO, looked-after placements and the like."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from evaluation.synthetic import observations as obs
from evaluation.synthetic import voice
from evaluation.synthetic.model import Draft
from evaluation.synthetic.pen import Pen
from evaluation.synthetic.people import CONFLICTED_WORKER

NoteKind = Literal[
    "supervision",
    "core_group",
    "phone_call",
    "rhi",
    "marac",
    "nrm",
    "legal_planning",
    "cin_review",
    "conflict",
    "transfer",
    "closure",
    "direct_work",
    "network_meeting",
    "police_intel",
    "lado",
    "cla",
]


def case_note(pen: Pen, kind: NoteKind) -> Draft:
    """A case note of ``kind``; sensitive kinds come back ``restricted``."""
    writer = {
        "supervision": _supervision,
        "core_group": _core_group,
        "phone_call": _phone_call,
        "rhi": _return_home_interview,
        "marac": _marac,
        "nrm": _nrm,
        "legal_planning": _legal_planning,
        "cin_review": _cin_review,
        "conflict": _conflict,
        "transfer": _transfer,
        "closure": _closure,
        "direct_work": _direct_work,
        "network_meeting": _network_meeting,
        "police_intel": _police_intel,
        "lado": _lado,
        "cla": _looked_after,
    }[kind]
    draft = writer(pen)
    draft.subject = draft.subject or pen.case.child.first
    return draft


def _supervision(pen: Pen) -> Draft:
    title = pen.one(
        (
            "Management oversight",
            "Supervision record",
            "Case supervision",
            "Manager's oversight",
            "TM oversight",
        )
    )
    draft = Draft("case_note", title, "")
    state = pen.state
    status = (
        "a {CPP} (category: " + state.category + ")"
        if state.cp_active
        else "a {CINP}"
        if state.cin_active
        else "assessment"
    )
    parts = [pen.say("[Case discussed in supervision|Supervision] between {sw} and {tm}.")]
    parts.append(
        pen.say(
            "Summary: {kids_names} [are|remain] subject to " + status + ". Visits are "
            "[up to date|behind by one week due to sickness|up to date and the children "
            "have been seen alone]."
        )
    )
    parts.append(
        pen.one(
            (
                "Reflection: we discussed the risk of drift and whether the plan is making a "
                "difference for {c}.",
                "Reflection: {sw} reflected on how hard it has been to engage {dad_ref} and "
                "the impact of his absence on {c}.",
                "Reflection: we considered whether the threshold for the {PLO} is met and "
                "agreed to review this at the next supervision.",
                "Reflection: {sw_first} spoke about the emotional impact of this case and "
                "the support available from the team.",
            )
        )
    )
    parts.append(
        pen.one(
            (
                "Child's lived experience: {c} [is described by school as settled|continues "
                "to present as anxious|has been seen alone on every visit this month].",
                "Voice of the child: {c} [appears settled and attached to {mum_ref}|has been "
                "seen and observed at every visit|is described as a happy child by "
                "nursery or school].",
            )
        )
    )
    if pen.case.has("neglect") and not state.improved and pen.chance(0.5):
        parts.append(
            pen.say(
                "Graded Care Profile scores remain at [4|3-4] in the physical "
                "care and safety domains; cumulative harm from chronic "
                "neglect discussed."
            )
        )
        draft.tag("neglect.general", 1)
    directions = [
        "convene a family network meeting",
        "seek legal gateway advice",
        "update the chronology",
        "see {c} alone within 5 working days",
        "complete the assessment update",
        "make a referral to the edge of care team",
        "ensure the safety plan is signed by the network",
    ]
    chosen = pen.rng.sample(directions, pen.rng.randint(2, 3))
    parts.append(
        pen.say("[Management direction|Actions agreed]:\n")
        + "\n".join(
            f"- {pen.say(d)} (by " + pen.date(pen.day + dt.timedelta(days=14)) + ")" for d in chosen
        )
    )
    draft.text = "\n\n".join(parts)
    return draft


def _core_group(pen: Pen) -> Draft:
    title = pen.one(
        ("Core group meeting", "Core group minutes", "Core group", "Core group - notes")
    )
    draft = Draft("case_note", title, "")
    parts = [
        pen.say(
            "Core group held [at school|at the family home|on Teams]. Present: "
            "{mum_ref}, {sw}, {dsl}[, {hv}|, {school_nurse}|]."
        )
    ]
    if pen.case.health_visitor and pen.case.health_visitor in parts[0]:
        draft.tag("hv", 1)
    parts.append(
        pen.one(
            (
                "Progress: [attendance has improved|the safety plan has been followed|{mum_ref} "
                "has "
                "started the parenting course]. [No new incidents reported.|One new police "
                "notification since the last meeting.]",
                "Review of actions: most actions complete; [the GCP2 is outstanding|the CAMHS "
                "referral "
                "is still waiting|housing have not responded].",
            )
        )
    )
    parts.append(pen.say("Next core group: ") + pen.date(pen.day + dt.timedelta(days=35)) + ".")
    draft.text = "\n\n".join(parts)
    return draft


def _phone_call(pen: Pen) -> Draft:
    title = pen.one(
        (
            "Telephone call",
            "Call from Mum",
            "Phone call with {mum}",
            "Telephone contact",
            "Text messages with {mum}",
        )
    )
    draft = Draft("case_note", title, "")
    body = pen.one(
        (
            "{mum_ref_C} rang to say [the children are poorly|she had a letter about rent arrears|"
            "she cannot make Thursday's appointment]. {I} [rearranged the visit|offered advice].",
            "{mum_ref_C} called upset after [an argument with {gran}|a letter from school]. "
            "{I} talked it through and she calmed down.",
            "Call to {mum_ref} to remind her of the core group [tomorrow|on Monday]; she "
            "confirmed she will attend.",
            "{mum_ref_C} texted asking for help with [a food bank voucher|uniform|the gas "
            "bill]. A referral was made to the family support service.",
        )
    )
    draft.text = body
    return draft


def _return_home_interview(pen: Pen) -> Draft:
    title = pen.one(
        (
            "Return home interview",
            "RHI completed",
            "Return home conversation",
            "RHI - {c}",
            "Return interview following missing episode",
        )
    )
    draft = Draft("case_note", title, "")
    draft.tag("missing", 2)
    last = pen.state.missing_dates[-1] if pen.state.missing_dates else pen.day
    exploited = pen.case.has("exploitation")
    parts = [
        pen.say(
            "{RHI} completed by {youth_worker} [at school|at home|at a café] following the "
            "missing episode on "
        )
        + pen.date(last)
        + "."
    ]
    parts.append(
        pen.one(
            (
                "Where and who with: {c} said {c_he} stayed at a friend's house and did not "
                'think {c_he} was "missing" because {c_he} had {c_his} phone.',
                "Where and who with: {c} would not say where {c_he} had been or who {c_he} was "
                "with.",
                'Where and who with: {c} said {c_he} was "just out" with friends from '
                "[the estate|school] and slept at [a mate's|a friend's older brother's] flat.",
            )
        )
    )
    parts.append(
        pen.one(
            (
                "Push factors: arguments at home [with {mum_ref}|about {c_his} curfew]. Pull "
                "factors: [friends|feeling grown up|money].",
                'Why {c_he} left: {c} said home is "boring" and {c_he} was "sick of being '
                'shouted at".',
            )
        )
    )
    if exploited and pen.chance(0.7):
        parts.append(obs.exploitation(pen.rng, pen.s, draft, count=1))
        draft.tag("exploitation.missing", 2)
    parts.append(
        pen.one(
            (
                "Harm: {c} [denied any harm|had no injuries|would not answer questions about "
                "harm]; {c_he} was [tired and hungry|quiet] when seen.",
                "Health: no injuries seen. {c} declined a sexual health referral.",
            )
        )
    )
    parts.append(
        pen.say(
            "[Shared with police and the exploitation team.|Information passed to the police "
            "missing person coordinator.] {c} agreed to [keep in touch with {youth_worker}|"
            "text {mum_ref} if {c_he} is going to be late]."
        )
    )
    draft.text = "\n\n".join(parts)
    return draft


def _marac(pen: Pen) -> Draft:
    title = pen.one(("MARAC", "MARAC referral", "MARAC outcome", "MARAC - information shared"))
    draft = Draft("case_note", title, "", restricted=True)
    draft.tag("da", 2)
    draft.tag("police", 1)
    parts = [
        pen.say(
            "[Case heard at|Referral to] {MARAC} on {d}. Referred by {idva} "
            "following a [high risk DASH|repeat incident]."
        )
    ]
    parts.append(
        pen.one(
            (
                "{perp} has [three|four] recorded incidents against {mum} in the last year, "
                "including [strangulation|threats to kill]. Police have flagged the address for a "
                "priority response.",
                "Actions: police marker on the address, housing to fit additional security, IDVA "
                "to "
                "continue support. {perp} is known to police for violence.",
            )
        )
    )
    parts.append(pen.say("Restricted: MARAC information must not be shared with the family."))
    draft.text = "\n\n".join(parts)
    return draft


def _nrm(pen: Pen) -> Draft:
    title = pen.one(
        (
            "NRM referral",
            "National Referral Mechanism referral submitted",
            "Exploitation panel (MACE)",
            "CCE risk assessment",
        )
    )
    draft = Draft("case_note", title, "")
    parts = [
        pen.say(
            "[NRM referral submitted to the Single Competent Authority|{c} "
            "discussed at the multi-agency child exploitation (MACE) panel] on {d}."
        )
    ]
    parts.append(obs.exploitation(pen.rng, pen.s, draft, count=pen.rng.randint(1, 2)))
    parts.append(pen.say("The {CCE} screening tool scored [high|significant] risk."))
    draft.text = "\n\n".join(parts)
    return draft


def _legal_planning(pen: Pen) -> Draft:
    title = pen.one(
        (
            "Legal planning meeting",
            "Legal gateway meeting",
            "Legal advice - privileged",
            "Legal planning meeting (privileged)",
        )
    )
    draft = Draft("case_note", title, "", restricted=True)
    parts = [
        pen.say(
            "Legal planning meeting with [the council's solicitor|Westshire Legal "
            "Services] and {tm}. [Legally privileged - do not disclose.|Privileged "
            "and confidential.]"
        )
    ]
    parts.append(
        pen.one(
            (
                "Advice: the threshold for care proceedings is [met|arguably met]. Recommend the "
                "{PLO} pre-proceedings process with a letter before proceedings.",
                "Advice: continue under the {PLO} for a further 8 weeks; parenting assessment and "
                "hair strand testing to be commissioned.",
            )
        )
    )
    draft.text = "\n\n".join(parts)
    pen.state.plo = True
    return draft


def _cin_review(pen: Pen) -> Draft:
    title = pen.one(("CIN review", "Child in Need review meeting", "CIN review - minutes"))
    draft = Draft("case_note", title, "")
    parts = [pen.say("{CIN} review held {d}. Present: {mum_ref}, {sw}, {dsl}.")]
    for theme in pen.case.themes[:1]:
        parts.append(
            obs.theme_evidence(pen.rng, pen.s, draft, theme, pen.age, active=not pen.state.improved)
        )
    parts.append(
        pen.one(
            (
                "Agreed: continue the {CINP} for a further three months.",
                "Agreed: the {CINP} can close at the next review if progress is sustained.",
            )
        )
    )
    draft.text = "\n\n".join(parts)
    return draft


def _conflict(pen: Pen) -> Draft:
    worker = CONFLICTED_WORKER[pen.case.team]
    draft = Draft(
        "case_note",
        pen.one(
            (
                "Conflict of interest",
                "Access restriction - conflict of interest",
                "Manager's note - restricted access",
            )
        ),
        "",
        restricted=True,
    )
    draft.text = pen.say(
        "{tm} has restricted access to this case. " + worker.name + " has declared that "
        "[they are related to|they know] a member of the family [through a family member|"
        "socially] and must not access or work on this case. Allocation and supervision to "
        "remain with other team members."
    )
    return draft


def _transfer(pen: Pen) -> Draft:
    draft = Draft(
        "case_note", pen.one(("Transfer summary", "Case transfer", "Change of social worker")), ""
    )
    draft.text = pen.say(
        "Case transferred to {sw} [from the assessment team|following a change in "
        "allocation]. {sw_first} [has been introduced to the family|will visit this week]. "
        "Summary of current plan and risks shared at a joint visit."
    )
    return draft


def _closure(pen: Pen) -> Draft:
    draft = Draft("case_note", pen.one(("Closure summary", "Case closure", "Closing summary")), "")
    draft.text = pen.say(
        "[Case closed|Closure authorised by {tm}] on {d}. The family have made sustained "
        "changes and the children's needs are now met with universal services[ and early "
        "help|]. {mum_ref_C} has been given the {MASH} number should she need support."
    )
    return draft


def _direct_work(pen: Pen) -> Draft:
    draft = Draft(
        "case_note",
        pen.one(
            (
                "Direct work session",
                "Direct work with {c}",
                "Life story / direct work",
                "Wishes and feelings session",
            )
        ),
        "",
    )
    draft.text = voice.child_voice(
        pen.rng,
        pen.s,
        draft,
        pen.age,
        pen.case.themes,
        seen_alone=True,
        worries_active=not pen.state.improved,
    )
    return draft


def _network_meeting(pen: Pen) -> Draft:
    draft = Draft(
        "case_note",
        pen.one(("Family network meeting", "Family group conference", "Safety network meeting")),
        "",
    )
    draft.text = pen.say(
        "Meeting with {mum_ref}, {gran} ({gran_rel}) and [a family friend|{dad}'s sister] to "
        "grow the safety network. Everyone agreed to [help with school runs|visit daily|be "
        "on call at weekends]. The safety plan will be updated to include them."
    )
    pen.state.network_growth += 1
    return draft


def _police_intel(pen: Pen) -> Draft:
    title = pen.one(
        (
            "Police intelligence (restricted)",
            "Information shared by police - not for disclosure",
            "Sensitive police information",
        )
    )
    draft = Draft("case_note", title, "", restricted=True)
    draft.tag("police", 1)
    case = pen.case
    if case.has("exploitation"):
        body = pen.say(
            "{officer} shared intelligence [graded 3/B/4|from a covert source] "
            'linking {c} to the "{line}" line run from {far_town}. {c} is '
            "believed to be holding drugs for older males."
        )
        draft.tag("exploitation.county_lines", 2)
    elif case.has("domestic_abuse"):
        body = pen.say(
            "{officer} advised that {perp} is under investigation for [offences "
            "against a previous partner|breach of a restraining order] and has "
            "recently been released from custody."
        )
        draft.tag("da", 1)
    else:
        body = pen.say(
            "{officer} shared that a household member has previous convictions "
            "[for supplying drugs|for violence] [in 2016|in 2019]."
        )
    draft.text = (
        body
        + "\n\n"
        + pen.say(
            "This information must not be shared with the family or recorded in letters or "
            "reports without police agreement."
        )
    )
    return draft


def _lado(pen: Pen) -> Draft:
    title = pen.one(("LADO referral", "LADO consultation", "Allegation against staff - LADO"))
    draft = Draft("case_note", title, "", restricted=True)
    draft.text = pen.say(
        "{c} told {c_his} [teacher|mum] that a member of staff at {c_school} [grabbed {c_his} "
        "arm|shouted in {c_his} face and pushed {c_him}]. Consultation with {LADO} on {d}: "
        "[the threshold for a LADO strategy meeting is met|the matter will be managed by the "
        "school as a conduct issue]. The staff member is not to be named in family records."
        "\n\nRestricted: allegation against a professional."
    )
    return draft


def _looked_after(pen: Pen) -> Draft:
    title = pen.one(
        (
            "Child looked after - placement",
            "Placement with connected person",
            "Section 20 accommodation",
        )
    )
    draft = Draft("case_note", title, "")
    draft.text = pen.say(
        "{c} became [looked after|a child looked after ({CLA})] on {d} [under an interim care "
        "order|with {mum_ref}'s consent under section 20] and is placed with {gran} "
        "({gran_rel}) under a connected persons (Reg 24) arrangement. {mum_ref_C} will have "
        "[supervised contact twice a week|contact at the family centre]. The first {CLA} review "
        "will be held within 20 working days."
    )
    return draft
