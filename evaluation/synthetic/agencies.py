"""Contacts from partner agencies: GP and health visitor, school, police."""

from __future__ import annotations

import datetime as dt

from evaluation.synthetic import observations as obs
from evaluation.synthetic.model import Draft
from evaluation.synthetic.pen import Pen

COMPLAINTS: tuple[tuple[int, int, str], ...] = (
    (0, 17, "a chest infection"),
    (0, 12, "an ear infection"),
    (0, 17, "an eczema review"),
    (0, 17, "a rash on {c_his} back"),
    (0, 12, "constipation"),
    (3, 17, "an asthma review"),
    (0, 17, "a sickness bug"),
    (2, 17, "a sore throat"),
    (8, 17, "a sprained wrist from football"),
    (5, 10, "bedwetting"),
    (8, 17, "headaches"),
    (0, 5, "a follow-up about {c_his} weight"),
    (0, 1, "reflux"),
    (0, 1, "a high temperature"),
    (0, 1, "oral thrush"),
    (12, 17, "low mood and sleep problems"),
    (12, 17, "acne"),
)
# (titles that fit the body, body): a title never promises an email when the note is a call.
GP_NOTES: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("Telephone call to surgery", "Health - GP contact", "Call to {gp_practice}"),
        "Telephone call to {gp_practice}. Spoke to [the practice manager|reception|the practice "
        "nurse|{gp_doc}]. {c} was last seen on {appt} by {gp_doc} for {complaint}. {outcome}",
    ),
    (
        (
            "Email from {gp_doc}",
            "{GP} information request - response",
            "Health information received",
        ),
        "Email received from {gp_doc} ({gp_practice}) in response to {my} request for "
        "information. {c} attended [a face-to-face appointment|a telephone consultation] on "
        "{appt} [with {mum_ref}|accompanied by {gran}] regarding {complaint}. {outcome}",
    ),
    (
        ("Health contact", "Health update", "Doctor's appointment"),
        "{mum_ref_C} told {me} she took {c} to the doctor's on {appt} about {complaint}. {I} "
        "rang the surgery, who confirmed the appointment. {outcome}",
    ),
    (
        ("GP update", "Call with {gp_doc}", "Health - GP contact"),
        "{I} spoke with {gp_doc}, {c}'s {GP}, by phone. {c_he_C} was seen at the practice on "
        "{appt} ({complaint}). {outcome}",
    ),
    (
        ("Information from {gp_practice}", "Surgery update", "Health contact"),
        "Update from the surgery: {c} had an appointment with {gp_doc} on {appt}. Reason: "
        "{complaint}. {outcome}",
    ),
    (
        ("Call with practice nurse", "Health - practice nurse"),
        "The practice nurse at {gp_practice} confirmed {c} was seen on {appt} [by {gp_doc}|in "
        "the minor illness clinic] for {complaint}. {outcome}",
    ),
)
GP_OUTCOMES: tuple[str, ...] = (
    "[Antibiotics|A short course of antibiotics] prescribed; no safeguarding concerns noted.",
    "Cream prescribed and to be reviewed in two weeks.",
    "No concerns raised by the [doctor|practice]. {c} presented as [well|happy and chatty].",
    "Referred on to the paediatric clinic at {hospital}.",
    "Advice given; {mum_ref} to book a follow-up if not improved.",
    "The [doctor|GP] noted {c} appeared [quiet|tired] but otherwise well.",
)
GP_CONCERN: tuple[str, ...] = (
    "The practice also [advised|flagged] that {c} has missed [two|three] booked "
    "appointments [this year|since the summer] and {c_his} immunisations are overdue.",
    "The surgery noted that {mum_ref} has not collected {c}'s repeat prescription for [two|"
    "three] months.",
)


def gp_contact(pen: Pen) -> Draft:
    """A record of the child's latest GP appointment (the appointment precedes the record)."""
    appt = pen.day - dt.timedelta(days=pen.rng.randint(0, 6))
    pen.s["appt"] = pen.date(appt)
    age = pen.age
    pen.s["complaint"] = pen.one([text for low, high, text in COMPLAINTS if low <= age <= high])
    pen.s["outcome"] = pen.one(GP_OUTCOMES)
    state = pen.state
    pen.s["plan_now"] = pen.say(
        "a {CPP}" if state.cp_active else "a {CINP}" if state.cin_active else "an assessment"
    )
    titles, body = GP_NOTES[pen.rng.randrange(len(GP_NOTES))]
    draft = Draft("health_contact", pen.one(titles), "", subject=pen.case.child.first)
    parts = [pen.say(body)]
    neglect_case = pen.case.has("neglect") and not pen.state.improved
    if neglect_case and pen.chance(0.5):
        parts.append(pen.one(GP_CONCERN))
        draft.tag("neglect.health", 2)
    if pen.chance(0.3):
        parts.append(
            pen.say(
                "{I} [updated|informed] the surgery that {c} is subject to {plan_now} and asked "
                "them to share any concerns."
            )
        )
    draft.text = "\n\n".join(parts)
    draft.tag("gp", 1)
    pen.state.gp_dates.append(appt)
    return draft


HV_TITLES: tuple[str, ...] = (
    "Health visitor contact",
    "HV update",
    "Call from health visitor",
    "Health visiting - information shared",
    "Joint visit with HV",
    "{hv_team} update",
)
HV_OPENERS: tuple[str, ...] = (
    "Call from {hv}, Health Visitor ({hv_team}).",
    "{hv} ({HV}) rang to update following her [visit|contact] on {d}.",
    "Joint visit with {hv}, [the family's|{sib}'s] health visitor.",
    "Email from {hv}, {hv_team}, health visitor for the family.",
)
HV_GOOD: tuple[str, ...] = (
    "[The baby|{youngest}] is gaining weight well and is following the [50th|25th|75th] "
    "centile. {mum_ref_C} engaged well and asked about weaning.",
    "The [9-12 month|2-year] review was completed; development is within the expected "
    "range. {mum_ref_C} was warm and attentive.",
)
HV_LOW_MOOD: tuple[str, ...] = (
    "{hv} completed the Edinburgh scale with {mum_ref} (score 16) and has asked the {GP} to "
    "review her mood.",
)


def hv_contact(pen: Pen) -> Draft:
    """A contact from the health visitor, who names herself and her team (``hv`` grade 2)."""
    draft = Draft("health_contact", pen.one(HV_TITLES), "")
    youngest = max(pen.case.family.children, key=lambda c: c.born)
    pen.s["youngest"] = youngest.first
    draft.subject = youngest.first
    parts = [pen.one(HV_OPENERS)]
    age = youngest.age_on(pen.day)
    if pen.case.has("neglect") and not pen.state.improved and pen.chance(0.75):
        parts.append(obs.home_poor(pen.rng, pen.s, draft, age, count=pen.rng.randint(1, 2)))
        if pen.chance(0.5):
            parts.append(obs.neglect_health_sentence(pen.rng, pen.s, draft, age))
    elif pen.chance(0.35) and not pen.case.has("neglect"):
        parts.append(pen.one(HV_GOOD))
        parts.append(obs.home_good(pen.rng, pen.s, draft))
    else:
        parts.append(pen.one(HV_GOOD))
    if pen.case.has("mental_health") and pen.chance(0.5):
        parts.append(pen.one(HV_LOW_MOOD))
    parts.append(pen.say("[Next HV contact|{hv} will visit again] in [four|six|eight] weeks."))
    draft.text = "\n\n".join(parts)
    draft.tag("hv", 2)
    return draft


OTHER_HEALTH: tuple[tuple[int, int, str, str], ...] = (
    (
        2,
        17,
        "Dental update",
        "Community dental service confirmed {c} attended for a check-up; "
        "[two fillings needed|no decay found]. Next appointment in six months.",
    ),
    (
        5,
        17,
        "School nurse contact",
        "{school_nurse}, school nurse, completed a health review "
        "with {c} at school. Height and weight within normal range; {c} talked about "
        "[sleep|friendships|vaping at school].",
    ),
    (
        8,
        17,
        "CAMHS update",
        "{CAMHS} [have accepted the referral|have offered an initial "
        "assessment] for {c} regarding [low mood|anxiety|sleep and anger]. Waiting time is "
        "[12|18] weeks.",
    ),
    (4, 17, "Optician", "{mum_ref_C} reports {c} has had an eye test and now has glasses."),
    (
        0,
        3,
        "Audiology",
        "Audiology clinic at {hospital}: {c}'s hearing test was [normal|"
        "inconclusive and will be repeated in three months].",
    ),
    (
        0,
        2,
        "Baby clinic",
        "{c} was weighed at the baby clinic; weight [on the 50th centile|"
        "following {c_his} centile]. {mum_ref_C} asked about sleep.",
    ),
)


def other_health(pen: Pen) -> Draft:
    """A health contact that is not the GP or the health visitor (no GP/HV tags)."""
    if pen.case.has("neglect") and not pen.state.improved and pen.chance(0.5):
        draft = Draft(
            "health_contact",
            pen.one(("Dental update", "Health - missed appointments", "Hospital letter")),
            "",
        )
        draft.text = obs.neglect_health_sentence(pen.rng, pen.s, draft, max(pen.age, 2))
        draft.subject = pen.case.child.first
        return draft
    age = pen.age
    options = [(title, body) for low, high, title, body in OTHER_HEALTH if low <= age <= high]
    title, body = options[pen.rng.randrange(len(options))]
    draft = Draft("health_contact", pen.say(title), pen.say(body), subject=pen.case.child.first)
    return draft


AE_BODIES: tuple[tuple[str, str, int], ...] = (
    (
        "{c} attended {hospital} Emergency Department on {d} with a [cut to the head|sprained "
        "ankle] after falling [off a trampoline|down the stairs]; explanation consistent with "
        "injury, seen with {mum_ref}.",
        "",
        0,
    ),
    (
        "Notification from {hospital} ED: {c} attended at {night} with a [stab wound to "
        "the leg|facial injuries after an assault]. {c_he_C} would not say who was involved. "
        "Police informed.",
        "exploitation.associates",
        2,
    ),
    (
        "Paediatric liaison notification: {c} ({c_age}) was brought to ED having swallowed "
        "[some of Mum's tablets|a cleaning product] left within reach at home; observed and "
        "discharged.",
        "neglect.home",
        2,
    ),
    (
        "ED notification: {c} presented with a bruise to the [cheek|ear] and was seen by the "
        "paediatric registrar; a child protection medical was [requested|completed].",
        "",
        0,
    ),
)


def hospital_contact(pen: Pen) -> Draft:
    """An emergency department notification, chosen to fit the case's themes."""
    options = [0, 3]
    if pen.case.has("exploitation") and pen.age >= 12:
        options = [1]
    elif pen.case.has("neglect") and pen.age <= 6:
        options = [2, 0]
    body, topic, grade = AE_BODIES[pen.rng.choice(options)]
    title = pen.one(
        (
            "A&E attendance",
            "ED notification",
            "Hospital liaison notification",
            "Paediatric liaison - ED attendance",
        )
    )
    draft = Draft("health_contact", title, pen.say(body), subject=pen.case.child.first)
    if topic:
        draft.tag(topic, grade)
    if "Police informed" in draft.text:
        draft.tag("police", 1)
    return draft


SCHOOL_TITLES: tuple[str, ...] = (
    "School update",
    "Call from DSL",
    "Email from {c_school}",
    "Education update",
    "Contact with school",
    "Telephone call - {DSL}",
    "School liaison",
)


def school_contact(pen: Pen, concern: bool) -> Draft:
    """A contact from the index child's school, raising a concern or routine."""
    case = pen.case
    title = pen.one(SCHOOL_TITLES)
    if pen.chance(0.2):
        title = pen.one(("Attendance update", "Attendance and punctuality"))
    draft = Draft("school_contact", title, "", subject=case.child.first)
    opener = pen.one(
        (
            "Spoke with {dsl}, {DSL} at {c_school}.",
            "{dsl} ({DSL}, {c_school}) [rang|emailed] to share an update.",
            "Telephone call from {c_school}; {dsl} is the [DSL|designated safeguarding lead].",
            "{I} visited {c_school} and met {dsl}.",
        )
    )
    parts = [opener]
    pct = pen.rng.randint(62, 88) if concern else pen.rng.randint(93, 99)
    pen.s["pct"] = str(pct)
    if not concern:
        parts.append(
            pen.one(
                (
                    "{c}'s attendance is {pct}% this term and {c_he} is [settled|doing well|making "
                    "good progress in reading]. No concerns from school at present.",
                    "{c} is [happy|more settled] in class, attendance {pct}%. {dsl} has no new "
                    'worries and said {c} is "a different child" to last term.',
                    "Attendance {pct}%. {c} has been [chosen for the school council|on the "
                    "football "
                    "team|getting merits] and there are no safeguarding concerns.",
                )
            )
        )
        if pen.age < 5:
            parts[-1] = pen.say(
                "Attendance at nursery {pct}%. {c} is [settled|playing well with others|"
                "talking more] and staff have no concerns."
            )
        if pen.chance(0.3) and not (case.has("neglect") and not pen.state.improved):
            parts.append(
                pen.one(
                    (
                        "{c} always comes in clean, well presented and with a packed "
                        "lunch; school have no concerns about neglect.",
                    )
                )
            )
            draft.decoys.add("neglect")
        if pen.age >= 12 and not case.has("exploitation") and pen.chance(0.4):
            parts.append(obs.exploitation_decoy(pen.rng, pen.s, draft))
        draft.tag("school.update", 1)
        draft.text = "\n\n".join(parts)
        return _maybe_email(pen, draft)
    parts.append(
        pen.one(
            (
                "{c}'s attendance has dropped to {pct}% this term (persistent absence); [most "
                "absences "
                "are unauthorised|{mum_ref} has rung in sick on Mondays] and {c} is often late.",
                "Attendance is {pct}%. {c} has missed [11|14|9] sessions in the last four weeks "
                "and "
                "school have [issued an attendance warning|referred to the Education Welfare "
                "Officer].",
                "Attendance {pct}% with [several|repeated] unexplained absences; {c} has been late "
                "[most mornings|three times this week].",
            )
        )
    )
    theme_added = False
    active_neglect = case.has("neglect") and not pen.state.improved
    if active_neglect and pen.chance(0.8):
        parts.append(
            pen.one(
                (
                    "{dsl} said {c} has come in [hungry|without breakfast] again and was given "
                    "toast "
                    "in the nurture room.",
                    "{c} is arriving unwashed, in dirty uniform that smells of urine, and has "
                    "head lice "
                    "that have not been treated for weeks.",
                    "{c} has no coat and holes in {c_his} shoes; staff have given {c_him} spare "
                    "uniform.",
                )
            )
        )
        text = parts[-1]
        draft.tag("neglect.food" if "toast" in text else "neglect.hygiene", 2)
        theme_added = True
    if case.has("home_alone") and pen.chance(0.6):
        parts.append(
            pen.one(
                (
                    '{c} told [the class teacher|a teaching assistant] that {c_he} was "on my own '
                    'all night" because Mum went out.',
                    "{c} said {c_he} had to get {sib} ready and walk [{sib}|them] to school "
                    "because "
                    "no adult was home.",
                )
            )
        )
        draft.tag("home_alone", 2)
        theme_added = True
    if case.has("exploitation") and pen.age >= 11 and pen.chance(0.8):
        parts.append(
            pen.one(
                (
                    "{c} has been seen at the school gate with older males in a car and is leaving "
                    "site at lunchtime. {c_he_C} had a new phone and a lot of cash in {c_his} "
                    "blazer.",
                    "{c} has been missing from lessons and staff believe {c_he} is being picked "
                    "up by "
                    "older boys; {c_he} was found with [£200|£350] and two phones.",
                )
            )
        )
        draft.tag("exploitation.associates", 2)
        draft.tag("exploitation.items", 2)
        theme_added = True
    if case.has("domestic_abuse") and not theme_added and pen.chance(0.6):
        parts.append(
            pen.one(
                (
                    '{c} told {c_his} teacher that "Dad hit Mum again" and was upset all morning.',
                    "{c} has been [withdrawn|tearful] and said there was shouting at home at the "
                    "weekend.",
                )
            )
        )
        draft.tag("da", 1)
        theme_added = True
    if not theme_added:
        parts.append(
            pen.one(
                (
                    "{dsl} is worried about {c}'s [behaviour|low mood|friendships] and has made a "
                    "referral to the school counsellor.",
                    "{c} received a [fixed-term suspension|one-day internal exclusion] for "
                    "[swearing at staff|fighting in the playground].",
                    "The {SENCO} is considering an application for an {EHCP} because {c} is "
                    "struggling with [literacy|regulating {c_his} emotions].",
                )
            )
        )
    parts.append(
        pen.one(
            (
                "{I} agreed to discuss this with {mum_ref} at the next visit.",
                "This will be shared at the core group.",
                "School to [continue to monitor|keep me updated] and log concerns on CPOMS.",
            )
        )
    )
    draft.tag("school.concern", 2)
    draft.text = "\n\n".join(parts)
    return _maybe_email(pen, draft, drop_closing=True)


def operation_encompass(pen: Pen) -> Draft:
    """School's note of an Operation Encompass notification after a domestic incident."""
    title = pen.one(
        (
            "Operation Encompass",
            "Call from DSL - Operation Encompass",
            "School update (Operation Encompass)",
        )
    )
    draft = Draft("school_contact", title, "", subject=pen.case.child.first)
    parts = [
        pen.say(
            "{dsl} ({c_school}) rang: school received an Operation Encompass notification "
            "this morning that police attended a domestic incident at {c}'s home "
            "[last night|over the weekend]."
        ),
        pen.one(
            (
                "{c} was [quiet|tearful|tired] in class and was offered time with the learning "
                "mentor.",
                '{c} came in [late|without breakfast] and said "Mum and {perp} were fighting".',
                "Staff have kept a close eye on {c}; {c_he} [seemed ok|was unsettled at lunch].",
            )
        ),
        pen.say("School will [continue to monitor|log on CPOMS and update the SW]."),
    ]
    if pen.age < 4:
        parts[1] = pen.say("Nursery staff noted {c} was [unsettled|clingy] at drop-off.")
    draft.text = "\n\n".join(parts)
    draft.tag("school.concern", 2)
    draft.tag("da", 1)
    draft.tag("police", 1)
    opener = pen.say(
        "We received an Operation Encompass notification this morning: police "
        "attended a domestic incident at {c}'s home [last night|at the weekend]."
    )
    return _maybe_email(pen, draft, email_opener=opener, drop_closing=True)


def _maybe_email(
    pen: Pen, draft: Draft, *, email_opener: str = "", drop_closing: bool = False
) -> Draft:
    """Some school contacts reach the file as a pasted email (doc_type "email").

    The social worker's framing (first paragraph, and the closing action when
    ``drop_closing``) is replaced by the sender's own greeting and sign-off.
    """
    if not pen.chance(0.25):
        return draft
    sender = pen.s["dsl"].split(" ", 1)[-1]
    domain = pen.s["c_school"].split()[0].lower().replace("'", "")
    address = sender.lower().replace(" ", ".") + "@" + domain + ".sch.uk"
    paragraphs = draft.text.split("\n\n")[1:]
    if drop_closing and len(paragraphs) > 1:
        paragraphs = paragraphs[:-1]
    body = "\n\n".join(paragraphs).replace(pen.s["dsl"] + " said ", "")
    subject = pen.one(
        (
            "Update on {c}",
            "{c} - concerns",
            "{c} - attendance",
            "Re: {c}",
            "Safeguarding update - {c}",
            "{c} this week",
        )
    )
    opener = email_opener or pen.one(
        (
            "Just a quick update on {c}.",
            "I wanted to let you know how {c} is getting on.",
            "Update as promised.",
        )
    )
    draft.doc_type = "email"
    draft.title = pen.say("Email from {dsl}: ") + subject
    draft.text = (
        f"From: {sender} <{address}>\nTo: {pen.s['sw']}\nSubject: {subject}\n\n"
        + pen.say("Hi {sw_first},\n\n")
        + opener
        + "\n\n"
        + body
        + "\n\n"
        + pen.say(
            "[I have logged this on CPOMS.|Happy to discuss.|Let me know if you need "
            "anything else.]\n\n[Kind regards|Many thanks|Best wishes],\n"
        )
        + sender
        + pen.say(" ({DSL}, {c_school})")
    )
    return draft
