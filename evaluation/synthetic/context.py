"""One case's cast (family, professionals, allocated workers) and the slots its templates use."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Literal

from evaluation.synthetic import people
from evaluation.synthetic.model import Theme
from evaluation.synthetic.people import Child, Family, Person, Staff
from evaluation.synthetic.textkit import Slots, join_names, pick, uk_date

Pathway = Literal["cp", "cin"]

# Each abbreviation is written in several ways, re-chosen for every document, so that a
# search has to cope with "ICPC", "initial child protection conference" and the rest.
ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "ICPC": (
        "ICPC",
        "ICPC",
        "Initial Child Protection Conference",
        "initial conference",
        "initial child protection conference (ICPC)",
    ),
    "RCPC": (
        "RCPC",
        "RCPC",
        "Review Child Protection Conference",
        "review conference",
        "review CP conference",
    ),
    "CP": ("CP", "CP", "child protection"),
    "CPP": ("CP plan", "CP plan", "child protection plan", "CPP"),
    "CIN": ("CIN", "CIN", "Child in Need", "child in need"),
    "CINP": ("CIN plan", "Child in Need plan", "CIN plan"),
    "CLA": ("LAC", "CLA", "looked after", "child looked after"),
    "PLO": ("PLO", "PLO", "Public Law Outline", "pre-proceedings (PLO)"),
    "S47": ("s47", "S47", "section 47", "Section 47", "s.47"),
    "DA": ("DA", "DA", "domestic abuse", "domestic violence", "DV"),
    "CCE": ("CCE", "CCE", "child criminal exploitation", "criminal exploitation"),
    "CSE": ("CSE", "child sexual exploitation"),
    "MASH": ("MASH", "MASH", "the Multi-Agency Safeguarding Hub", "the front door (MASH)"),
    "LADO": ("LADO", "the LADO", "the Local Authority Designated Officer"),
    "EHCP": ("EHCP", "EHCP", "Education, Health and Care Plan", "EHC plan"),
    "SENCO": ("SENCO", "SENCo", "special educational needs coordinator"),
    "HV": ("HV", "HV", "health visitor"),
    "DSL": ("DSL", "DSL", "designated safeguarding lead", "safeguarding lead"),
    "GP": ("GP", "GP", "GP", "family doctor"),
    "PPN": ("PPN", "PPN", "Public Protection Notice", "police PPN", "Merlin", "MERLIN report"),
    "MARAC": ("MARAC", "MARAC", "Multi-Agency Risk Assessment Conference"),
    "NRM": ("NRM", "National Referral Mechanism"),
    "RHI": ("RHI", "return home interview", "return home conversation"),
    "CAMHS": ("CAMHS", "CAMHS", "child and adolescent mental health services"),
    "SW": ("SW", "social worker"),
    "TM": ("TM", "team manager"),
}


@dataclass(frozen=True, slots=True)
class Allocation:
    start: dt.date
    worker: Staff


@dataclass(slots=True)
class CaseFile:
    """Everything fixed about one case before its documents are written."""

    case_id: str
    number: int
    team: str
    themes: tuple[Theme, ...]
    pathway: Pathway
    family: Family
    opened: dt.date
    last_activity: dt.date
    allocations: tuple[Allocation, ...]
    manager: Staff
    chair: Staff
    mash_worker: Staff
    doctor: str
    practice: str
    health_visitor: str | None
    dsl: str
    senco: str
    school_nurse: str
    officer: str
    idva: str
    exploitation_worker: str
    youth_worker: str
    perpetrator: Person
    perpetrator_label: str
    far_town: str
    line_name: str
    conflict_of_interest: bool
    closed: bool
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def child(self) -> Child:
        return self.family.index_child

    def has(self, theme: Theme) -> bool:
        return theme in self.themes

    def worker_on(self, day: dt.date) -> Staff:
        """The social worker allocated on ``day``."""
        current = self.allocations[0].worker
        for allocation in self.allocations:
            if allocation.start <= day:
                current = allocation.worker
        return current

    def slots(self, rng: random.Random, day: dt.date, author: Staff | None = None) -> Slots:
        """Template values for a document written on ``day`` by ``author``."""
        fam = self.family
        child = fam.index_child
        worker = self.worker_on(day)
        writer = author or worker
        style = sum(map(ord, writer.user)) % 5
        first_person = style in (0, 2, 4)
        s = Slots()
        s["c"] = child.first
        s["c_full"] = child.person.full
        s["c_age"] = child.age_text(day)
        s["c_dob"] = child.born.strftime("%d/%m/%Y")
        s["c_he"], s["c_him"], s["c_his"] = child.he, child.him, child.his
        s["c_school"] = child.school or "nursery"
        sibs = fam.siblings
        s["has_sib"] = "yes" if sibs else "no"
        s["sib"] = sibs[0].first if sibs else fam.grandparent.first
        s["sib_age"] = sibs[0].age_text(day) if sibs else s["c_age"]
        s["sibs"] = join_names([c.first for c in sibs]) if sibs else ""
        s["sibs_be"] = "was" if len(sibs) == 1 else "were"
        s["kids"] = "the children" if sibs else child.first
        s["kids_names"] = join_names([c.first for c in fam.children])
        s["kids_ages"] = join_names([f"{c.first} ({c.age_text(day)})" for c in fam.children])
        s["n_kids"] = str(len(fam.children))
        mum, dad = fam.mother, fam.father
        s["mum"], s["mum_full"], s["mum_title"] = mum.first, mum.full, mum.title
        s["mum_ref"] = ("Mum", mum.title, mum.first, "mother", "Mum")[style]
        s["dad"], s["dad_full"], s["dad_title"] = dad.first, dad.full, dad.title
        s["dad_ref"] = ("Dad", dad.title, dad.first, "father", "Dad")[style]
        perp = self.perpetrator
        s["perp"], s["perp_full"], s["perp_title"] = perp.first, perp.full, perp.title
        s["perp_rel"] = self.perpetrator_label
        gran = fam.grandparent
        s["gran"], s["gran_full"], s["gran_rel"] = gran.first, gran.full, fam.grandparent_label
        s["addr"], s["town"], s["far_town"] = fam.address, fam.town.name, self.far_town
        s["line"] = self.line_name
        s["dsl"], s["senco"], s["school_nurse"] = self.dsl, self.senco, self.school_nurse
        s["gp_doc"], s["gp_practice"] = self.doctor, self.practice
        s["hv"] = self.health_visitor or "the health visitor"
        s["hv_team"] = f"{fam.town.name} 0-19 Service"
        s["hospital"] = fam.town.hospital
        s["officer"], s["force"] = self.officer, people.POLICE_FORCE
        s["idva"], s["cce_worker"] = self.idva, self.exploitation_worker
        s["youth_worker"] = self.youth_worker
        s["sw"], s["sw_first"] = worker.name, worker.name.split()[0]
        s["tm"], s["chair"], s["mash_worker"] = (
            self.manager.name,
            self.chair.name,
            self.mash_worker.name,
        )
        s["author"] = writer.name
        s["I"] = "I" if first_person else "SW"
        s["me"] = "me" if first_person else "SW"
        s["my"] = "my" if first_person else "SW's"
        s["we"] = "we" if first_person else "professionals"
        s["la"] = f"{people.LOCAL_AUTHORITY} Children's Services"
        s["case_id"] = self.case_id
        for key, options in ABBREVIATIONS.items():
            s[key] = pick(rng, options)
        s["d"] = fmt_date(rng, day)
        hour = rng.choice((19, 20, 21, 22, 23, 0, 1, 2, 3))
        s["night"] = f"{hour:02d}:{rng.randrange(60):02d}"
        for name, value in self.extra.items():
            s[name] = value
        return s


def fmt_date(rng: random.Random, day: dt.date) -> str:
    """``day`` in one of the UK styles case recorders use."""
    return uk_date(day, rng.randrange(6))


def perpetrator_for(rng: random.Random, family: Family) -> tuple[Person, str]:
    """Who the domestic abuse concerns are about, and how records refer to him."""
    if family.partner is not None and rng.random() < 0.7:
        return family.partner, pick(rng, ("Mum's partner", "mother's partner", "Mum's boyfriend"))
    return family.father, pick(rng, ("father", "Dad", "the children's father"))
