"""Child protection conferences (initial and review) and the plans they make."""

from __future__ import annotations

import datetime as dt

from evaluation.synthetic import observations as obs
from evaluation.synthetic.model import Draft, Theme
from evaluation.synthetic.pen import Pen
from evaluation.synthetic.people import MINUTE_TAKERS
from evaluation.synthetic.textkit import join_names

CATEGORY: dict[Theme, str] = {
    "neglect": "neglect",
    "domestic_abuse": "emotional abuse",
    "exploitation": "physical abuse",
    "home_alone": "neglect",
    "substance": "neglect",
    "mental_health": "emotional abuse",
    "physical": "physical abuse",
}


def category_for(themes: tuple[Theme, ...]) -> str:
    return CATEGORY[themes[0]]


def _attendance(pen: Pen, draft: Draft) -> tuple[list[str], list[str]]:
    case = pen.case
    present = [pen.say("{mum_full} (mother)")]
    apologies: list[str] = []
    if case.family.father_in_home or pen.chance(0.4):
        present.append(pen.say("{dad_full} (father)"))
    else:
        apologies.append(pen.say("{dad_full} (father) - [did not attend|invited, no response]"))
    present.append(pen.say("{sw} (social worker)"))
    if pen.chance(0.5):
        present.append(pen.say("{tm} (team manager)"))
    if case.child.school:
        present.append(pen.say("{dsl} ({DSL}, {c_school})"))
    if case.health_visitor:
        present.append(pen.say("{hv} (health visitor, {hv_team})"))
        draft.tag("hv", 1)
    else:
        present.append(pen.say("{school_nurse} (school nurse)"))
    if pen.chance(0.6):
        present.append(pen.say("{officer} ({force})"))
    else:
        apologies.append(pen.say("{force} - report submitted"))
    apologies.append(pen.say("{gp_doc} ({gp_practice}) - report [received|not received]"))
    if case.has("domestic_abuse"):
        present.append(pen.say("{idva} (IDVA)"))
    if case.has("exploitation"):
        present.append(pen.say("{cce_worker} (exploitation team)"))
    return present, apologies


def icpc_minutes(pen: Pen) -> Draft:
    """Minutes of the initial child protection conference: long, sectioned, decisive."""
    case, state = pen.case, pen.state
    category = category_for(case.themes)
    pen.s["n"] = str(pen.rng.randint(2, 7))
    pen.s["pct"] = str(pen.rng.randint(68, 97))
    title = pen.one(
        (
            "ICPC minutes",
            "Initial Child Protection Conference - minutes",
            "Minutes of initial child protection conference",
            "ICPC - {c_full}",
            "Conference minutes (initial)",
        )
    )
    draft = Draft("icpc_minutes", title, "", subject=case.child.first)
    present, apologies = _attendance(pen, draft)
    minute_taker = MINUTE_TAKERS[case.team].name
    parts = [
        pen.say(
            "Children: {kids_ages}.\nAddress: {addr}.\nDate of conference: {d}.\n"
            "Chair: {chair}. Minutes: "
        )
        + minute_taker
        + ".",
        pen.say("[Present|In attendance]: ") + join_names(present) + ".",
        pen.say("Apologies: ") + join_names(apologies) + ".",
        pen.one(
            (
                "The chair explained the purpose of the conference, confidentiality and how "
                "decisions are made. {mum_ref_C} was supported by [an advocate|{gran}].",
                "Introductions were made and the chair explained that the conference would use "
                "the Signs of Safety framework.",
            )
        ),
    ]
    parts.append(
        pen.one(
            (
                "Family background: {mum_ref_C} grew up in {town} and [was known to children's "
                "services as a child|has a close relationship with {gran}|moved to the area in "
                "2019]. "
                "The children's father, {dad_full}, [lives in {far_town}|has irregular contact|is "
                "in "
                "prison on remand].",
                "Background: the family [have lived at the address for four years|moved into "
                "temporary accommodation last year]. There have been [two previous referrals, both "
                "closed after assessment|no previous child protection plans].",
            )
        )
    )
    reason = [pen.say("[Reason for conference|Why we are here]:")]
    reason.append(
        pen.say("Following [a referral from {MASH}|the strategy discussion] on ")
        + pen.date(state.strategy_dates[-1] if state.strategy_dates else pen.day)
        + pen.say(", {S47} enquiries were completed and concerns were substantiated.")
    )
    parts.append(" ".join(reason))
    social_care = [pen.say("[Social care report|Report from children's social care] ({sw}):")]
    for theme in case.themes:
        social_care.append(obs.theme_evidence(pen.rng, pen.s, draft, theme, pen.age))
    parts.append(" ".join(social_care))
    police = pen.one(
        (
            "Police: {officer} reported [{n} call-outs to the address in the last two years|"
            "that {perp} has a history of violence towards previous partners|that {c} is known "
            "to police as a missing child|no information on the family beyond the current "
            "incident].",
            "{force} submitted a report: [two domestic incidents, one graded high risk|a "
            'concern for welfare call in the spring|intelligence linking {c} to the "{line}" '
            "line].",
        )
    )
    parts.append(police)
    draft.tag("police", 1)
    health = pen.one(
        (
            "Health: the GP report [was received|was not received in time]; the children are "
            "registered with {gp_practice}.",
            "Health: [the children's immunisations are up to date|{c} has outstanding "
            "immunisations]; no other concerns from the GP.",
        )
    )
    if case.health_visitor:
        health += " " + pen.say(
            "{hv} (health visitor) [described {mum_ref} as warm but "
            "overwhelmed|has completed developmental checks]."
        )
    parts.append(health)
    if case.child.school:
        parts.append(
            pen.one(
                (
                    "School: {dsl} reported attendance of {pct}% and that {c} is [quiet|unsettled|"
                    "doing well academically but often tired].",
                    "Education: {c_school} [have logged several concerns on CPOMS|report {c} is "
                    "well liked and enjoys PE], attendance {pct}%.",
                )
            )
        )
    parts.append(
        pen.one(
            (
                "Parents' views: {mum_ref_C} said she [accepts some of the concerns|does not agree "
                "with everything in the report] but wants to work with professionals.",
                "{mum_ref_C} said she was [upset|angry] at some of the language in the report but "
                'agreed that things "had got on top of her".',
            )
        )
    )
    if pen.chance(0.6):
        parts.append(
            pen.one(
                (
                    "{dad_ref_C}'s views: he said he [was not aware of the concerns|wants to "
                    "see the children more|blames {mum_ref} for the situation] and [would like "
                    "to be assessed as a carer|will support the plan].",
                    "Father's views: {dad_full} [did not attend and has not engaged|sent a "
                    "message saying he supports the children staying with {mum_ref}].",
                )
            )
        )
    parts.append(
        pen.one(
            (
                "Complicating factors: [rent arrears and the threat of eviction|{mum_ref}'s "
                "own experience of care|isolation from family|{mum_ref}'s mental health] make "
                "it harder for the family to make changes.",
                "Complicating factors: [the family's housing is overcrowded|the children's "
                "father undermines the plan|{mum_ref} has struggled to trust professionals].",
            )
        )
    )
    if pen.age >= 5:
        parts.append(
            pen.one(
                (
                    "The child's views were shared by {sw}: {c} said {c_he} [loves {c_his} "
                    "mum|wants "
                    "things to be calmer at home|wants to stay at {c_school}].",
                    "{c}'s views (shared by the social worker): {c_he} [is worried about Mum|wants "
                    "{gran} to be around more|does not want to move house].",
                )
            )
        )
        draft.tag("wishes", 1)
    parts.append(
        pen.say("[Danger statement|What are we worried about?]: ")
        + " ".join(pen.say(DANGER[t]) for t in case.themes)
    )
    parts.append(" ".join(pen.say(GOAL[t]) for t in case.themes))
    parts.append(
        pen.one(
            (
                "Analysis: professionals agreed that if nothing changes, {c} will continue to "
                "experience harm.",
                "Analysis: the worries are long-standing and [mum has not yet been able to make "
                "and "
                "sustain change|the safety network is small].",
            )
        )
    )
    parts.append(
        pen.one(
            (
                "What is working well: {mum_ref} loves the children; {gran} is protective; "
                "{c} is [meeting {c_his} milestones|settled at nursery|doing well at school].",
                "Strengths: {mum_ref} engaged in the assessment and the children are attached to "
                "her.",
            )
        )
    )
    parts.append(
        pen.say(
            "Scaling (0 = the children are not safe, 10 = safe enough to "
            "close): social care [2|3], police [3|2], health [4|3], school "
            "[3|4], {mum_ref} [6|7]."
        )
    )
    decision = (
        pen.say(
            "Decision: the conference [unanimously agreed|agreed by majority] that {kids} "
            "[should|will] be made subject to a {CPP} under the category of "
        )
        + category
        + "."
    )
    if category == "neglect":
        draft.tag("neglect.general", 1)
    parts.append(decision)
    rcpc = pen.day + dt.timedelta(days=91)
    core = pen.day + dt.timedelta(days=pen.rng.randint(7, 10))
    parts.append(
        pen.say("The first core group will meet on ")
        + pen.date(core)
        + pen.say(". The {RCPC} will be held on or before ")
        + pen.date(rcpc)
        + "."
    )
    core_members = [pen.say("{mum_full}"), pen.say("{sw}"), pen.say("{gran_full}")]
    if case.child.school:
        core_members.append(pen.say("{dsl}"))
    if case.health_visitor:
        core_members.append(pen.say("{hv}"))
    parts.append(pen.say("Core group members: ") + join_names(core_members) + ".")
    parts.append(
        pen.say("[Recommendations|Outline plan]:\n")
        + "\n".join(f"- {r}" for r in _recommendations(pen))
    )
    parts.append(
        pen.one(
            (
                "Contingency: if the plan is not followed or the worries increase, a strategy "
                "discussion will be held and legal advice sought.",
                "Contingency plan: should {mum_ref} not engage, {la} will consider the {PLO}.",
            )
        )
    )
    draft.text = "\n\n".join(parts)
    state.cp_active = True
    state.icpc_date = pen.day
    state.category = category
    return draft


DANGER: dict[Theme, str] = {
    "neglect": "Professionals are worried that if {mum_ref} cannot keep the home safe and "
    "clean and make sure the children are fed, washed and taken to appointments, {c} will "
    "become unwell, fall behind in {c_his} development and feel that no one cares for "
    "{c_him}.",
    "domestic_abuse": "Professionals are worried that {c} will see or hear {perp} hurting "
    "{mum_ref} again, could be hurt if {c_he} tries to intervene, and will grow up believing "
    "violence is normal.",
    "exploitation": "Professionals are worried that {c} will continue to be groomed and used "
    "by older males to carry drugs, will go missing again and could be seriously hurt or "
    "arrested.",
    "home_alone": "Professionals are worried that if the children are left without an adult "
    "again, they could be injured in an accident or fire and nobody would be there to help.",
    "substance": "Professionals are worried that when {mum_ref} is under the influence she "
    "cannot respond to the children's needs or keep them safe.",
    "mental_health": "Professionals are worried that when {mum_ref}'s mental health is poor "
    "the children are left to look after themselves and feel responsible for her.",
    "physical": "Professionals are worried that {c} could be hurt again by an adult at home.",
}
GOAL: dict[Theme, str] = {
    "neglect": "Safety goal: everyone will know that the home is clean and safe, that there "
    "is always food, and that the children's health needs are met, for at least six months.",
    "domestic_abuse": "Safety goal: {c} will live in a home free from violence, and {mum_ref} "
    "will show she can keep {perp} away and act to protect the children.",
    "exploitation": "Safety goal: {c} will be home every night, will not go missing and will "
    "have trusted adults around {c_him} who can spot and respond to exploitation.",
    "home_alone": "Safety goal: there will always be a safe adult looking after the children.",
    "substance": "Safety goal: the children will always be cared for by a sober adult.",
    "mental_health": "Safety goal: there will always be a plan for who cares for the children "
    "when {mum_ref} is unwell.",
    "physical": "Safety goal: the children will not be physically hurt and any injury will be "
    "explained and checked.",
}


def _recommendations(pen: Pen) -> list[str]:
    options = [
        "Social worker to visit at least every 10 working days and see the children alone.",
        "{mum_ref_C} to engage with the family support worker.",
        "Safety plan to be reviewed at each core group.",
        "School to monitor attendance and presentation and share concerns the same day.",
        "Health to complete outstanding health assessments.",
    ]
    themed = {
        "domestic_abuse": "{mum_ref_C} to complete the Freedom Programme; {perp} to be "
        "referred to a perpetrator programme.",
        "exploitation": "{NRM} referral; {c} to be discussed at the exploitation (MACE) panel.",
        "substance": "{mum_ref_C} to engage with Pathways Recovery and complete hair strand "
        "testing.",
        "neglect": "Graded Care Profile 2 to be completed.",
        "mental_health": "{mum_ref_C} to be supported to see her GP about her mental health.",
    }
    options.extend(themed[t] for t in pen.case.themes if t in themed)
    chosen = pen.rng.sample(options, min(len(options), pen.rng.randint(3, 6)))
    return [pen.say(o) for o in chosen]


def rcpc_minutes(pen: Pen, *, outcome: str) -> Draft:
    """A review conference; ``outcome`` is "continue", "step_down" or "end"."""
    case, state = pen.case, pen.state
    number = len(state.rcpc_dates) + 1
    pen.s["n_ord"] = ("first", "second", "third", "fourth", "fifth", "sixth")[min(number, 6) - 1]
    title = pen.one(
        (
            "RCPC minutes",
            "Review Child Protection Conference - minutes",
            "Review conference minutes",
            "RCPC {n_ord} - {c_full}",
            "Minutes: review CP conference",
        )
    )
    draft = Draft("rcpc_minutes", title, "", subject=case.child.first)
    present, apologies = _attendance(pen, draft)
    parts = [
        pen.say("Review conference ({n_ord} review). Date: {d}. Chair: {chair}."),
        pen.say("Present: ")
        + join_names(present)
        + ". "
        + pen.say("Apologies: ")
        + join_names(apologies)
        + ".",
    ]
    progress = [
        pen.say(
            "[Progress since the last conference|Update since the {ICPC}|What "
            "has happened since last time]:"
        )
    ]
    for theme in case.themes:
        progress.append(
            obs.theme_evidence(pen.rng, pen.s, draft, theme, pen.age, active=not state.improved)
        )
    parts.append(" ".join(progress))
    parts.append(
        pen.one(
            (
                "{mum_ref_C} said [things are better|it has been a hard few months] and that she "
                "[finds the core group helpful|feels judged by professionals at times].",
                "Parents' views: {mum_ref} [wants the plan to end|accepts the plan is still "
                "needed] "
                "and said the children are [happier|doing well at school].",
            )
        )
    )
    if pen.age >= 5:
        parts.append(
            pen.say(
                "{c}'s views were shared by {sw}: {c} [said home is \"better "
                'now"|wants the social worker to stop coming|said {c_he} '
                "still worries about Mum]."
            )
        )
        draft.tag("wishes", 1)
    parts.append(
        pen.one(
            (
                "What is working well: [the safety network has grown|{gran} visits daily|"
                "attendance has improved] and {mum_ref} has been open with professionals.",
                "What is working well: {mum_ref} has [attended every core group|completed the "
                "parenting course]; the children are attached to her.",
            )
        )
    )
    if state.police_incidents:
        last_day, _ = state.police_incidents[-1]
        parts.append(
            pen.say(
                "Police: [the most recent notification was on|there has been "
                "one further police call-out, on] "
            )
            + pen.date(last_day)
            + "."
        )
        draft.tag("police", 1)
    parts.append(
        pen.one(
            (
                "Core group: [the core group has met regularly|core groups have been poorly "
                "attended "
                "by {mum_ref}] and the safety plan has been reviewed.",
                "The core group met [four|five] times; actions are [mostly complete|partly "
                "complete].",
            )
        )
    )
    if state.improved:
        parts.append(pen.say("[Scaling|Safety scale]: agencies scaled between [6|7] and [8|9]."))
    else:
        parts.append(pen.say("[Scaling|Safety scale]: agencies scaled between [2|3] and [4|5]."))
    decision = {
        "continue": pen.say(
            "Decision: {kids} [remain|will remain] subject to a {CPP} under the category of "
        )
        + state.category
        + pen.say(". Next review in six months."),
        "step_down": pen.say(
            "Decision: the {CPP} [ended|was discontinued]; {kids} will be "
            "supported under a {CINP}. The first {CIN} review will be in "
            "[four|six] weeks."
        ),
        "end": pen.say(
            "Decision: the {CPP} ended and the case will [close|step down to early help]."
        ),
    }[outcome]
    parts.append(decision)
    draft.text = "\n\n".join(parts)
    state.rcpc_dates.append(pen.day)
    if outcome != "continue":
        state.cp_active = False
        state.cin_active = outcome == "step_down"
    return draft


def cp_plan(pen: Pen) -> Draft:
    """The child protection plan agreed after the initial conference."""
    case, state = pen.case, pen.state
    title = pen.one(
        (
            "Child protection plan",
            "CP plan",
            "Child Protection Plan - {c}",
            "Outline CP plan (from ICPC)",
            "Protection plan",
        )
    )
    draft = Draft("cp_plan", title, "", subject=case.child.first)
    parts = [
        pen.say("{CPP} for {kids_names}. Category: ")
        + state.category
        + ". "
        + pen.say("Agreed at the {ICPC} on ")
        + pen.date(state.icpc_date or pen.day)
        + "."
    ]
    if state.category == "neglect":
        draft.tag("neglect.general", 1)
    outcomes = [
        "{c} will live in a home that is clean, warm and safe, with food every day.",
        "The children will not witness violence or arguments between adults.",
        "{c} will be home safely each evening and not be exploited by adults.",
        "The children will always be supervised by a safe adult.",
        "{mum_ref_C} will be sober and able to care for the children.",
        "The children's health needs will be met and appointments attended.",
    ]
    by_theme = {
        "neglect": (0, 5),
        "domestic_abuse": (1,),
        "exploitation": (2,),
        "home_alone": (3,),
        "substance": (4,),
    }
    wanted = sorted({i for t in case.themes for i in by_theme.get(t, ())} or {5})
    parts.append(
        pen.say("[Outcomes|What needs to change]:\n")
        + "\n".join(f"{n}. {pen.say(outcomes[i])}" for n, i in enumerate(wanted, 1))
    )
    actions = [
        "SW to complete statutory visits every 10 working days (responsible: {sw}).",
        "Core group to meet every four to six weeks.",
        "{mum_ref_C} to attend parenting sessions with the family support worker (by "
        "[end of the month|six weeks]).",
        "School to share attendance weekly with the SW.",
        "Health to complete outstanding health checks and share outcomes.",
    ]
    parts.append(
        pen.say("[Actions|Who will do what]:\n")
        + "\n".join(f"- {pen.say(a)}" for a in pen.rng.sample(actions, 4))
    )
    parts.append(
        pen.say(
            "Contingency: if the plan does not reduce the risk, {la} will seek "
            "legal advice[ about the {PLO}|]."
        )
    )
    draft.text = "\n\n".join(parts)
    return draft


def cin_plan(pen: Pen) -> Draft:
    """A Child in Need plan (after an assessment or a step-down)."""
    case = pen.case
    title = pen.one(
        (
            "CIN plan",
            "Child in Need plan",
            "CIN plan - {c}",
            "Child in Need plan (step down from CP)" if pen.state.rcpc_dates else "CIN plan",
        )
    )
    draft = Draft("cin_plan", title, "", subject=case.child.first)
    parts = [
        pen.say(
            "{CINP} for {kids_names}. Lead professional: {sw}. Review in [three months|12 weeks]."
        )
    ]
    age = pen.age
    needs = [
        "Support for {mum_ref} with routines and budgeting from the family support worker.",
        "{gran} to continue helping with school runs.",
        "{mum_ref_C} to take up the funded nursery hours and attend the stay-and-play group.",
    ]
    if case.has("domestic_abuse"):
        needs.append("{mum_ref_C} to continue with the Freedom Programme.")
    if age >= 5:
        needs.append("{c} to be supported by school's learning mentor weekly.")
    if age >= 8:
        needs.append("Referral to the young carers' service for {c}.")
    if age >= 11:
        needs.append("{c} to attend the youth club and keep working with {youth_worker}.")
    parts.append(
        pen.say("[What we will do|Support offered]:\n")
        + "\n".join(
            f"- {pen.say(n)}" for n in pen.rng.sample(needs, min(len(needs), pen.rng.randint(2, 4)))
        )
    )
    parts.append(
        pen.one(
            (
                "Visits will be every four weeks. {mum_ref_C} understands that if concerns "
                "increase, "
                "a strategy discussion may be needed.",
                "This is a voluntary plan; {mum_ref} has agreed to it and signed the plan.",
            )
        )
    )
    draft.text = "\n\n".join(parts)
    pen.state.cin_active = True
    return draft
