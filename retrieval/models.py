"""Frozen value types shared by the store, the search pipeline and its callers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Mode = Literal["bm25", "dense", "hybrid"]
MODES: tuple[Mode, ...] = ("bm25", "dense", "hybrid")


@dataclass(frozen=True, slots=True)
class Subject:
    """A person a record is about; ``role`` "child" is the child the case is for."""

    id: str
    name: str
    role: str
    other_names: tuple[str, ...] = ()
    dob: dt.date | None = None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "name": self.name, "role": self.role}
        if self.other_names:
            data["other_names"] = list(self.other_names)
        if self.dob is not None:
            data["dob"] = self.dob.isoformat()
        return data


@dataclass(frozen=True, slots=True)
class Document:
    """A record as the store keeps it (the indexer maps connector records to this)."""

    id: str
    text: str
    acl: tuple[str, ...]
    deny: tuple[str, ...] = ()
    case_id: str | None = None
    doc_type: str | None = None
    title: str = ""
    created_at: dt.date | None = None
    updated_at: dt.datetime | None = None
    author: str | None = None
    source_uri: str | None = None
    attachments: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)
    subjects: tuple[Subject, ...] = ()

    @property
    def children(self) -> tuple[Subject, ...]:
        """The subjects with role "child", in the record's order."""
        return tuple(s for s in self.subjects if s.role == "child")


@dataclass(frozen=True, slots=True)
class ChunkRow:
    """One chunk to store: its span in the record text, lexical terms and vector."""

    ordinal: int
    char_start: int
    char_end: int
    terms: str
    vector: bytes


@dataclass(frozen=True, slots=True)
class AccessScope:
    """Who is asking: the principals of the caller (user id, teams, roles)."""

    principals: frozenset[str]

    @classmethod
    def of(cls, *principals: str) -> AccessScope:
        return cls(frozenset(p for p in principals if p))

    def permits(self, acl: tuple[str, ...] | list[str], deny: tuple[str, ...] | list[str]) -> bool:
        """The one access rule: some principal in ``acl`` and none in ``deny``."""
        return bool(self.principals.intersection(acl)) and not self.principals.intersection(deny)


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """``case_ids`` (when not empty) keeps records of those cases only; it narrows, never
    widens, what the caller may see (a child's name in the query sets it)."""

    case_id: str | None = None
    doc_types: tuple[str, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    case_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """One search. ``understand`` turns on the social-care query understanding rules."""

    text: str
    scope: AccessScope
    filters: SearchFilters = SearchFilters()
    mode: Mode = "hybrid"
    top_k: int = 10
    offset: int = 0
    understand: bool = True
    today: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Snippet:
    text: str
    char_start: int
    char_end: int
    highlights: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class Hit:
    """One record in a result list, with the passage that made it match."""

    document_id: str
    case_id: str | None
    doc_type: str | None
    title: str
    created_at: dt.date | None
    score: float
    chunk_id: str
    snippet: Snippet
    source_uri: str | None
    why: Mapping[str, Any]
    subjects: tuple[Subject, ...] = ()
    # a recording's hit: the seconds (start, end) in which the snippet was heard
    time_range: tuple[float, float] | None = None


@dataclass(frozen=True, slots=True)
class SearchResult:
    hits: tuple[Hit, ...]
    took_ms: float
    understanding: Mapping[str, Any] = field(default_factory=dict)
    # records the caller may see, within the filters, that match at all: a query word, or a
    # meaning above the relevance floor (counted over every such record, not only this page)
    total: int = 0


@dataclass(frozen=True, slots=True)
class SearchConfig:
    """Ranking knobs. Boosts are in units of one rank-1 RRF vote, ``1 / (rrf_k + 1)``."""

    rrf_k: float = 20.0
    candidates: int = 200
    type_boost: float = 1.0
    recency_boost: float = 1.0
    recency_window: int = 20
    recency_threshold: float = 0.8
    recency_threshold_typed: float = 0.5
    versioned_doc_types: tuple[str, ...] = ("safety_plan", "cp_plan", "cin_plan")
    negation_window: int = 50
    scope_common_share: float = 0.8
    scope_common_min_records: int = 10
    negation_penalty: float = 3.0
    snippet_sentences: int = 2
    snippet_max_chars: int = 480
    # Concept queries (the query names an indicator category: "instances of neglect"). Each
    # switch can be turned off for the evaluation's ablation table.
    concept_indicators: bool = True  # BM25 also matches the category's record wordings
    concept_exemplar_weight: float = 1.0  # the exemplars' mean direction added to the query's
    concept_rrf_k: float = 60.0  # RRF constant for a concept query that names no record type
    # how a concept query's two lists are fused: "convex" (normalised scores,
    # retrieval.fusion.convex_combination, dense weight ``concept_dense_weight``, the value
    # Bruch et al. 2023 found best in domain) or "rrf" (ranks only, ``concept_rrf_k``)
    concept_fusion: Literal["convex", "rrf"] = "convex"
    concept_dense_weight: float = 0.8
    # a query naming no concern and no record type is read as the concern whose exemplars'
    # direction it reaches at this cosine (None: by name only). 0.45 is above every one of
    # 1,278 public-collection queries (SciFact, MEDLINE, Cranfield: at most 0.38) and the
    # synthetic file's wishes-and-feelings questions (0.39); README "Domain ranking rules"
    concept_by_meaning: float | None = 0.45
    # A free query naming no concern and read as none by meaning is read as the one concern
    # of which it holds at least this many record wordings (the library's indicators, each
    # a sign of that concern) in separate places: "child hungry or not being fed" (neglect),
    # "older men giving a child gifts or lifts" (sexual exploitation). A wording that is a
    # sign of two concerns reads as neither. None: never. README "Domain ranking rules".
    concept_by_signs: int | None = 1
    # A question that asks a child's own concern (self-harm, going missing) of a parent
    # ("parent took an overdose") is not read as that concern: its wordings and exemplars
    # describe the child (indicators.not_asked_of_parent). False: read as typed.
    concern_asked_of_parent: bool = True
    # Pseudo-relevance feedback for a concept query (Rocchio 1971, on vectors as in Li et al.,
    # ACM TOIS 41(3), 2023): the query's vector moves towards the mean of its
    # ``concept_feedback_depth`` nearest chunks among the records the caller may see, with
    # weight ``concept_feedback_weight`` (0: off), and the dense list is ranked again.
    concept_feedback_depth: int = 3
    concept_feedback_weight: float = 0.5
    # Case evidence for a concept query across cases (retrieval.fusion.with_group_evidence):
    # each candidate's score is mixed, with this weight, with the mean of the best
    # ``case_evidence_depth`` scores in its case, so the records of cases where the concern
    # recurs rise together (0: off). README "Domain ranking rules".
    case_evidence_weight: float = 0.2
    case_evidence_depth: int = 3
    # A record-type word inside a concern's name names no type (the longest phrase wins, as
    # within doc_types.tsv): "parents with mental health problems" is a concept query, not a
    # look-up of health contacts. False: the type word counts wherever it stands.
    concern_names_stop_types: bool = True
    rules_by_kind: bool = True  # False: apply every look-up rule to every query (as before)
    # Look-up rules, each switchable for the ablation table (type_boost = 0 and
    # negation_penalty = 0 switch off the other two).
    recency: bool = True  # newest matching record first; plans in force first
    # Relevance floor (hybrid search; the bm25 and dense modes are unfloored baselines). A
    # record is a match when its meaning reaches ``floor_cosine`` with the query, or when it
    # holds query words and either its meaning reaches ``floor_cosine_with_words`` or it holds
    # at least ``floor_word_share`` of the query's own words. "xylophone trampoline zebra"
    # then finds nothing, though one record mentions a trampoline. Calibrated in README
    # ("Relevance floor"); relevance_floor = False switches it off.
    relevance_floor: bool = True
    floor_cosine: float = 0.35
    floor_cosine_with_words: float = 0.23
    floor_word_share: float = 0.5
    scope_common: bool = True  # leave out words found in most records of one case
