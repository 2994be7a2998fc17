"""The child's lived experience: seeing the child, alone where possible, and recording their
wishes and feelings in words that fit their age."""

from __future__ import annotations

import random

from evaluation.synthetic.model import Draft, Theme
from evaluation.synthetic.textkit import Slots, chance, fit, pick, say, say_one

BABY_OBSERVED: tuple[str, ...] = (
    "{c} was [awake|in {c_his} bouncer|on the play mat] and {I} observed {c_him} for some time. "
    "{c_he_C} [smiled and babbled|made good eye contact|reached for {mum_ref}] and settled "
    "quickly when picked up. [{mum_ref_C} responded warmly to {c_his} cues.|{mum_ref_C} "
    "was slow to respond when {c_he} cried and stayed on her phone.]",
    "{c} was asleep in {c_his} cot when {I} arrived; {I} looked in on {c_him} with "
    "{mum_ref}'s agreement. [{c_he_C} later woke and was changed and fed by {mum_ref}.|"
    "{c_he_C} appeared [well|settled] and was dressed in a clean babygro.]",
)
TODDLER_OBSERVED: tuple[str, ...] = (
    "{c} was playing with [building blocks|a toy kitchen|a tablet] and brought {me} "
    '[toys|a book] to look at. {c_he_C} has a few words and said "[Mummy|my dog|Peppa]" '
    "several times. {c_he_C} went to {mum_ref} for comfort when {c_he} bumped {c_his} head.",
    "{c} was [chatty|shy at first] and showed {me} {c_his} bedroom. When asked who lives at "
    "home {c_he} named Mummy and {sib}. {c_he_C} [seemed relaxed|was clingy to {mum_ref}].",
)
SEEN_ALONE_OPENERS: tuple[str, ...] = (
    "{I} saw {c} alone in {c_his} bedroom.",
    "{c} was seen alone at school in the [nurture room|library|learning mentor's office].",
    "{I} took {c} [for a drive|to McDonald's|for a walk to the park] so that we could talk "
    "away from the house.",
    "{c} was happy to speak to {me} on {c_his} own in the [kitchen|garden].",
    "{c} was seen on {c_his} own [at school|in the family room at the office].",
)
YOUNG_TOOLS: tuple[str, ...] = (
    "We completed the three houses together.",
    "{c} did a 'wizard and fairy' [activity|drawing] with {me}.",
    "We used the worry monster and the feelings faces cards.",
    "{c} drew a picture of {c_his} family.",
)
YOUNG_GOOD: tuple[str, ...] = (
    "In the house of good things {c} put [playing on the Xbox|{c_his} dog|swimming|going to "
    "{gran}'s|{c_his} teacher] and [{sib}|Mummy|{c_his} new bike].",
    "{c_he_C} said the best thing about home is [{c_his} bedroom|watching films with Mum|"
    "playing with {sib}].",
    "{c} said {c_he} is happy at school and has a best friend called [Leo|Ava|Ibrahim|Maya].",
)
YOUNG_WISHES: tuple[str, ...] = (
    "In the house of dreams {c} wished for [a bigger house|a puppy|everyone to stop "
    "arguing|Mum to be happy] and [to stay living with Mummy|to see Dad more|to go to "
    "Disneyland].",
    'When asked what {c_he} would change, {c} said "[nothing|I want Mum to stop being '
    'sad|I want my own bed]".',
    "{c} said {c_he} wants to stay at home with Mum and {sib}.",
    "{c} scored home as [8|6|4|9] out of 10 (10 being the happiest).",
)
# Each worry carries the tag its words evidence ("" for none).
Worry = tuple[str, str, int]
YOUNG_WORRIES: dict[str, tuple[Worry, ...]] = {
    "general": (
        ("{c}'s worries were about [children at school being mean|Mum being sad|spiders].", "", 0),
        ("{c} could not think of any worries.", "", 0),
    ),
    "domestic_abuse": (
        (
            "In the house of worries {c} said {c_he} gets scared when {perp} shouts at Mummy "
            'and "throws things".',
            "da",
            1,
        ),
        ('{c} said {c_he} "hides under the covers" when there is shouting downstairs.', "da", 1),
    ),
    "neglect": (
        (
            'In the house of worries {c} said "sometimes there\'s no food for tea" and that '
            "{c_he} is hungry at bedtime.",
            "neglect.food",
            2,
        ),
        (
            "{c} said {c_he} has no clean clothes for school and other children say {c_he} smells.",
            "neglect.hygiene",
            2,
        ),
    ),
    "home_alone": (
        (
            "{c} said {c_he} is scared when Mum goes out at night and leaves {c_him} and {sib} "
            "on their own.",
            "home_alone",
            2,
        ),
    ),
    "substance": (('{c} said Mum "sleeps a lot" and drinks "the smelly drink".', "", 0),),
}
TEEN_VIEWS: tuple[str, ...] = (
    '{c} said {c_he} does not see the point of social workers and wants to be "left alone", '
    "but agreed to keep meeting {me}.",
    "{c} wants to do [a mechanics|a construction|a hair and beauty|a sport] course at college "
    'and said {c_he} needs to "sort {c_his} attendance out" to get in.',
    '{c} said things at home are "alright" and that {c_he} gets on better with {mum_ref} '
    "[lately|than before].",
    "{c} said {c_he} would like to live with {gran} if things get bad again at home.",
    "{c} scored {c_his} safety at home as [7|5|8] out of 10 and said it would be higher if "
    "[people stopped arguing|{c_he} had {c_his} own room|Mum stopped drinking].",
    "{c} was guarded and gave one-word answers; {c_he} said {c_he} \"doesn't trust "
    'professionals" after what happened [last year|with the police].',
)
TEEN_THEME: dict[str, tuple[Worry, ...]] = {
    "exploitation": (
        (
            '{c} said {c_he} goes to {far_town} to "see mates" and would not say more. '
            "{c_he_C} denied carrying anything for anyone.",
            "exploitation.county_lines",
            1,
        ),
        (
            '{c} said {c_he} knows people are worried but "it\'s not like that"; {c_he} said '
            "{c_he} wants to stay at home and not be moved.",
            "",
            0,
        ),
    ),
    "domestic_abuse": (
        (
            "{c} said {c_he} has had to get between {mum_ref} and {perp} and that {c_he} "
            "does not want {perp} back in the house.",
            "da",
            1,
        ),
    ),
    "neglect": (
        (
            "{c} said {c_he} often buys {c_his} own food with {c_his} dinner money because "
            '"there\'s nothing in".',
            "neglect.food",
            2,
        ),
    ),
}
NOT_SEEN: tuple[str, ...] = (
    "{c} was at school so was not seen on this visit; {I} will see {c_him} at school "
    "[next week|on Thursday].",
    "{c} was seen but did not want to speak to {me} on {c_his} own, so {mum_ref} stayed in "
    "the room.",
    "{c} was [out with friends|at {gran}'s] and was not seen. This will be [followed up|"
    "addressed] as {c} has not been seen alone [for over four weeks|since the last core "
    "group].",
)


def child_voice(
    rng: random.Random,
    s: Slots,
    draft: Draft,
    age: int,
    themes: tuple[Theme, ...],
    *,
    seen_alone: bool,
    worries_active: bool,
) -> str:
    """How the child was seen and what they said; tags ``wishes`` (and theme evidence).

    A child seen alone whose views are recorded gives ``wishes`` grade 2; an observation of a
    pre-verbal child gives grade 1; a child not seen gives nothing.
    """
    if age < 2:
        draft.tag("wishes", 1)
        return say_one(rng, BABY_OBSERVED, s)
    if age < 5:
        draft.tag("wishes", 1)
        return say_one(rng, TODDLER_OBSERVED, s)
    if not seen_alone:
        return say_one(rng, NOT_SEEN, s)
    draft.tag("wishes", 2)
    parts = [say_one(rng, SEEN_ALONE_OPENERS, s)]
    theme_keys = [t for t in themes if t in YOUNG_WORRIES] if age < 11 else []
    if age < 11:
        if chance(rng, 0.6):
            parts.append(say_one(rng, YOUNG_TOOLS, s))
        parts.append(say_one(rng, YOUNG_GOOD, s))
        if worries_active and theme_keys:
            parts.append(_worry(rng, s, draft, YOUNG_WORRIES[pick(rng, theme_keys)]))
        else:
            parts.append(_worry(rng, s, draft, YOUNG_WORRIES["general"]))
        parts.append(say_one(rng, YOUNG_WISHES, s))
    else:
        parts.extend(say(rng, t, s) for t in rng.sample(fit(TEEN_VIEWS, s), 2))
        teen_keys = [t for t in themes if t in TEEN_THEME]
        if worries_active and teen_keys:
            parts.append(_worry(rng, s, draft, TEEN_THEME[pick(rng, teen_keys)]))
    return " ".join(parts)


def _worry(rng: random.Random, s: Slots, draft: Draft, options: tuple[Worry, ...]) -> str:
    usable = set(fit([o[0] for o in options], s))
    template, topic, grade = pick(rng, [o for o in options if o[0] in usable])
    if topic:
        draft.tag(topic, grade)
    return say(rng, template, s)
