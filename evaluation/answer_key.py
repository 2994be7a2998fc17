"""An access answer key (fail-safe issue, item 6): records with every kind of permission, users
holding every combination of principals, and what each (user, filters) may get back, computed
here from the records alone, without any retrieval code.

The key applies the DESIGN.md rule (some principal of the caller, ``user:<sub>`` included, in
``acl`` and none in ``deny``) and a search's filters (case, document types, dates). ``check``
judges one answer: every returned id in the key, no id twice, ``total`` at most the key's size,
and a query naming a marker word that some key record holds (and at most half of them, so no
ranking rule may drop it as common) finds something.

Two runners use it: the CI test (``tests/app/test_access_answer_key.py``, 1,000 searches in
process) and ``make bench``'s ``access`` benchmark (10,000 searches over HTTP against
``casesearch serve``).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

CASES = tuple(f"CASE-{n:02d}" for n in range(1, 9))
TEAMS = ("team:north", "team:south", "team:east", "team:west")
DOC_TYPES = ("case_note", "visit_note", "safety_plan", "health_contact", "school_contact")
SHARED = (
    "The social worker visited the family home and spoke with the child alone.",
    "Mum agreed to the safety plan and will supervise contact with dad.",
    "Police attended after a report of an argument at the address overnight.",
    "The health visitor saw the baby and recorded her weight.",
    "School reports poor attendance this half term.",
    "Home conditions were cluttered and the kitchen was dirty.",
    "The child said she felt safe at her grandmother's house.",
    "The family support worker helped with a referral to the food bank.",
)
# Words no shared sentence holds: a record holding one is findable by it, by BM25 alone.
MARKERS = (
    "trampoline", "violin", "aquarium", "skateboard", "harmonica", "telescope", "chessboard",
    "canoe", "hamster", "xylophone", "lighthouse", "pottery", "origami", "accordion",
    "kayak", "snorkel", "tambourine", "hedgehog", "windmill", "scooter",
)  # fmt: skip
USERS: Mapping[str, tuple[str, ...]] = {
    "alice": ("team:north",),
    "bob": ("team:north",),
    "carol": ("team:south", "role:qa"),
    "dave": ("team:north", "team:managers"),
    "erin": ("team:east",),
    "fred": ("team:west", "team:south"),
    "gina": ("role:qa",),
    "mia": ("team:managers",),
    "nobody": (),
}
PHRASES = (
    "safety plan",
    "police attended",
    "school attendance",
    "home conditions",
    "health visitor weight",
    "food bank referral",
    "grandmother",
    "supervise contact",
)
QUERIES = (
    *MARKERS,
    *PHRASES,
    *(f"{a} {b}" for a, b in zip(MARKERS, MARKERS[3:], strict=False)),
)


def key_records(count: int = 300, seed: int = 6) -> list[dict[str, Any]]:
    """``count`` records (record-format dicts) over 8 cases and 4 teams, with managers-only,
    QA-shared, per-user and denied records (bob and dave hold both an allowed and a denied
    principal of some)."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    start = dt.date(2022, 1, 1)
    out = []
    for n in range(count):
        case = n % len(CASES)
        acl, deny = [TEAMS[case % len(TEAMS)]], []
        if n % 11 == 4:
            acl = ["team:managers"]
        if n % 5 == 0:
            acl.append("role:qa")
        if n % 17 == 3:
            acl.append("user:erin")
        if n % 6 == 4:
            deny.append("user:bob")
        if n % 7 == 2:
            deny.append("team:managers")
        if n % 13 == 5:
            deny.append("role:qa")
        markers = rng.sample(MARKERS, 2)
        text = " ".join(rng.sample(SHARED, rng.randint(1, 3)))
        text += f" The child talked about the {markers[0]} and the {markers[1]}."
        out.append(
            {
                "id": f"AK-{n:04d}",
                "case_id": CASES[case],
                "doc_type": DOC_TYPES[rng.randrange(len(DOC_TYPES))],
                "title": f"Record {n}",
                "text": text,
                "created_at": (start + dt.timedelta(days=rng.randrange(900))).isoformat(),
                "acl": acl,
                "deny": deny,
            }
        )
    return out


def may_see(user: str, record: Mapping[str, Any]) -> bool:
    """The DESIGN.md rule, written out again here on purpose (not imported)."""
    held = set(USERS[user]) | {f"user:{user}"}
    return bool(held & set(record["acl"])) and not held & set(record["deny"])


@dataclass(frozen=True, slots=True)
class Filters:
    case_id: str | None = None
    doc_types: tuple[str, ...] | None = None
    date_from: str | None = None
    date_to: str | None = None

    def admit(self, record: Mapping[str, Any]) -> bool:
        return (
            (self.case_id is None or record["case_id"] == self.case_id)
            and (not self.doc_types or record["doc_type"] in self.doc_types)
            and (self.date_from is None or record["created_at"] >= self.date_from)
            and (self.date_to is None or record["created_at"] <= self.date_to)
        )

    def body(self) -> dict[str, Any]:
        """The filters as ``POST /v1/search`` fields."""
        out: dict[str, Any] = {
            "case_id": self.case_id,
            "date_from": self.date_from,
            "date_to": self.date_to,
        }
        if self.doc_types:
            out["doc_types"] = list(self.doc_types)
        return {k: v for k, v in out.items() if v is not None}


def random_filters(rng: random.Random) -> Filters:
    """Half the searches name a case (one in nine an unknown one), some document types, and
    each date bound is set four times in ten."""

    def day() -> str | None:
        if rng.random() < 0.6:
            return None
        return (dt.date(2021, 10, 1) + dt.timedelta(days=rng.randrange(1000))).isoformat()

    case = rng.choice([*CASES, "CASE-99"]) if rng.random() < 0.5 else None
    types = tuple(rng.sample(DOC_TYPES, rng.randint(1, 3))) if rng.random() < 0.3 else None
    return Filters(case, types, day(), day())


@dataclass(frozen=True, slots=True)
class Search:
    """One random search: who asks, what, with which filters, for how many results."""

    user: str
    query: str
    filters: Filters
    top_k: int

    def body(self) -> dict[str, Any]:
        return {"query": self.query, "top_k": self.top_k, **self.filters.body()}


def random_searches(count: int, seed: int) -> list[Search]:
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    users = sorted(USERS)
    return [
        Search(rng.choice(users), rng.choice(QUERIES), random_filters(rng), rng.choice([5, 10, 50]))
        for _ in range(count)
    ]


@dataclass(slots=True)
class AnswerKey:
    """The records' key: ``check`` judges answers and counts what was exercised."""

    records: Sequence[Mapping[str, Any]]
    checked: int = 0
    checked_nonempty: int = 0
    problems: list[str] = field(default_factory=list)
    _by_id: dict[str, Mapping[str, Any]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_id = {r["id"]: r for r in self.records}

    def allowed(self, user: str, filters: Filters) -> set[str]:
        return {r["id"] for r in self.records if may_see(user, r) and filters.admit(r)}

    def check(self, search: Search, status: int, answer: Mapping[str, Any] | None) -> None:
        """Judge one answer (``answer`` is the JSON body of a 200); problems are collected."""
        self.checked += 1
        label = f"{search.user} {search.body()}"
        if status != 200 or answer is None:
            self.problems.append(f"{label} -> {status}")
            return
        ids = [r["document_id"] for r in answer["results"]]
        key = self.allowed(search.user, search.filters)
        if not set(ids) <= key:
            self.problems.append(f"{label}: outside the key {sorted(set(ids) - key)}")
        if len(ids) != len(set(ids)):
            self.problems.append(f"{label}: an id repeats in {ids}")
        if answer["total"] > len(key):
            self.problems.append(f"{label}: total {answer['total']} > key {len(key)}")
        if search.query in MARKERS:
            holding = [rid for rid in key if search.query in self._by_id[rid]["text"]]
            if holding and len(holding) * 2 <= len(key):
                self.checked_nonempty += 1
                if not ids:
                    self.problems.append(f"{label}: empty, but {holding} hold {search.query!r}")
