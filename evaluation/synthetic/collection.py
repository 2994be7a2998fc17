"""Build the whole synthetic case file and write it in BEIR layout.

Everything is derived from the seed: each case has its own random stream (seeded from the
collection seed and the case number), so the same seed always produces byte-identical files
and no wall-clock time or set ordering is ever consulted.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from evaluation.synthetic import people, queries, timeline
from evaluation.synthetic.context import CaseFile
from evaluation.synthetic.model import (
    DemoUser,
    SyntheticDocument,
    SyntheticQuery,
    Theme,
)
from evaluation.synthetic.textkit import finish

DEFAULT_SEED = 7
DEFAULT_CASES = 40
DEFAULT_TODAY = dt.date(2025, 6, 30)

# Neglect is the most common category of child protection plan in England, so it leads.
_PRIMARY_CYCLE: tuple[Theme, ...] = (
    "neglect",
    "domestic_abuse",
    "exploitation",
    "neglect",
    "home_alone",
    "substance",
    "domestic_abuse",
    "neglect",
    "mental_health",
    "exploitation",
    "physical",
    "neglect",
    "home_alone",
    "domestic_abuse",
)


@dataclass(frozen=True, slots=True)
class SyntheticCollection:
    """The generated collection in memory (nothing written yet)."""

    seed: int
    today: dt.date
    cases: tuple[CaseFile, ...]
    documents: tuple[SyntheticDocument, ...]
    queries: tuple[SyntheticQuery, ...]
    users: tuple[DemoUser, ...]

    @property
    def qrels(self) -> dict[str, dict[str, int]]:
        """Query id -> document id -> grade (1 or 2)."""
        return {q.id: dict(q.judgements) for q in self.queries}


@dataclass(frozen=True, slots=True)
class GeneratedCollection:
    """What ``generate_case_file`` wrote, where, and the in-memory collection behind it."""

    root: Path
    corpus_path: Path
    records_path: Path
    queries_path: Path
    qrels_path: Path
    users_path: Path
    collection: SyntheticCollection

    @property
    def documents(self) -> tuple[SyntheticDocument, ...]:
        return self.collection.documents

    @property
    def queries(self) -> tuple[SyntheticQuery, ...]:
        return self.collection.queries

    @property
    def qrels(self) -> dict[str, dict[str, int]]:
        return self.collection.qrels


def build_collection(
    *,
    seed: int = DEFAULT_SEED,
    n_cases: int = DEFAULT_CASES,
    today: dt.date = DEFAULT_TODAY,
    phrasings: queries.PhrasingSet = "tuning",
) -> SyntheticCollection:
    """Generate every case, document, query and judgement for ``seed`` (pure, no I/O).

    ``phrasings`` picks the wordings of the per-case questions (``queries.PHRASING_SETS``);
    the records and the cross-case questions are the same for either set.

    Raises ``ValueError`` when ``n_cases`` is not positive or above 9000.
    """
    if not 1 <= n_cases <= 9000:
        raise ValueError(f"n_cases must be between 1 and 9000, not {n_cases}")
    master = random.Random(f"casesearch-synthetic:{seed}")
    numbers = sorted(master.sample(range(1000, 10000), n_cases))
    primaries = [_PRIMARY_CYCLE[i % len(_PRIMARY_CYCLE)] for i in range(n_cases)]
    master.shuffle(primaries)
    conflicted = set(master.sample(range(n_cases), max(1, n_cases // 12)))

    cases: list[CaseFile] = []
    documents: list[SyntheticDocument] = []
    judged: list[queries.Judged] = []
    for index, number in enumerate(numbers):
        rng = random.Random(f"casesearch-synthetic:{seed}:case:{index}")
        case = timeline.plan_case(
            rng,
            number=number,
            case_id=f"CASE-{number}",
            team=people.TEAMS[index % len(people.TEAMS)],
            primary=primaries[index],
            conflict_of_interest=index in conflicted,
            today=today,
        )
        case_docs = _documents(rng, case, today)
        cases.append(case)
        documents.extend(case_docs)
        judged.extend(queries.case_queries(rng, case, case_docs, queries.PHRASING_SETS[phrasings]))
    cross_rng = random.Random(f"casesearch-synthetic:{seed}:cross")
    judged.extend(queries.cross_case_queries(cross_rng, documents))
    numbered = tuple(
        SyntheticQuery(f"q{i:04d}", j.text, j.kind, j.case_id, dict(sorted(j.judgements.items())))
        for i, j in enumerate(judged, start=1)
    )
    return SyntheticCollection(
        seed=seed,
        today=today,
        cases=tuple(cases),
        documents=tuple(documents),
        queries=numbered,
        users=demo_users(),
    )


def _documents(rng: random.Random, case: CaseFile, today: dt.date) -> list[SyntheticDocument]:
    written = timeline.write_case(rng, case)
    written.sort(key=lambda w: w.day)  # stable: same-day records keep the order written
    team_acl = ("role:qa", f"team:{case.team}")
    managers_acl = ("role:qa", f"team:{case.team}-managers")
    deny = (people.CONFLICTED_WORKER[case.team].user,) if case.conflict_of_interest else ()
    subjects = people.family_subjects(case.number, case.family)
    docs: list[SyntheticDocument] = []
    for seq, item in enumerate(written, start=1):
        doc_id = f"{case.case_id}-{seq:03d}"
        draft = item.draft
        created = dt.datetime.combine(item.day, dt.time(rng.randint(8, 17), rng.randint(0, 59)))
        if rng.random() < 0.2:
            created += dt.timedelta(days=rng.randint(1, 6), hours=rng.randint(0, 5))
        latest = dt.datetime.combine(today, dt.time(17, 0))
        updated = min(created, latest).replace(second=rng.randint(0, 59))
        docs.append(
            SyntheticDocument(
                id=doc_id,
                case_id=case.case_id,
                doc_type=draft.doc_type,
                title=draft.title,
                text=finish(draft.text),
                created_at=item.day,
                updated_at=updated,
                author=item.author.user,
                acl=managers_acl if draft.restricted else team_acl,
                deny=deny,
                source_uri=f"cms://records/{doc_id}",
                tags=dict(sorted(draft.tags.items())),
                decoys=frozenset(draft.decoys),
                subject=draft.subject,
                subjects=subjects,
            )
        )
    return docs


def demo_users() -> tuple[DemoUser, ...]:
    """Accounts a demo can mint tokens for, one per kind of access."""
    north = people.SOCIAL_WORKERS["north-1"]
    south = people.SOCIAL_WORKERS["south-2"]
    conflicted = people.CONFLICTED_WORKER["north-1"]
    manager = people.TEAM_MANAGERS["north-1"]

    def user(staff: people.Staff, description: str, *extra: str) -> DemoUser:
        sub = staff.user.removeprefix("user:")
        return DemoUser(sub, staff.name, description, (staff.user, *extra))

    return (
        user(north[1], "Social worker, team north-1", "team:north-1"),
        user(
            conflicted,
            "Social worker, team north-1; denied the north-1 conflict-of-interest cases",
            "team:north-1",
        ),
        user(
            manager,
            "Team manager, north-1 (sees restricted records)",
            "team:north-1",
            "team:north-1-managers",
        ),
        user(south[0], "Social worker, team south-2", "team:south-2"),
        DemoUser(
            "qa-1",
            "Priya Raman",
            "QA / practice improvement officer (all cases)",
            ("user:qa-1", "role:qa"),
        ),
        DemoUser(
            "cms-ingest",
            "CMS ingest service",
            "Pushes records from the CMS",
            ("service:cms-ingest", "role:ingest"),
        ),
        DemoUser(
            "auditor-1",
            "Graham Otley",
            "Auditor (reads the audit log)",
            ("user:auditor-1", "role:auditor"),
        ),
    )


def write_collection(collection: SyntheticCollection, out_dir: Path) -> GeneratedCollection:
    """Write ``collection`` under ``out_dir`` (created if missing; files are overwritten).

    Files: ``corpus.jsonl``, ``records.jsonl``, ``queries.jsonl``, ``qrels/test.tsv`` and
    ``users.json``, all UTF-8 with ``\\n`` line ends, in id order.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "qrels").mkdir(exist_ok=True)
    documents = sorted(collection.documents, key=lambda d: d.id)
    corpus_path = out_dir / "corpus.jsonl"
    records_path = out_dir / "records.jsonl"
    queries_path = out_dir / "queries.jsonl"
    qrels_path = out_dir / "qrels" / "test.tsv"
    users_path = out_dir / "users.json"
    _write_lines(corpus_path, (_json(d.corpus_line()) for d in documents))
    _write_lines(records_path, (_json(d.record()) for d in documents))
    ordered_queries = sorted(collection.queries, key=lambda q: q.id)
    _write_lines(queries_path, (_json(q.line()) for q in ordered_queries))
    rows = ["query-id\tcorpus-id\tscore"]
    for query in ordered_queries:
        rows.extend(
            f"{query.id}\t{doc}\t{grade}" for doc, grade in sorted(query.judgements.items())
        )
    _write_lines(qrels_path, rows)
    users = {"users": [u.as_json() for u in collection.users]}
    _write_text(users_path, json.dumps(users, ensure_ascii=False, indent=2) + "\n")
    return GeneratedCollection(
        root=out_dir,
        corpus_path=corpus_path,
        records_path=records_path,
        queries_path=queries_path,
        qrels_path=qrels_path,
        users_path=users_path,
        collection=collection,
    )


def generate_case_file(
    out_dir: Path,
    *,
    seed: int = DEFAULT_SEED,
    n_cases: int = DEFAULT_CASES,
    today: dt.date = DEFAULT_TODAY,
    phrasings: queries.PhrasingSet = "tuning",
) -> GeneratedCollection:
    """Generate the synthetic case file for ``seed`` and write it under ``out_dir``.

    The same arguments always produce byte-identical files. Raises ``ValueError`` for a
    non-positive ``n_cases``.
    """
    collection = build_collection(seed=seed, n_cases=n_cases, today=today, phrasings=phrasings)
    return write_collection(collection, out_dir)


def _json(obj: Mapping[str, object]) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _write_lines(path: Path, lines: Iterable[str]) -> None:
    _write_text(path, "".join(f"{line}\n" for line in lines))


def _write_text(path: Path, text: str) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
