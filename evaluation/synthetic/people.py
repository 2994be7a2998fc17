"""Fictional people and places: families, staff rosters, schools, surgeries and towns.

Every name and address here is invented. Families draw their names from one of several
heritage pools (with some mixed households) so that the collection reflects the diversity of
an English local authority's caseload without borrowing any real person.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass

from evaluation.synthetic.textkit import pick

TEAMS: tuple[str, ...] = ("north-1", "south-2")
LOCAL_AUTHORITY = "Westshire"
POLICE_FORCE = "Westshire Police"


@dataclass(frozen=True, slots=True)
class NamePool:
    women: tuple[str, ...]
    men: tuple[str, ...]
    girls: tuple[str, ...]
    boys: tuple[str, ...]
    surnames: tuple[str, ...]


def _names(joined: str) -> tuple[str, ...]:
    return tuple(joined.split("|"))


NAME_POOLS: tuple[NamePool, ...] = (
    NamePool(
        women=_names(
            "Leanne|Kelly|Gemma|Stacey|Amy|Chloe|Jade|Danielle|Sophie|Lauren|Hayley|Kirsty|"
            "Natalie|Becky|Shannon"
        ),
        men=_names("Darren|Liam|Craig|Jamie|Ryan|Lee|Scott|Dean|Connor|Kyle|Aaron|Jordan|Wayne"),
        girls=_names(
            "Lily-Mae|Ava|Poppy|Isla|Evie|Freya|Millie|Ruby|Grace|Summer|Harper|Ellie|Macy|Darcie"
        ),
        boys=_names(
            "Alfie|Riley|Tyler|Charlie|Harley|Jake|Mason|Kayden|Leo|Oscar|Freddie|Tommy|"
            "Bradley|Reece"
        ),
        surnames=_names(
            "Carter|Hughes|Walsh|Bennett|Marsh|Pickering|Gray|Dobson|Fletcher|Harrison|"
            "Kershaw|Sutcliffe|Lowe|Barker|Rowley|Whitworth|Tindall"
        ),
    ),
    NamePool(
        women=_names("Samina|Nazia|Farzana|Rubina|Priya|Sunita|Shabana|Ayesha|Rukhsana|Nasreen"),
        men=_names("Imran|Tariq|Asif|Mohammed|Rakesh|Sajid|Nadeem|Arif|Shahid|Kamran"),
        girls=_names("Amira|Zara|Inaya|Maryam|Aisha|Anaya|Hafsa|Simran|Alisha|Safa"),
        boys=_names("Zayn|Ibrahim|Rayyan|Ayaan|Yusuf|Arjun|Hamza|Musa|Bilal|Haris"),
        surnames=_names(
            "Hussain|Khan|Ahmed|Iqbal|Rahman|Patel|Chaudhry|Akhtar|Mahmood|Sharma|Uddin|Bibi"
        ),
    ),
    NamePool(
        women=_names("Blessing|Chiamaka|Abena|Faduma|Grace|Nkechi|Hodan|Esther|Funmi|Adwoa"),
        men=_names("Emeka|Kwame|Abdi|Tunde|Kofi|Mohamed|Joseph|Samuel|Chidi|Yaw"),
        girls=_names("Precious|Amara|Zainab|Adaeze|Naima|Favour|Ruth|Ifeoma|Ayan|Efua"),
        boys=_names("David|Tobi|Kwabena|Ayo|Daniel|Abdirahman|Emmanuel|Chinedu|Mustafa|Kojo"),
        surnames=_names(
            "Okafor|Mensah|Adeyemi|Osei|Abdullahi|Hassan|Nwosu|Boateng|Warsame|Adebayo|Eze|Owusu"
        ),
    ),
    NamePool(
        women=_names("Shanice|Tanisha|Keisha|Chantelle|Marcia|Jasmine|Simone|Latoya"),
        men=_names("Marlon|Delroy|Jermaine|Tyrone|Andre|Nathan|Kieron|Dwayne"),
        girls=_names("Amelia|Nia|Destiny|Kiara|Maya|Aaliyah|Tianna|Skye"),
        boys=_names("Malachi|Kai|Jayden|Elijah|Reuben|Isaiah|Tremaine|Josiah"),
        surnames=_names(
            "Campbell|Francis|Thompson|Clarke|Robinson|Morgan|Grant|Henry|Lewis|Samuels"
        ),
    ),
    NamePool(
        women=_names("Agnieszka|Katarzyna|Ioana|Monika|Justyna|Elena|Ewa|Alina"),
        men=_names("Tomasz|Łukasz|Marius|Andrei|Piotr|Darius|Mateusz|Florin"),
        girls=_names("Zuzanna|Maja|Alicja|Sofia|Natalia|Emilia|Bianca|Lena"),
        boys=_names("Jakub|Szymon|Filip|Antoni|Nikolas|Luca|Matei|Oliwer"),
        surnames=_names("Nowak|Popescu|Ionescu|Wójcik|Mazur|Dumitru|Kaczmarek|Balan|Zielinski"),
    ),
    NamePool(
        women=_names("Bridget|Siobhan|Mary|Kathleen|Niamh|Margaret"),
        men=_names("Patrick|Sean|Michael|Martin|Declan|John"),
        girls=_names("Roisin|Saoirse|Aoife|Bridie|Caitlin|Shauna"),
        boys=_names("Cian|Paddy|Finn|Oisin|Johnny|Tadhg"),
        surnames=_names("Doherty|McDonagh|Connors|Ward|Quinn|Brennan|Maughan"),
    ),
    NamePool(
        women=_names("Rania|Leila|Shirin|Nour|Zahra|Parwin"),
        men=_names("Omar|Karwan|Ahmad|Hassan|Reza|Rebwar"),
        girls=_names("Lana|Yasmin|Dania|Hana|Shilan|Rojin"),
        boys=_names("Adam|Ali|Karim|Sami|Aram|Yahya"),
        surnames=_names("Al-Hassan|Rasul|Karimi|Haddad|Mahmoud|Ahmadi|Hamid"),
    ),
    NamePool(
        women=_names("Mei|Lin|Thuy|Hoa|Jia"),
        men=_names("Wei|Minh|Jun|Tuan|Hao"),
        girls=_names("Chloe|Mia|Bao Ngoc|Emily|Lily"),
        boys=_names("Ethan|Kevin|Duc|Ryan|Jayden"),
        surnames=_names("Chen|Nguyen|Li|Tran|Wong|Pham"),
    ),
)


POOL_WEIGHTS: tuple[int, ...] = (9, 4, 4, 3, 3, 2, 2, 1)


@dataclass(frozen=True, slots=True)
class Town:
    name: str
    team: str
    postcode_area: str
    streets: tuple[str, ...]
    primary_schools: tuple[str, ...]
    secondary_schools: tuple[str, ...]
    nurseries: tuple[str, ...]
    surgeries: tuple[str, ...]
    hospital: str


TOWNS: tuple[Town, ...] = (
    Town(
        "Brackendale",
        "north-1",
        "BK",
        _names(
            "Linnet Close|Moorside Road|Chapel Fold|Ferncliffe Avenue|Tanner Street|"
            "Hawthorn Walk|Quarry Bank|Albion Terrace"
        ),
        _names("Brackendale Primary School|St Aidan's CofE Primary|Moorside Junior School"),
        ("Brackendale Academy", "Ferncliffe High School"),
        ("Little Acorns Nursery", "Moorside Children's Centre nursery"),
        ("Linnet Lane Surgery", "Brackendale Health Centre"),
        "Brackendale Royal Infirmary",
    ),
    Town(
        "Ashbridge",
        "north-1",
        "BK",
        _names(
            "Millrace Court|Sowerby Road|Kiln Lane|Foundry Street|Beck View|Cedar Grove|"
            "Prospect Row"
        ),
        ("Ashbridge Community Primary", "Holy Family RC Primary"),
        ("Ashbridge Academy",),
        ("Ashbridge Tots Day Nursery",),
        ("Ashbridge Medical Centre", "Kiln Lane Practice"),
        "Brackendale Royal Infirmary",
    ),
    Town(
        "Calderwick",
        "north-1",
        "KD",
        _names(
            "Weavers Way|Station Approach|Nook Lane|Coronation Street East|Peel Avenue|"
            "Blackthorn Rise"
        ),
        ("Calderwick Primary School", "Riverside Primary Academy"),
        ("Calderwick High School",),
        ("Rainbow Steps Nursery",),
        ("Riverside Health Centre", "Peel Avenue Surgery"),
        "Brackendale Royal Infirmary",
    ),
    Town(
        "Kelsham",
        "south-2",
        "QH",
        _names(
            "Marlowe Road|Ropewalk|Saxon Drive|Harbour Lane|Pennant Close|Sandpiper Way|"
            "Fisher Street|Nelson Court"
        ),
        _names("Kelsham Primary School|St Nicholas CofE Primary|Harbour Lane Infant School"),
        ("Kelsham Academy", "Marlowe School"),
        ("Seashells Nursery", "Kelsham Family Hub nursery"),
        ("Harbour Lane Surgery", "Kelsham Medical Practice"),
        "Kelsham General Hospital",
    ),
    Town(
        "Thornby",
        "south-2",
        "QH",
        _names(
            "Orchard Rise|Mill Street|Bramley Close|Chalk Pit Lane|Windmill Road|Forge Cottages"
        ),
        ("Thornby Primary School", "Our Lady of Lourdes RC Primary"),
        ("Thornby Academy",),
        ("Bluebell Day Nursery",),
        ("Thornby Surgery", "Windmill Medical Centre"),
        "Kelsham General Hospital",
    ),
    Town(
        "Saltmere",
        "south-2",
        "VX",
        _names("Esplanade Flats|Gull Road|Quayside|Tern Close|Beacon Way|Sandhills Estate"),
        ("Saltmere Primary School", "Beacon Way Primary"),
        ("Saltmere Coast Academy",),
        ("Little Gulls Nursery",),
        ("Saltmere Health Centre",),
        "Kelsham General Hospital",
    ),
)

FAR_TOWNS: tuple[str, ...] = _names(
    "Portbury|Eastmarch|Wendlow|Carrick Bay|Harwood Cross|Steynford"
)


@dataclass(frozen=True, slots=True)
class Staff:
    """A council employee who writes records; ``user`` is their principal (``user:...``)."""

    user: str
    name: str
    role: str
    team: str | None


def _staff(team: str) -> tuple[tuple[Staff, ...], Staff]:
    names = {
        "north-1": _names("Hannah Whitlock|Femi Adeyinka|Sarah Greenhalgh|Joel Kaur|Rachel Lomax"),
        "south-2": _names("Tom Ridley|Ngozi Eke|Claire Penhaligon|Anika Desai|Mark Trevithick"),
    }[team]
    workers = tuple(
        Staff(f"user:sw-{team}-{i}", name, "social worker", team)
        for i, name in enumerate(names, start=1)
    )
    manager_name = {"north-1": "Julie Ackroyd", "south-2": "Daniel Okonjo"}[team]
    manager = Staff(f"user:tm-{team}-1", manager_name, "team manager", team)
    return workers, manager


SOCIAL_WORKERS: dict[str, tuple[Staff, ...]] = {team: _staff(team)[0] for team in TEAMS}
TEAM_MANAGERS: dict[str, Staff] = {team: _staff(team)[1] for team in TEAMS}
CONFLICTED_WORKER: dict[str, Staff] = {
    "north-1": SOCIAL_WORKERS["north-1"][2],
    "south-2": SOCIAL_WORKERS["south-2"][3],
}
"""The worker in each team who is denied the conflict-of-interest cases."""

CP_CHAIRS: tuple[Staff, ...] = (
    Staff("user:iro-1", "Margaret Oyelaran", "child protection chair", None),
    Staff("user:iro-2", "Peter Holmfirth", "child protection chair", None),
    Staff("user:iro-3", "Gurpreet Sandhu", "child protection chair", None),
)
MASH_STAFF: tuple[Staff, ...] = (
    Staff("user:mash-1", "Kerry Baines", "MASH social worker", None),
    Staff("user:mash-2", "Imogen Fairclough", "MASH senior practitioner", None),
)
MINUTE_TAKERS: dict[str, Staff] = {
    team: Staff(f"user:bs-{team}-1", name, "business support officer", team)
    for team, name in (("north-1", "Lorraine Pickles"), ("south-2", "Wendy Hocking"))
}
LEGAL_TEAM = "Westshire Legal Services"

HEALTH_VISITORS: tuple[str, ...] = _names(
    "Jo Pike|Bernadette Lyons|Shazia Mir|Fiona Carew|Tamsin Rowe|Helen Oakes|"
    "Abimbola Jones|Karen Sheard"
)
SCHOOL_NURSES: tuple[str, ...] = _names("Lucy Banham|Marie Kowalczyk|Dawn Everett")
DOCTORS: tuple[str, ...] = _names(
    "Dr Okoro|Dr Patel|Dr Lindqvist|Dr Haworth|Dr Siddiqui|Dr Brennan|Dr Mwangi|"
    "Dr Fairbairn|Dr Chaudhary|Dr Nolan"
)
DSL_NAMES: tuple[str, ...] = _names(
    "Mrs Helen Baxter|Mr Gareth Lumb|Ms Rehana Aziz|Mrs Julie Crabtree|"
    "Mr Owen Pritchard|Ms Kate Ferris|Mrs Amanda Stokes|Mr Paul Ingham|"
    "Ms Lorna McLeod|Mrs Nadia Farouk"
)
SENCO_NAMES: tuple[str, ...] = _names("Mrs Claire Hebden|Ms Joanne Rigby|Mr Simon Atherton")
POLICE_OFFICERS: tuple[str, ...] = _names(
    "DC Rachel Oduya|DS Ian Maclean|PC Jordan Hale|DC Priya Nair|PC Stuart Bell|"
    "DS Karen Whitfield|PC Amir Latif|DC Gavin Shore"
)
IDVAS: tuple[str, ...] = _names("Becca Laird|Yvonne Achebe|Sinead Foy")
EXPLOITATION_WORKERS: tuple[str, ...] = _names("Marcus Leigh|Tasha Brook|Liam O'Keefe")
YOUTH_WORKERS: tuple[str, ...] = _names("Dev Raman|Holly Saunders|Craig Tennant")


@dataclass(frozen=True, slots=True)
class Person:
    first: str
    last: str
    sex: str  # "f" or "m"

    @property
    def full(self) -> str:
        return f"{self.first} {self.last}"

    @property
    def title(self) -> str:
        return f"{'Ms' if self.sex == 'f' else 'Mr'} {self.last}"


@dataclass(frozen=True, slots=True)
class Child:
    person: Person
    born: dt.date
    school: str  # school or nursery; "" for a baby at home

    @property
    def first(self) -> str:
        return self.person.first

    def age_on(self, day: dt.date) -> int:
        years = day.year - self.born.year
        if (day.month, day.day) < (self.born.month, self.born.day):
            years -= 1
        return max(years, 0)

    def age_text(self, day: dt.date) -> str:
        """Age as a record would give it: "7", or "9 months" for a baby."""
        years = self.age_on(day)
        if years >= 1:
            return str(years)
        months = max(1, (day.year - self.born.year) * 12 + day.month - self.born.month)
        return f"{months} months" if months > 1 else "1 month"

    @property
    def he(self) -> str:
        return "she" if self.person.sex == "f" else "he"

    @property
    def him(self) -> str:
        return "her" if self.person.sex == "f" else "him"

    @property
    def his(self) -> str:
        return "her" if self.person.sex == "f" else "his"


@dataclass(frozen=True, slots=True)
class Family:
    """The household: ``children[0]`` is the child the case is opened for."""

    children: tuple[Child, ...]
    mother: Person
    father: Person
    father_in_home: bool
    partner: Person | None  # mother's partner, when not the father
    grandparent: Person
    grandparent_label: str  # e.g. "maternal grandmother"
    address: str
    town: Town

    @property
    def index_child(self) -> Child:
        return self.children[0]

    @property
    def siblings(self) -> tuple[Child, ...]:
        return self.children[1:]


def choose_pool(rng: random.Random) -> NamePool:
    """A heritage pool, weighted towards the largest communities of a fictional county."""
    return rng.choices(NAME_POOLS, weights=POOL_WEIGHTS, k=1)[0]


def make_family(
    rng: random.Random,
    town: Town,
    *,
    index_age: int,
    oldest: int = 17,
    n_children: int,
    opened: dt.date,
    used_first_names: Sequence[str] = (),
) -> Family:
    """A fictional household whose first child is ``index_age`` on ``opened``."""
    pool = choose_pool(rng)
    other = choose_pool(rng) if rng.random() < 0.2 else pool
    mother = Person(pick(rng, pool.women), pick(rng, pool.surnames), "f")
    father = Person(pick(rng, other.men), pick(rng, other.surnames), "m")
    child_surname = father.last if rng.random() < 0.55 else mother.last
    ages = [index_age]
    for _ in range(n_children - 1):
        age = max(0, min(oldest, index_age + rng.choice((-6, -4, -3, -2, -1, 2, 3, 5))))
        if age == index_age:  # no accidental twins: a baby's siblings are older
            age = min(oldest, index_age + rng.randint(2, 6))
        ages.append(age)
    names_taken = set(used_first_names) | {mother.first, father.first}
    children: list[Child] = []
    for age in ages:
        sex = "f" if rng.random() < 0.5 else "m"
        names = pool.girls if sex == "f" else pool.boys
        first = pick(rng, names)
        tries = 0
        while first in names_taken and tries < 12:
            first = pick(rng, names)
            tries += 1
        names_taken.add(first)
        born = opened - dt.timedelta(days=365 * age + rng.randrange(300))
        children.append(Child(Person(first, child_surname, sex), born, _school_for(rng, town, age)))
    father_in_home = rng.random() < 0.35
    partner = None
    if not father_in_home and rng.random() < 0.55:
        partner_pool = choose_pool(rng)
        partner = Person(pick(rng, partner_pool.men), pick(rng, partner_pool.surnames), "m")
    gran_label = pick(
        rng, _names("maternal grandmother|maternal grandmother|paternal grandmother|maternal aunt")
    )
    gran_surname = mother.last if gran_label.startswith("maternal") else father.last
    gran = Person(pick(rng, _OLDER_WOMEN), gran_surname, "f")
    number = rng.randint(1, 120)
    flat = f"Flat {rng.randint(1, 24)}, " if rng.random() < 0.3 else ""
    address = (
        f"{flat}{number} {pick(rng, town.streets)}, {town.name}, "
        f"{town.postcode_area}{rng.randint(1, 19)} {rng.randint(1, 9)}{_postcode_letters(rng)}"
    )
    return Family(
        children=tuple(children),
        mother=mother,
        father=father,
        father_in_home=father_in_home,
        partner=partner,
        grandparent=gran,
        grandparent_label=gran_label,
        address=address,
        town=town,
    )


_OLDER_WOMEN = _names(
    "Pauline|Janet|Bernadette|Shirley|Yvonne|Parveen|Comfort|Halina|Maureen|Gloria|Sandra|Rosa"
)


def _postcode_letters(rng: random.Random) -> str:
    letters = "ABDEFGHJLNPQRSTUWXYZ"
    return pick(rng, letters) + pick(rng, letters)


def _school_for(rng: random.Random, town: Town, age: int) -> str:
    if age < 2:
        return ""
    if age < 4:
        return pick(rng, town.nurseries)
    if age < 11:
        return pick(rng, town.primary_schools)
    return pick(rng, town.secondary_schools)


def family_subjects(case_number: int, family: Family) -> tuple[dict[str, object], ...]:
    """The household as a record's ``subjects`` (DESIGN.md): the index child first (role
    "child", with date of birth), then siblings, mother, father and mother's partner. Person
    ids are stable per case (``P-<case number>-<n>``)."""
    subjects: list[dict[str, object]] = []

    def add(person: Person, role: str, born: dt.date | None = None) -> None:
        entry: dict[str, object] = {
            "id": f"P-{case_number}-{len(subjects) + 1}",
            "name": person.full,
            "role": role,
        }
        if born is not None:
            entry["dob"] = born.isoformat()
        subjects.append(entry)

    add(family.index_child.person, "child", family.index_child.born)
    for sibling in family.siblings:
        add(sibling.person, "sibling", sibling.born)
    add(family.mother, "mother")
    add(family.father, "father")
    if family.partner is not None:
        add(family.partner, "partner")
    return tuple(subjects)
