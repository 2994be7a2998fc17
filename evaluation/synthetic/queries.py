"""Queries and graded judgements, derived from how each document was written.

Per-case queries (a social worker's questions) are scoped to one case; cross-case queries (a
QA officer's) judge every document. Grades: 2 = the answer (or explicit evidence), 1 =
relevant but not the best. Decoys ("no concerns about neglect") carry no tag of their family
and are never judged relevant. A query is only emitted when at least one document answers it
at grade 2.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from evaluation.synthetic.context import CaseFile
from evaluation.synthetic.model import (
    EXPLOITATION_FACETS,
    NEGLECT_FACETS,
    QueryKind,
    SyntheticDocument,
    topic_family,
)
from evaluation.synthetic.textkit import pick

CASE_PHRASINGS: dict[QueryKind, tuple[str, ...]] = {
    "current_safety_plan": (
        "current safety plan",
        "latest safety plan",
        "what's the safety plan now",
        "most recent safety agreement",
        "saftey plan",
        "current saftey plan",
        "safety plan in place at the moment",
        "what are the rules in {c}'s safety plan at the moment",
        "newest version of the safety plan",
        "what safety arrangements are currently agreed",
        "up to date safety plan for {c}",
        "what has mum agreed to do to keep the kids safe now",
        "whats the current saftey agreement",
        "most recent safety plan",
    ),
    "gp_last_seen": (
        "when was {he} last seen by the GP",
        "latest GP appointment",
        "last doctor visit",
        "when did {c} last see a doctor",
        "most recent GP contact",
        "last seen by gp",
        "has {c} been to the doctors recently",
        "last GP appt",
        "when was {c} last at the surgery",
        "latest info from the GP",
        "last docter appointment",
    ),
    "police_involvement": (
        "any police involvement",
        "has the police been involved with this family",
        "police callouts",
        "PPNs for this family",
        "police incidents at the address",
        "polcie involvement",
        "have police attended the home",
        "police notifications",
        "any merlins for {c}",
        "police history",
    ),
    "strategy_discussion": (
        "latest strategy discussion",
        "strategy meeting outcome",
        "what was decided at the last strategy meeting",
        "most recent strat",
        "outcome of the strategy discussion",
        "s47 strategy decision",
        "stratergy discussion",
        "last strategy meeting actions",
    ),
    "school_concerns": (
        "school attendance",
        "any concerns from school",
        "what has the DSL said",
        "is {c} going to school",
        "attendence concerns",
        "school worries about {c}",
        "education concerns",
        "what is school saying about {him}",
        "persistent absence",
    ),
    "health_visitor": (
        "who is the health visitor",
        "health visitor name",
        "HV details",
        "who's the HV for the baby",
        "helth visitor",
        "what did the health visitor say",
        "health visitor contact",
    ),
    "missing_episodes": (
        "missing episodes",
        "has {c} gone missing",
        "missing from home reports",
        "return home interviews",
        "how many times has {he} been missing",
        "mising episodes",
        "missing person reports for {c}",
    ),
    "domestic_abuse": (
        "domestic abuse incidents",
        "any DV call outs",
        "domestic violence at home",
        "incidents between mum and {perp}",
        "DA history",
        "has {perp} hurt mum",
        "domestic abuse",
    ),
    "wishes_feelings": (
        "what has {c} said about home",
        "child's wishes and feelings",
        "voice of the child",
        "what does {c} want",
        "was {c} seen alone",
        "{c}'s views",
        "what did {c} say when seen alone",
        "childs wishes and feelings",
    ),
    "conference_outcome": (
        "latest conference outcome",
        "what was decided at the last review conference",
        "is {c} still on a CP plan",
        "RCPC outcome",
        "most recent child protection conference decision",
        "what category is the plan under",
        "outcome of last conferance",
    ),
    "last_visit": (
        "when was the last home visit",
        "last visit to the family",
        "when did the social worker last see {c}",
        "most recent statutory visit",
        "latest home visit note",
        "when was {c} last visited",
    ),
}

# A second set of per-case phrasings, written apart from the first and never used to tune the
# query rules: `casesearch eval synthetic --phrasings held-out` asks the same questions of the
# same records in these words, to show how far the rules carry to wording they were not read
# against. Keep it that way: a rule added because of a phrasing here spoils the check.
HELD_OUT_CASE_PHRASINGS: dict[QueryKind, tuple[str, ...]] = {
    "current_safety_plan": (
        "safety plan",
        "what safety plan is in place",
        "is there a safety plan for {c}",
        "show me the safety plan",
        "latest version of the safety plan",
        "current plan to keep {c} safe",
        "what was agreed in the safety plan",
        "recent saftey plan",
    ),
    "gp_last_seen": (
        "GP",
        "last GP visit",
        "when did {he} last see the GP",
        "GP contact",
        "last time at the doctor",
        "recent GP visit for {c}",
        "when was {c} last seen by a doctor",
        "last appointment with the GP",
    ),
    "police_involvement": (
        "police",
        "police reports",
        "has there been police involvement",
        "police called to the house",
        "police contact with the family",
        "any police incidents",
    ),
    "strategy_discussion": (
        "strategy discussion",
        "strategy meeting",
        "what did the strategy discussion decide",
        "section 47 strategy meeting",
        "last strategy discussion outcome",
    ),
    "school_concerns": (
        "school",
        "school concerns",
        "what does the school say",
        "is {c} attending school",
        "absence from school",
    ),
    "health_visitor": (
        "health visitor",
        "HV visit",
        "health visitor involvement",
        "who is {c}'s health visitor",
    ),
    "missing_episodes": (
        "missing",
        "missing from home",
        "times {c} went missing",
        "missing episodes and return interviews",
    ),
    "domestic_abuse": (
        "domestic violence",
        "DV incidents",
        "domestic abuse in the home",
        "violence between the parents",
    ),
    "wishes_feelings": (
        "what {c} told us",
        "{c}'s wishes",
        "child's voice",
        "how does {c} feel about home",
        "seen alone",
    ),
    "conference_outcome": (
        "conference outcome",
        "child protection conference decision",
        "ICPC outcome",
        "review conference",
        "is the CP plan continuing",
    ),
    "last_visit": (
        "last visit",
        "latest statutory visit",
        "when was {c} last seen at home",
        "last time the social worker visited",
        "recent home visit",
    ),
}
PhrasingSet = Literal["tuning", "held-out"]
PHRASING_SETS: dict[PhrasingSet, dict[QueryKind, tuple[str, ...]]] = {
    "tuning": CASE_PHRASINGS,
    "held-out": HELD_OUT_CASE_PHRASINGS,
}

# (text, facet): facet "all" means any facet of the family counts at full grade.
NEGLECT_QUERIES: tuple[tuple[str, str], ...] = (
    ("instances of neglect", "all"),
    ("signs of neglect", "all"),
    ("neglect concerns", "all"),
    ("neglectful parenting", "all"),
    ("instances of neglet", "all"),
    ("poor home conditions", "neglect.home"),
    ("dirty and unsafe home", "neglect.home"),
    ("unhygienic living conditions", "neglect.home"),
    ("children not being fed", "neglect.food"),
    ("no food in the house", "neglect.food"),
    ("child hungry", "neglect.food"),
    ("children with poor hygiene", "neglect.hygiene"),
    ("child smelly and unkempt", "neglect.hygiene"),
    ("dirty clothes and poor hygiene", "neglect.hygiene"),
    ("missed health appointments", "neglect.health"),
    ("child not brought to medical or dental appointments", "neglect.health"),
    ("health needs not being met", "neglect.health"),
)
HOME_ALONE_QUERIES: tuple[str, ...] = (
    "children left home alone",
    "left unsupervised",
    "young children without an adult at home",
    "child looking after younger siblings on their own",
    "kids left on their own at night",
    "home alone",
)
EXPLOITATION_QUERIES: tuple[tuple[str, str], ...] = (
    ("signs of criminal exploitation", "all"),
    ("child criminal exploitation concerns", "all"),
    ("CCE indicators", "all"),
    ("criminal exploitaiton", "all"),
    ("county lines", "exploitation.county_lines"),
    ("drug running out of area", "exploitation.county_lines"),
    ("going country", "exploitation.county_lines"),
    ("unexplained money or new phones", "exploitation.items"),
    ("unexplained new clothes and cash", "exploitation.items"),
    ("older males picking children up in cars", "exploitation.associates"),
    ("young person associating with older gang members", "exploitation.associates"),
    ("young people going missing and found out of area", "exploitation.missing"),
)

TYPOS: dict[str, str] = {
    "safety": "saftey",
    "strategy": "stratergy",
    "police": "polcie",
    "appointment": "appointmnet",
    "discussion": "discusion",
    "school": "shcool",
    "attendance": "attendence",
    "missing": "mising",
    "visitor": "vistor",
    "doctor": "docter",
    "health": "helth",
    "unsupervised": "unsupervized",
    "hygiene": "hygeine",
    "conditions": "condtions",
    "children": "childen",
    "domestic": "domestc",
    "neglect": "neglet",
    "exploitation": "exploitaiton",
}


@dataclass(frozen=True, slots=True)
class Judged:
    """A query before it is numbered."""

    text: str
    kind: QueryKind
    case_id: str | None
    judgements: dict[str, int]


def case_queries(
    rng: random.Random,
    case: CaseFile,
    documents: Sequence[SyntheticDocument],
    phrasings: Mapping[QueryKind, Sequence[str]] = CASE_PHRASINGS,
) -> list[Judged]:
    """The social worker's questions about one case, each with at least one grade-2 answer.

    ``phrasings`` gives the wordings of each kind; the judgements of a kind do not depend on
    it (the random draws do, so another set may ask a kind once more or less).
    """
    judged: list[Judged] = []
    for kind in CASE_PHRASINGS:
        judgements = _case_judgements(kind, documents)
        if 2 not in judgements.values():
            continue
        repeats = 1
        if kind == "current_safety_plan" and rng.random() < 0.4:
            repeats = 2
        if kind in ("health_visitor", "domestic_abuse") and rng.random() < 0.35:
            continue
        if kind in ("conference_outcome", "last_visit") and rng.random() < 0.5:
            continue
        texts = rng.sample(list(phrasings[kind]), repeats)
        for template in texts:
            text = _fill(template, case)
            judged.append(Judged(_maybe_typo(rng, text), kind, case.case_id, judgements))
    return judged


def _case_judgements(kind: QueryKind, documents: Sequence[SyntheticDocument]) -> dict[str, int]:
    if kind == "current_safety_plan":
        return _latest_is_best([d for d in documents if d.doc_type == "safety_plan"])
    if kind == "gp_last_seen":
        return _latest_is_best([d for d in documents if "gp" in d.tags])
    if kind == "strategy_discussion":
        return _latest_is_best([d for d in documents if d.doc_type == "strategy_discussion"])
    if kind == "conference_outcome":
        conferences = ("icpc_minutes", "rcpc_minutes")
        return _latest_is_best([d for d in documents if d.doc_type in conferences])
    if kind == "last_visit":
        return _latest_is_best([d for d in documents if "visit" in d.tags])
    topic = {
        "police_involvement": ("police",),
        "school_concerns": ("school.concern", "school.update"),
        "health_visitor": ("hv",),
        "missing_episodes": ("missing",),
        "domestic_abuse": ("da",),
        "wishes_feelings": ("wishes",),
    }[kind]
    judgements: dict[str, int] = {}
    for doc in documents:
        grade = max((doc.tags.get(t, 0) for t in topic), default=0)
        if kind == "school_concerns" and "school.concern" not in doc.tags and grade:
            grade = 1
        if grade:
            judgements[doc.id] = grade
    return judgements


def _latest_is_best(candidates: list[SyntheticDocument]) -> dict[str, int]:
    if not candidates:
        return {}
    ordered = sorted(candidates, key=lambda d: (d.created_at, d.id))
    judgements = {d.id: 1 for d in ordered}
    judgements[ordered[-1].id] = 2
    return judgements


def cross_case_queries(rng: random.Random, documents: Sequence[SyntheticDocument]) -> list[Judged]:
    """The QA officer's pattern queries across every case."""
    judged: list[Judged] = []
    for text, facet in NEGLECT_QUERIES:
        judgements = _family_judgements(documents, "neglect", NEGLECT_FACETS, facet)
        if facet == "all":
            for doc in documents:
                if doc.tags.get("home_alone") and "neglect" not in doc.decoys:
                    judgements.setdefault(doc.id, 1)
        _add(judged, rng, text, "neglect_pattern", judgements)
    for text in HOME_ALONE_QUERIES:
        judgements = {d.id: d.tags["home_alone"] for d in documents if d.tags.get("home_alone")}
        _add(judged, rng, text, "home_alone", judgements)
    for text, facet in EXPLOITATION_QUERIES:
        judgements = _family_judgements(documents, "exploitation", EXPLOITATION_FACETS, facet)
        _add(judged, rng, text, "exploitation", judgements)
    return judged


def _family_judgements(
    documents: Sequence[SyntheticDocument], family: str, facets: tuple[str, ...], facet: str
) -> dict[str, int]:
    """Grade 2 for explicit evidence of ``facet`` (or of any facet for "all"); 1 for other
    evidence in the family; nothing for decoys."""
    judgements: dict[str, int] = {}
    for doc in documents:
        if family in doc.decoys:
            continue
        related = {t: g for t, g in doc.tags.items() if topic_family(t) == family}
        if not related:
            continue
        wanted = facets if facet == "all" else (facet,)
        if any(related.get(f) == 2 for f in wanted):
            judgements[doc.id] = 2
        else:
            judgements[doc.id] = 1
    return judgements


def _add(
    judged: list[Judged], rng: random.Random, text: str, kind: QueryKind, judgements: dict[str, int]
) -> None:
    if 2 in judgements.values():
        judged.append(Judged(_maybe_typo(rng, text, 0.06), kind, None, judgements))


def _fill(template: str, case: CaseFile) -> str:
    child = case.child
    return template.format(
        c=child.first, he=child.he, him=child.him, his=child.his, perp=case.perpetrator.first
    )


def _maybe_typo(rng: random.Random, text: str, probability: float = 0.1) -> str:
    """Occasionally misspell one word, as people type into a search box."""
    if rng.random() >= probability:
        return text
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if w.lower() in TYPOS]
    if not candidates:
        return text
    i = pick(rng, candidates)
    words[i] = TYPOS[words[i].lower()]
    return " ".join(words)
