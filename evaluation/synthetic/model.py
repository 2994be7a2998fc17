"""The data the generator passes around: drafts, documents, queries and the collection.

Relevance is never guessed from the generated text. Each writer records, as it chooses a
paragraph, what that paragraph is evidence of (a *topic*, graded 1 or 2) and which topics it
explicitly rules out (a *decoy*, e.g. "no concerns about neglect"). Queries are judged from
those tags alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args

Theme = Literal[
    "neglect",
    "domestic_abuse",
    "exploitation",
    "home_alone",
    "substance",
    "mental_health",
    "physical",
]
THEMES: tuple[Theme, ...] = (
    "neglect",
    "domestic_abuse",
    "exploitation",
    "home_alone",
    "substance",
    "mental_health",
    "physical",
)

# Topic tags. A dotted topic belongs to the family before the dot ("neglect.food" -> "neglect").
NEGLECT_FACETS: tuple[str, ...] = (
    "neglect.home",
    "neglect.food",
    "neglect.hygiene",
    "neglect.health",
)
EXPLOITATION_FACETS: tuple[str, ...] = (
    "exploitation.county_lines",
    "exploitation.items",
    "exploitation.associates",
    "exploitation.missing",
)
DECOY_FAMILIES: tuple[str, ...] = ("neglect", "home_alone", "exploitation")


def topic_family(topic: str) -> str:
    """``"neglect.food"`` -> ``"neglect"``; a plain topic is its own family."""
    return topic.split(".", 1)[0]


@dataclass(slots=True)
class Draft:
    """A document as a writer produced it, before ids, dates and permissions are attached.

    ``tags`` maps topic -> grade (1 or 2); ``decoys`` names topic families the text explicitly
    rules out. ``restricted`` narrows the ACL to the team's managers.
    """

    doc_type: str
    title: str
    text: str
    tags: dict[str, int] = field(default_factory=dict)
    decoys: set[str] = field(default_factory=set)
    restricted: bool = False
    subject: str = ""  # first name of the child the record is about, when it is about one

    def tag(self, topic: str, grade: int) -> None:
        """Record evidence of ``topic``; the strongest grade wins."""
        if grade not in (1, 2):
            raise ValueError(f"grade must be 1 or 2, not {grade}")
        self.tags[topic] = max(grade, self.tags.get(topic, 0))

    def check(self) -> None:
        """Raise ``ValueError`` if the draft both evidences and rules out one family."""
        families = {topic_family(topic) for topic in self.tags}
        clash = families & self.decoys
        if clash:
            raise ValueError(f"draft {self.title!r} is both evidence and decoy for {clash}")
        if not self.text.strip():
            raise ValueError(f"draft {self.title!r} has no text")


@dataclass(frozen=True, slots=True)
class SyntheticDocument:
    """One generated record with the tags that judge it (tags never leave the generator)."""

    id: str
    case_id: str
    doc_type: str
    title: str
    text: str
    created_at: dt.date
    updated_at: dt.datetime
    author: str
    acl: tuple[str, ...]
    deny: tuple[str, ...]
    source_uri: str
    tags: Mapping[str, int]
    decoys: frozenset[str]
    subject: str
    # the people the record is about, in DESIGN.md's ``subjects`` format (child first)
    subjects: tuple[Mapping[str, object], ...] = ()

    def record(self) -> dict[str, object]:
        """The document in DESIGN.md's record format."""
        return {
            "id": self.id,
            "case_id": self.case_id,
            "doc_type": self.doc_type,
            "title": self.title,
            "text": self.text,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "author": self.author,
            "acl": list(self.acl),
            "deny": list(self.deny),
            "source_uri": self.source_uri,
            "subjects": [dict(p) for p in self.subjects],
        }

    def corpus_line(self) -> dict[str, object]:
        """The document as a BEIR corpus line with record fields in ``metadata``."""
        return {
            "_id": self.id,
            "title": self.title,
            "text": self.text,
            "metadata": {
                "case_id": self.case_id,
                "doc_type": self.doc_type,
                "created_at": self.created_at.isoformat(),
                "updated_at": self.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "author": self.author,
                "acl": list(self.acl),
                "deny": list(self.deny),
                "source_uri": self.source_uri,
                "subjects": [dict(p) for p in self.subjects],
            },
        }


QueryKind = Literal[
    "current_safety_plan",
    "gp_last_seen",
    "police_involvement",
    "strategy_discussion",
    "school_concerns",
    "health_visitor",
    "missing_episodes",
    "domestic_abuse",
    "wishes_feelings",
    "conference_outcome",
    "last_visit",
    "neglect_pattern",
    "home_alone",
    "exploitation",
]
CROSS_CASE_QUERY_KINDS: tuple[QueryKind, ...] = ("neglect_pattern", "home_alone", "exploitation")
CASE_QUERY_KINDS: tuple[QueryKind, ...] = tuple(
    kind for kind in get_args(QueryKind) if kind not in CROSS_CASE_QUERY_KINDS
)


@dataclass(frozen=True, slots=True)
class SyntheticQuery:
    """A judged query; ``case_id`` is ``None`` for a cross-case (QA) query."""

    id: str
    text: str
    kind: QueryKind
    case_id: str | None
    judgements: Mapping[str, int]  # document id -> grade (1 or 2); never empty

    def line(self) -> dict[str, object]:
        """The query as a BEIR ``queries.jsonl`` line."""
        metadata: dict[str, object] = {"kind": self.kind}
        if self.case_id is not None:
            metadata = {"case_id": self.case_id, "kind": self.kind}
        return {"_id": self.id, "text": self.text, "metadata": metadata}


@dataclass(frozen=True, slots=True)
class DemoUser:
    """A demo account: ``sub`` for tokens and the principals it holds."""

    sub: str
    name: str
    description: str
    principals: tuple[str, ...]

    def as_json(self) -> dict[str, object]:
        return {
            "sub": self.sub,
            "name": self.name,
            "description": self.description,
            "principals": list(self.principals),
        }
