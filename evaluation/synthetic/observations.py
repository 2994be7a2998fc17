"""Paragraphs about the home and the household, each tagging the draft with what it evidences.

The neglect paragraphs describe what was seen ("no food in the fridge", "smelled of urine")
and mostly avoid the word itself, as practitioners' notes do. Their decoys ("home conditions
good", "no concerns about neglect") deliberately share the vocabulary while ruling the concern
out; they tag the draft as a decoy so that no query ever judges them relevant.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from evaluation.synthetic.model import Draft
from evaluation.synthetic.textkit import Slots, fit, pick, say, say_one

AgedTemplate = tuple[int, int, str]  # youngest age, oldest age, template


def _aged(options: Sequence[AgedTemplate], age: int) -> list[str]:
    return [text for low, high, text in options if low <= age <= high]


NEGLECT_HOME: tuple[str, ...] = (
    "The home was [very cluttered and dirty|in a poor state|chaotic and unclean]. There was "
    "dog faeces on the [living room carpet|kitchen floor|landing] and a strong smell of "
    "[urine|animal urine and stale smoke] [throughout the property|as soon as the door opened].",
    "The kitchen [sides|worktops] were covered in dirty plates, [old takeaway containers|"
    "mouldy food] and [overflowing ashtrays|empty cans]; there were flies around the bin and the "
    "floor was sticky underfoot.",
    "{c}'s bedroom had no bedding; the mattress was [stained|urine-stained] and had no cover. "
    "Clothes were piled on the floor and there was [a smell of damp|black mould on the wall "
    "behind the bed].",
    "Bin bags of rubbish were stacked in the hallway and [back garden|yard]. {mum_ref_C} said "
    "the council had [not collected them|missed the collection] and a neighbour had [mentioned|"
    "complained about] rats.",
    "The house was very cold. {mum_ref_C} said the [gas|electric] meter had run out [two|three|"
    "several] days ago and there was no hot water; the children were [wearing coats|wrapped in "
    "a duvet] indoors.",
    "There were [accessible|obvious] hazards: [broken glass from a window pane on the bedroom "
    "floor|tablets loose on the coffee table|an open tin of paint and loose wiring in the "
    "hallway], within reach of the children. The stair gate was [broken|missing].",
    "The cat litter [tray|trays] had not been changed for some time and there was faeces on "
    "the stairs. [The youngest|{sib}] was crawling [close to it|on the floor nearby].",
    "There was only one [double mattress|mattress] in use in the home, shared by "
    "{mum_ref} and [all the children|the children]; the second bedroom was full of [bags of "
    "clothes|broken furniture] and could not be used.",
    "[Mould was growing on the walls and ceiling|Damp and mould covered one wall] of the "
    "children's bedroom and the window was [cracked|broken and covered with cardboard]. The "
    "carpet was [wet|stained] and [smelled|smelt] strongly.",
    "The [front room|lounge] floor was covered with [rubbish, dirty nappies and food waste|"
    "clothes, rubbish and dog mess] and there was nowhere clean for the children to play.",
)

NEGLECT_FOOD: tuple[AgedTemplate, ...] = (
    (
        0,
        17,
        "With {mum_ref}'s permission I looked in the kitchen: the fridge held [only a bottle "
        "of milk past its date and some ketchup|a half-empty bottle of squash and nothing else] "
        "and the cupboards had [a few tins of beans and no bread|some dry pasta and sugar].",
    ),
    (
        0,
        17,
        "There was no food in the [fridge|house] [apart from|other than] [a packet of "
        "biscuits|some crisps]. {mum_ref_C} said she was waiting for her [Universal Credit|money] "
        "to go in on [Monday|Thursday].",
    ),
    (
        4,
        17,
        '{c} told {me} {c_he} had not had breakfast and that there was "nothing to eat" '
        "[last night|at home yesterday].",
    ),
    (
        4,
        12,
        "School report that {c} arrives hungry [most mornings|on Mondays in particular] and "
        "has been seen [taking food from other children's lunch boxes|hiding bread rolls in "
        "{c_his} bag].",
    ),
    (
        3,
        17,
        "When [offered|given] toast, {c} ate [three|four] slices very quickly and asked if "
        "there was any more.",
    ),
    (
        0,
        1,
        "There was no formula milk for the baby. {mum_ref_C} said she had been [watering "
        "down|stretching] the last of the tin to make it last until [Monday|payday].",
    ),
    (
        0,
        17,
        "The children were given [crisps and fizzy drinks|chocolate and energy drinks] for "
        "tea; there was no sign of meals being cooked and the [cooker|oven] was [not working|"
        "thick with grease and unused].",
    ),
    (
        0,
        17,
        "A food bank voucher was [issued|arranged] as there was no food in the home and "
        "{mum_ref} had [no money|no credit] until the end of the week.",
    ),
    (
        4,
        12,
        '{c} said {c_he} is "always hungry" and that {c_he} sometimes has cereal without '
        "milk for tea.",
    ),
)

NEGLECT_HYGIENE: tuple[AgedTemplate, ...] = (
    (
        2,
        17,
        "{c} was wearing the same clothes as on {my} last visit, which were stained, and "
        "{c_he} smelled strongly of urine.",
    ),
    (
        3,
        12,
        "{c}'s hair was matted and {c_he} [was scratching|kept scratching] {c_his} head; "
        "head lice were [visible|clearly visible] and {mum_ref} said she had not [been able to "
        "treat them|got round to getting the lotion].",
    ),
    (
        0,
        2,
        "The baby's nappy was heavily soiled and there was [severe|sore, bleeding] nappy "
        "rash. {mum_ref_C} said she had run out of nappies [the day before|that morning].",
    ),
    (
        4,
        17,
        "School have raised that {c} is [coming in|arriving] unwashed with dirty uniform and "
        "that other children are [avoiding {c_him}|making comments] because of the smell.",
    ),
    (3, 17, "{c}'s teeth were visibly decayed and {c_he} said they hurt when {c_he} eats."),
    (
        3,
        17,
        "{c} had no shoes that fitted; {c_he} was wearing [trainers|school shoes] with a "
        "hole in the sole despite the rain, and no coat.",
    ),
    (
        1,
        10,
        "{c} [was|appeared] grubby, with dirt ingrained on {c_his} hands and neck, and "
        "{c_his} clothes were too small.",
    ),
)

NEGLECT_HEALTH: tuple[AgedTemplate, ...] = (
    (
        2,
        17,
        "{c} has missed [three|two|four] dental appointments and the referral to the "
        "community dental service has now been closed.",
    ),
    (
        0,
        5,
        "{c}'s immunisations are not up to date and the {HV} has had [two|three] 'no access' "
        "visits in the last month.",
    ),
    (
        1,
        17,
        "{c} was not brought to the [audiology|ophthalmology|paediatric] appointment for "
        "the second time and the hospital has discharged {c_him} back to the {GP}.",
    ),
    (
        3,
        17,
        "{c}'s [inhaler|eczema cream|epilepsy medication] had run out and the repeat "
        "prescription had not been collected from the pharmacy for [several weeks|over a month].",
    ),
    (
        1,
        3,
        "The [two-year|2 year] developmental review has not happened despite [three|several] "
        "invitations from the {HV} team.",
    ),
    (
        0,
        3,
        "{c} was 'was not brought' (WNB) to the paediatric follow-up for faltering weight; "
        "{c_his} weight has dropped [from the 25th to below the 9th centile|across two centiles].",
    ),
)

NEGLECT_IMPROVING: tuple[str, ...] = (
    "Home conditions have improved since {my} last visit. The kitchen had been cleaned, the "
    "rubbish had gone and {mum_ref} proudly showed {me} the new bunk beds from the charity.",
    "There has been progress with the house. The bedrooms were tidier and bedding had been "
    "washed, although the hallway was still cluttered.",
    "{mum_ref_C} has kept on top of the housework with support from the family support worker; "
    "the dog is now kept in the yard and the floors were clear.",
)

NEGLECT_DECOY: tuple[str, ...] = (
    "Home conditions were good: the house was clean and tidy, there was food in the fridge and "
    "cupboards, and the children's bedrooms were warm with clean bedding.",
    "No concerns about neglect. The children were clean and appropriately dressed for the "
    "weather and the home was [warm|well kept].",
    "Home conditions remain [good|of a good standard] and there are no concerns regarding the "
    "children's basic care, hygiene or diet.",
    "{mum_ref_C} showed {me} the kitchen; the fridge was well stocked and there was a meal "
    "planner on the door. There are no concerns about the children being fed.",
    "There were no hazards [observed|seen]; stair gates were in place and medication was kept "
    "in a locked cupboard. The home was clean and there is no evidence of neglect.",
    "The home was [clean and homely|tidy and welcoming] with the children's artwork on the "
    "walls; there are no concerns about home conditions or hygiene.",
    "The referral alleged there was no food in the house; on checking, the fridge and "
    "cupboards were well stocked and {mum_ref} had receipts from the weekly shop. The "
    "allegation was not substantiated.",
    "{c} was clean, well dressed and had clearly eaten; [there were no signs of head lice|"
    "{c_his} hair was neatly plaited] and {c_his} bedroom was warm with clean bedding.",
)

HOME_NEUTRAL: tuple[str, ...] = (
    "The home was [adequately|sparsely] furnished and [reasonably tidy|lived-in].",
    "[We|{I}] spoke in the [front room|kitchen]; the home was [as on previous visits|"
    "unchanged from previous visits].",
    "The [flat|house] was [busy|noisy] with the television on throughout, but otherwise "
    "[unremarkable|as expected].",
    "{I} did not look around the home on this occasion as the visit focused on {c}.",
)


def home_poor(rng: random.Random, s: Slots, draft: Draft, age: int, count: int = 1) -> str:
    """One to three sentences of explicit neglect indicators, tagging each facet at grade 2."""
    pools: list[tuple[str, list[str]]] = [
        ("neglect.home", list(NEGLECT_HOME)),
        ("neglect.food", _aged(NEGLECT_FOOD, age)),
        ("neglect.hygiene", _aged(NEGLECT_HYGIENE, age)),
        ("neglect.health", _aged(NEGLECT_HEALTH, age)),
    ]
    pools = [(facet, fit(options, s)) for facet, options in pools if options]
    weights = [4, 3, 3, 1][: len(pools)]
    chosen: list[str] = []
    used: set[str] = set()
    for _ in range(count):
        facet, options = rng.choices(pools, weights=weights, k=1)[0]
        template = pick(rng, options)
        if template in used:
            continue
        used.add(template)
        chosen.append(say(rng, template, s))
        draft.tag(facet, 2)
    return " ".join(chosen)


def neglect_health_sentence(rng: random.Random, s: Slots, draft: Draft, age: int) -> str:
    """A missed-appointment or untreated-health sentence (grade 2 for neglect.health)."""
    options = _aged(NEGLECT_HEALTH, age) or [NEGLECT_HEALTH[2][2]]
    draft.tag("neglect.health", 2)
    return say(rng, pick(rng, options), s)


def home_improving(rng: random.Random, s: Slots) -> str:
    return say_one(rng, NEGLECT_IMPROVING, s)


def home_good(rng: random.Random, s: Slots, draft: Draft) -> str:
    """A paragraph that rules neglect out in neglect's own vocabulary (a decoy)."""
    draft.decoys.add("neglect")
    return say_one(rng, NEGLECT_DECOY, s)


def home_neutral(rng: random.Random, s: Slots) -> str:
    text = say_one(rng, HOME_NEUTRAL, s)
    if rng.random() < 0.5:
        text += " " + say(
            rng,
            "[The children's bedrooms were not seen on this visit.|{c}'s "
            "bedroom was seen; it had a bed, a wardrobe and {c_his} things.|The "
            "kitchen was in use and {mum_ref} was cooking [pasta|a curry|"
            "sausages] for tea.]",
            s,
        )
    return text


HOME_ALONE: tuple[AgedTemplate, ...] = (
    (
        3,
        12,
        "Police attended at {night} after a neighbour heard a [child|baby] "
        "crying; {kids_names} were found alone in the property. {mum_ref_C} returned at [23:30|"
        '00:10] and said she had only "popped out" to a friend\'s.',
    ),
    (
        7,
        13,
        "{c} told {me} that {c_he} looks after {sib} after school until {mum_ref} gets home "
        "from work at about [8pm|half seven], and that {c_he} makes them both [noodles|toast] for "
        "tea.",
    ),
    (
        2,
        12,
        "{mum_ref_C} [acknowledged|admitted] that she had left the children on their own "
        'while she went to the [shop|pub|chemist]; she said {c} is "sensible enough" to mind '
        "the younger ones.",
    ),
    (
        5,
        12,
        "School [reported|rang to say] that {c} had said {c_he} was on {c_his} own "
        "[all weekend|overnight on Saturday] because Mum was at her boyfriend's.",
    ),
    (
        2,
        12,
        "A neighbour [reported|has told the housing officer] that the children are "
        "regularly left unsupervised in the evenings and have been seen in the street after "
        "[10pm|11pm] without an adult.",
    ),
    (
        4,
        12,
        "No adult was present when {I} arrived at [4.15pm|3.50pm]; {c} answered the door "
        'and said Mum was "at work". {I} waited and {mum_ref} arrived at [5.40pm|6.10pm].',
    ),
    (
        0,
        4,
        "Police found [the baby|{c}] asleep in the cot with no adult in the flat; "
        "[{c}'s older sibling, aged 9, was the only other person there|the door was unlocked]. "
        "{mum_ref_C} was located at a neighbour's party.",
    ),
)

SUPERVISION_DECOY: tuple[str, ...] = (
    "Police attended after an anonymous call saying the children had been left alone; on "
    "arrival {mum_ref} was at home with them and the call was found to be unfounded.",
    "{mum_ref_C} said she would never leave the children on their own, and {c} confirmed "
    "that Mum or {gran} is always there.",
    "{mum_ref_C} confirmed that the children are never left alone; {gran} collects them from "
    "school on the days she works. There are no concerns about supervision.",
    "[Childcare|Supervision] arrangements are appropriate: the children go to breakfast club "
    "and {gran} has them after school. No concerns about the children being left "
    "unsupervised.",
)


def home_alone(rng: random.Random, s: Slots, draft: Draft, age: int) -> str:
    """An explicit account of the children being left without an adult (grade 2)."""
    options = fit(_aged(HOME_ALONE, age) or [HOME_ALONE[2][2]], s)
    draft.tag("home_alone", 2)
    return _noting_police(draft, say(rng, pick(rng, options), s))


def supervision_decoy(rng: random.Random, s: Slots, draft: Draft) -> str:
    draft.decoys.add("home_alone")
    return _noting_police(draft, say_one(rng, SUPERVISION_DECOY, s))


CCE_COUNTY_LINES: tuple[str, ...] = (
    "{c} was found by police in a flat in {far_town}, [over 80 miles|a long way] from home, "
    "with two adult males; [wraps of crack cocaine and heroin|a quantity of Class A drugs] "
    "[were|was] recovered and {c} was arrested and released under investigation.",
    'Police intelligence suggests {c} is being used to run drugs on the "{line}" line '
    "between [the city|{far_town}] and {town}.",
    "{c} was stopped at {far_town} station with a train ticket bought by someone else and "
    "[£300|£420|£260] in cash [hidden in {c_his} sock|in {c_his} underwear].",
    'Messages on {c}\'s phone talk about "going country" and being "on shift"; {mum_ref} '
    "showed {me} screenshots she had taken.",
    "{c} was found [in a trap house|at an address known for drug supply] in {far_town} during "
    "a police warrant and was treated as a potential victim of exploitation.",
)
CCE_ITEMS: tuple[str, ...] = (
    "{c} has new designer clothes and trainers [(a North Face jacket, Air Max)|(a Canada Goose "
    "coat and new trainers)] that {mum_ref} cannot account for.",
    '{c} has two phones; one is a cheap [burner|"shotta"] handset which rang [constantly|'
    "several times] while {I} was there and {c} would not say who was calling.",
    "[£450|£600|A large amount of cash] was found in {c}'s bedroom along with [a set of digital "
    "scales|cling film and a knife].",
    '{c} had [a new electric scooter|a new iPhone and AirPods] and said a friend "lent" it; '
    "{mum_ref} does not believe this.",
)
CCE_ASSOCIATES: tuple[str, ...] = (
    "{c} has been seen getting into cars with older males [outside school|at the end of the "
    "road], sometimes late at night.",
    "{c} is associating with older [peers|young men] known to police for drug supply and has "
    "stopped seeing {c_his} school friends.",
    "{c} had a cut to {c_his} hand that {c_he} would not explain. {c_he_C} told the youth worker "
    '{c_he} "owes" people money and is frightened of what they will do (possible debt '
    "bondage).",
    '{c} has [started carrying|been found with] a [knife|lock knife] and said it is "for '
    'protection".',
)
CCE_DECOY: tuple[str, ...] = (
    "School queried whether {c}'s new trainers were a sign of exploitation; {mum_ref} showed "
    "{me} the receipt - they were a birthday present from {c_his} uncle. No concerns.",
    "{c} has never been reported missing and there is no intelligence linking {c_him} to "
    "older peers or drug supply.",
    "No indicators of criminal exploitation were identified; {c} has a Saturday job at the "
    "[car wash|bakery] which accounts for the money, and the employer confirmed this.",
    "There are no concerns about missing episodes or exploitation. {c} attends football "
    "training three times a week and is home by 9pm.",
)


def exploitation(rng: random.Random, s: Slots, draft: Draft, count: int = 1) -> str:
    """Explicit indicators of criminal exploitation, tagging each facet at grade 2."""
    pools = (
        ("exploitation.county_lines", CCE_COUNTY_LINES),
        ("exploitation.items", CCE_ITEMS),
        ("exploitation.associates", CCE_ASSOCIATES),
    )
    chosen: list[str] = []
    for facet, options in rng.sample(pools, min(count, len(pools))):
        chosen.append(say_one(rng, options, s))
        draft.tag(facet, 2)
    return _noting_police(draft, " ".join(chosen))


def exploitation_decoy(rng: random.Random, s: Slots, draft: Draft) -> str:
    draft.decoys.add("exploitation")
    return _noting_police(draft, say_one(rng, CCE_DECOY, s))


def _noting_police(draft: Draft, text: str) -> str:
    """A paragraph that reports what police did is (lesser) evidence of police involvement."""
    lowered = text.lower()
    if "police" in lowered and "no intelligence" not in lowered:
        draft.tag("police", 1)
    return text


DA_INCIDENT: tuple[str, ...] = (
    "{mum_ref_C} [told|disclosed to] {me} that {perp} had [pushed her into the wardrobe|"
    "grabbed her by the throat|punched her in the face] during an argument [about money|after "
    "he had been drinking] on [Friday|Saturday night]; the children were in the house.",
    "{mum_ref_C} had a [fading bruise|yellowing bruise] on her [forearm|cheekbone]; she said "
    'this was from "messing about" but later said {perp} had [grabbed|hit] her.',
    '{c} said {c_he} heard "banging and screaming" when {perp} came round [at the weekend|'
    "last week] and that {c_he} hid under the bed with {sib}.",
    "{mum_ref_C} said {perp} has been [turning up at the house|messaging her constantly] "
    "despite the bail conditions and that she is frightened of him.",
)
DA_SUPPORT: tuple[str, ...] = (
    "[We|{I}] discussed the impact of {DA} on the children and {mum_ref} agreed to continue "
    "working with {idva} (IDVA).",
    "{mum_ref_C} said she has ended the relationship with {perp} and has [applied for|been "
    "granted] a non-molestation order.",
    "{I} reminded {mum_ref} of the safety plan: {perp} is not to come to the house and she will "
    "call 999 if he does.",
    '{mum_ref_C} has started the Freedom Programme and said it has helped her "see what was '
    'happening".',
)


def _speakable(options: Sequence[str], age: int) -> list[str]:
    """Templates that quote the child, kept only for a child old enough to talk about it."""
    if age >= 4:
        return list(options)
    return [t for t in options if "{c} said" not in t and "{c} told" not in t]


def domestic_abuse(
    rng: random.Random, s: Slots, draft: Draft, incident: bool, age: int = 10
) -> str:
    """Domestic abuse: an incident account (grade 2) or support and planning (grade 1)."""
    if incident:
        draft.tag("da", 2)
        return say_one(rng, _speakable(DA_INCIDENT, age), s) + " " + say_one(rng, DA_SUPPORT, s)
    draft.tag("da", 1)
    return say_one(rng, DA_SUPPORT, s)


SUBSTANCE: tuple[str, ...] = (
    "There was a strong smell of cannabis in the flat and [a grinder|rolling papers and a "
    'grinder] on the coffee table. {mum_ref_C} said she only smokes "in the garden".',
    "[Several|A carrier bag of] empty [cider|lager] cans were by the back door. {mum_ref_C} "
    'said she has cut down to "a couple at night".',
    "{mum_ref_C} said she has been attending Pathways Recovery and her last drug test was "
    "[negative for cocaine|positive for cannabis only].",
    "{mum_ref_C} appeared [drowsy, with slurred speech|under the influence] during the visit "
    "and could not remember when {c} last ate.",
    "{mum_ref_C} is on a [methadone script|prescribed methadone] collected daily from the "
    "pharmacy and said she has not used on top for [three|six] weeks.",
)
MENTAL_HEALTH: tuple[str, ...] = (
    "{mum_ref_C} said her [depression|anxiety] has been [bad|really bad] and she has struggled "
    "to get out of bed; she is under the [community mental health team|perinatal mental health "
    "team] and has an appointment with her {GP} [next week|on Friday].",
    '{mum_ref_C} was tearful throughout and said she feels "overwhelmed". She has not been '
    "taking her sertraline regularly.",
    "{mum_ref_C} said she had thoughts of harming herself [last week|at the weekend] but has no "
    "plans; {I} encouraged her to contact the crisis team and shared the number.",
)
PHYSICAL: tuple[str, ...] = (
    "{c} had [fingertip bruising to {c_his} upper arm|a linear bruise on {c_his} thigh|a "
    "bruise behind {c_his} ear] which {mum_ref} could not explain; a child protection medical "
    "was arranged [the same day|at {hospital}].",
    '{c} told {me} {c_he} gets "smacked with the slipper" when {c_he} is naughty and that '
    "it hurts.",
    "{I} saw a [small|faint] bruise on {c}'s [upper arm|cheek|shin]; {mum_ref} said {c_he} "
    "fell off the trampoline. This is consistent with the explanation given to the {GP}.",
    "{mum_ref_C} said she has stopped using physical chastisement and now uses time-out, as "
    "discussed with the family support worker.",
)


def substance(rng: random.Random, s: Slots) -> str:
    return say_one(rng, SUBSTANCE, s)


def mental_health(rng: random.Random, s: Slots) -> str:
    return say_one(rng, MENTAL_HEALTH, s)


def physical(rng: random.Random, s: Slots, age: int = 10) -> str:
    return say_one(rng, _speakable(PHYSICAL, age), s)


def theme_evidence(
    rng: random.Random, s: Slots, draft: Draft, theme: str, age: int, *, active: bool = True
) -> str:
    """A professional's summary of one concern, as written into reports and minutes.

    Active concerns are described by what was seen (and tagged as such); an inactive neglect
    concern is described as improved, which is no evidence at all.
    """
    if theme == "neglect":
        if not active:
            return home_improving(rng, s)
        return home_poor(rng, s, draft, age, count=rng.randint(2, 3))
    if theme == "domestic_abuse":
        return domestic_abuse(rng, s, draft, incident=active, age=age)
    if theme == "exploitation":
        if not active:
            draft.tag("exploitation.general", 1)
            return say(
                rng,
                "There have been no further missing episodes [for two months|since the "
                "summer] and {c} is engaging with {cce_worker}.",
                s,
            )
        return exploitation(rng, s, draft, count=rng.randint(1, 3))
    if theme == "home_alone":
        if not active:
            return say(
                rng,
                "There have been no further reports of the children being "
                "[left on their own|unsupervised] [since the last review|recently].",
                s,
            )
        return home_alone(rng, s, draft, age)
    if theme == "substance":
        return substance(rng, s)
    if theme == "mental_health":
        return mental_health(rng, s)
    return physical(rng, s, age)
