"""Name resolution on the synthetic case file: is a child's name in a question read as the
right child, misspelt names included?

Every per-case question template that names the child ("when did {c} last see a doctor") is
asked about every case without a case filter, in five forms: as written, with the full name,
in lower case, with the first name misspelt (one transposition, dropped, doubled or changed
letter, never the first), and possessive ("{c}'s …", when the template does not already say
it). Each is resolved as the case's own team (``team:<team>``: she sees her team's cases) and
as a QA officer (``role:qa``: every case, so more children share a first name), through the
same code search uses: the records' ``subjects`` parsed by ``parse_record``, narrowed to the
asker's visible records by ``PeopleDirectory`` and read by ``resolve_names``.

``unnamed`` counts the search questions of the same file that name no child and still
come back with a child offered (the cost of offering a lower-case name) or applied.

Outcomes per question: ``right`` (exactly the case's child, the search scoped to her),
``choose`` (the right child offered, not applied: among several children of that name, or
alone when the name was a lower-case common word, "ruby"; the page asks "Which Ruby?"),
``wrong`` (another child, or several without the right one) and ``none`` (no child found).

Run: ``python -m evaluation.synthetic.names [--cases 40] [--seed 7] [--out FILE.json]``.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from connectors.record import parse_record
from evaluation.synthetic.collection import (
    DEFAULT_CASES,
    DEFAULT_SEED,
    SyntheticCollection,
    build_collection,
)
from evaluation.synthetic.queries import PHRASING_SETS
from retrieval.models import AccessScope
from retrieval.people import PeopleDirectory, Person, resolve_names
from retrieval.store import SubjectRow

Form = Literal["as_written", "full_name", "lower_case", "misspelt", "possessive"]
FORMS: tuple[Form, ...] = ("as_written", "full_name", "lower_case", "misspelt", "possessive")
Outcome = Literal["right", "choose", "wrong", "none"]


@dataclass(frozen=True, slots=True)
class NameQuestion:
    text: str
    case_id: str
    team: str
    person_id: str
    form: Form


def name_questions(collection: SyntheticCollection, seed: int = DEFAULT_SEED) -> list[NameQuestion]:
    """Every name-bearing template about every case, in each of ``FORMS`` (deterministic)."""
    rng = random.Random(f"casesearch-names:{seed}")
    templates = sorted(
        {t for phrasings in PHRASING_SETS.values() for ts in phrasings.values() for t in ts}
    )
    templates = [t for t in templates if "{c}" in t]
    out: list[NameQuestion] = []
    for case in collection.cases:
        child = case.child
        person_id = f"P-{case.number}-1"
        for template in templates:
            forms: dict[Form, str] = {
                "as_written": child.first,
                "full_name": child.person.full,
                "lower_case": child.first.lower(),
                "misspelt": misspell(rng, child.first),
            }
            for form, name in forms.items():
                out.append(
                    NameQuestion(
                        _fill(template, name, child.he, child.his, child.him),
                        case.case_id,
                        case.team,
                        person_id,
                        form,
                    )
                )
            if "{c}'s" not in template:
                possessive = re.sub(r"\{c\}", "{c}'s", template, count=1)
                text = _fill(possessive, child.first, child.he, child.his, child.him)
                out.append(NameQuestion(text, case.case_id, case.team, person_id, "possessive"))
    return out


def misspell(rng: random.Random, name: str) -> str:
    """``name`` with one typing slip, never in the first letter (names are typed from it)."""
    if len(name) < 3:
        return name
    i = rng.randrange(1, len(name) - 1)
    slip = rng.choice(("transpose", "drop", "double", "change"))
    if slip == "transpose":
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    if slip == "drop":
        return name[:i] + name[i + 1 :]
    if slip == "double":
        return name[: i + 1] + name[i] + name[i + 1 :]
    letters = "aeiou" if name[i].lower() in "aeiou" else "bcdfghklmnprstvwyz"
    other = rng.choice([c for c in letters if c != name[i].lower()])
    return name[:i] + other + name[i + 1 :]


def _fill(template: str, name: str, he: str, his: str, him: str) -> str:
    return template.format(c=name, he=he, his=his, him=him, perp="the ex-partner")


def _directory(collection: SyntheticCollection) -> tuple[PeopleDirectory, list[tuple[str, ...]]]:
    rows: list[SubjectRow] = []
    rights: list[tuple[str, ...]] = []
    for pk, doc in enumerate(collection.documents, start=1):
        record = parse_record(doc.record())
        rights.append((*record.acl, "|", *record.deny))
        for subject in record.subjects:
            if subject.role == "child":
                rows.append(
                    SubjectRow(
                        pk,
                        record.case_id,
                        subject.id,
                        subject.name,
                        subject.other_names,
                        subject.dob,
                    )
                )
    return PeopleDirectory(rows), rights


def _mask(rights: Sequence[tuple[str, ...]], scope: AccessScope) -> npt.NDArray[np.bool_]:
    mask = np.zeros(len(rights) + 1, dtype=np.bool_)
    for pk, entry in enumerate(rights, start=1):
        split = entry.index("|")
        mask[pk] = scope.permits(entry[:split], entry[split + 1 :])
    return mask


def evaluate(
    collection: SyntheticCollection, questions: Sequence[NameQuestion]
) -> dict[str, object]:
    """Outcome counts and shares, overall, per form and per asker (team, QA)."""
    directory, rights = _directory(collection)
    askers = {"team": None, "qa": AccessScope.of("role:qa")}
    visible_cache: dict[str, list[Person]] = {}
    report: dict[str, object] = {"questions": len(questions)}
    for asker, fixed in askers.items():
        outcomes: Counter[tuple[Form, Outcome]] = Counter()
        failures: list[dict[str, object]] = []
        for q in questions:
            scope = fixed or AccessScope.of(f"team:{q.team}")
            key = ",".join(sorted(scope.principals))
            if key not in visible_cache:
                visible_cache[key] = list(directory.visible(_mask(rights, scope)))
            people = visible_cache[key]
            found = resolve_names(q.text, people)
            ids = [p.id for p in found.people]
            outcome: Outcome
            if ids == [q.person_id] and not found.offered:
                outcome = "right"
            elif q.person_id in ids:
                outcome = "choose"
            elif ids:
                outcome = "wrong"
            else:
                outcome = "none"
            outcomes[(q.form, outcome)] += 1
            # one example per case and form, so one hard name does not fill the list
            if (
                outcome in ("wrong", "none")
                and len(failures) < 25
                and not any(f["case_id"] == q.case_id and f["form"] == q.form for f in failures)
            ):
                failures.append(
                    {
                        "text": q.text,
                        "case_id": q.case_id,
                        "form": q.form,
                        "outcome": outcome,
                        "found": [p.name for p in found.people],
                    }
                )
        report[asker] = _shares(outcomes, failures)
    return report


def _shares(
    outcomes: Counter[tuple[Form, Outcome]], failures: list[dict[str, object]]
) -> dict[str, object]:
    def summary(counts: Counter[Outcome]) -> dict[str, object]:
        total = sum(counts.values())
        return {
            "n": total,
            "right": round(counts["right"] / total, 4) if total else None,
            "right_or_choose": (
                round((counts["right"] + counts["choose"]) / total, 4) if total else None
            ),
            "counts": {k: counts[k] for k in ("right", "choose", "wrong", "none")},
        }

    overall: Counter[Outcome] = Counter()
    by_form: dict[str, object] = {}
    for form in FORMS:
        counts: Counter[Outcome] = Counter({o: n for (f, o), n in outcomes.items() if f == form})
        overall.update(counts)
        by_form[form] = summary(counts)
    return {**summary(overall), "by_form": by_form, "failures": failures}


def unnamed_offers(collection: SyntheticCollection) -> dict[str, object]:
    """The cost of offering: the collection's judged questions that name no child (per-case
    and QA search questions), read against every child (the QA asker's view); how many come
    back with a child offered or applied, with examples."""
    directory, _ = _directory(collection)
    everyone = directory.everyone()
    offered: list[str] = []
    applied: list[str] = []
    for query in collection.queries:
        found = resolve_names(query.text, everyone)
        if found.people:
            (offered if found.offered else applied).append(query.text)
    return {
        "questions": len(collection.queries),
        "offered": len(offered),
        "applied": len(applied),
        "examples": sorted(set(offered + applied))[:10],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=DEFAULT_CASES)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    collection = build_collection(seed=args.seed, n_cases=args.cases)
    report = {
        "seed": args.seed,
        "cases": args.cases,
        **evaluate(collection, name_questions(collection, args.seed)),
    }
    report["unnamed"] = unnamed_offers(collection)
    text = json.dumps(report, indent=2, sort_keys=True)
    if args.out is not None:
        args.out.write_text(text + "\n")
    sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
