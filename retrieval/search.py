"""Hybrid search: candidates → BM25 and dense lists → RRF → domain boosts → cited hits.

Order of operations (each step is a module of its own):
1. ``understanding`` reads the query (abbreviations, misspellings, date phrases, recency and
   document-type intent) when the request asks for it.
2. ``access`` selects the candidate records (permissions and filters) in SQL, inside one read
   snapshot; nothing outside them is ranked, counted or cut into snippets.
3. ``lexical`` (FTS5 BM25) and ``dense`` (exact numpy cosine; with Qdrant configured, Qdrant's
   cosine with the caller's scope inside the query, each hit re-checked against this
   snapshot's masks, ``retrieval.dense``) each return their top chunks.
   BM25 takes the query's own terms one by one and each wording the understanding step added
   as one group of nearby terms (``lexical.TermGroup``). Its statistics (document
   frequencies, mean length) are counted over the records the caller may see, so records
   hidden from her change nothing she gets back.
4. Each list is collapsed to records by their best chunk; RRF fuses the record lists.
5. Boosts from the understanding step (named document type, recency) are added in RRF units.
6. The page of hits gets its snippet from the record's best chunk (``snippets``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from retrieval import analysis, pksets
from retrieval.access import scope_masks, visible_records
from retrieval.assertion import assess_spans
from retrieval.dense import DenseIndex
from retrieval.embedding import Embedder
from retrieval.errors import InvalidQueryError
from retrieval.evidence import MeaningOnly, SentenceVectors, nearest_sentences
from retrieval.fusion import (
    collapse_to_records,
    convex_combination,
    reciprocal_rank_fusion,
    with_group_evidence,
)
from retrieval.indicators import (
    Category,
    bm25_wording,
    find_wordings,
    load_library,
    not_asked_of_parent,
    parents_are_others,
)
from retrieval.lexical import (
    BoolArray,
    IntArray,
    Population,
    TermGroup,
    bm25_search,
    group_matches,
    group_matches_within,
    single_terms,
    within,
)
from retrieval.models import (
    AccessScope,
    Document,
    Hit,
    SearchConfig,
    SearchFilters,
    SearchRequest,
    SearchResult,
    Snippet,
)
from retrieval.negation import mentions_only_negated
from retrieval.people import NameResolution, PeopleDirectory, VisiblePeople, resolve_names
from retrieval.qdrant_index import QdrantIndex
from retrieval.qdrant_queries import Scope
from retrieval.snippets import make_snippet, recording_time
from retrieval.store import RecordStore
from retrieval.understanding import QueryUnderstanding, understand


@dataclass(slots=True)
class _Candidate:
    record_pk: int
    score: float
    chunk_pk: int
    bm25_rank: int | None = None
    dense_rank: int | None = None
    bm25_score: float | None = None
    cosine: float | None = None
    boosts: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _People:
    """The people directory a searcher holds, and how much of the store has changed since it
    was last loaded whole (records changed and chunks removed, counted per patch)."""

    directory: PeopleDirectory
    churn: int = 0


@dataclass(slots=True)
class _Ranked:
    groups: list[TermGroup]
    filters: SearchFilters
    reading: QueryUnderstanding | None
    page: list[_Candidate] = field(default_factory=list)
    docs: dict[int, Document] = field(default_factory=dict)
    spans: dict[int, tuple[int, int, int, int]] = field(default_factory=dict)
    ids: dict[int, str] = field(default_factory=dict)
    dropped_groups: frozenset[TermGroup] = frozenset()
    fusion: str = "rrf"  # how the two lists were fused: "rrf" or "convex" (concept queries)
    concepts_by: str | None = None  # "name", "meaning" or "signs": how the concern was read
    feedback: int = 0  # chunks whose mean moved the query's vector (pseudo-relevance feedback)
    case_evidence: bool = False  # scores mixed with their case's (concept query across cases)
    concepts: tuple[Category, ...] = ()
    kind: QueryKind = "free"
    # the query's own wordings (before a concept's record wordings were added): the negation
    # check reads these, since an indicator may itself hold a cue ("no food")
    own_groups: list[TermGroup] = field(default_factory=list)
    total: int = 0
    naming: NameResolution | None = None
    # the vector the dense list was ranked by (None in BM25 mode)
    vector: np.ndarray[Any, Any] | None = None

    @property
    def query_terms(self) -> frozenset[str]:
        return frozenset(t for g in self.own_groups for t in g)


QueryKind = Literal["lookup", "concept", "free"]
PEOPLE_KEPT = 16
PEOPLE_PATCH_MIN_ROWS = 3_000
"""A directory of fewer rows counts as this many when its churn is weighed against a third of
its rows (a small store's directory is patched a while before it is loaded whole again)."""
SCOPED_MATCHES_MAX_CHUNKS = 2_000
"""Up to this many chunks in one case, a caller who sees every record has each word's matches
found in the case's own chunks (``lexical.group_matches_within``), not read over the whole
index: at a million chunks a common word's index-wide matches took 40–150 ms to read."""
"""Visible sets whose children are kept per store generation (a search with no case filter
otherwise rebuilds every visible child: 0.36 s a search at a million chunks, docs/scale.md)."""


def query_kind(reading: QueryUnderstanding | None, concepts: tuple[Category, ...]) -> QueryKind:
    """Which rules a query gets (``SearchConfig.rules_by_kind``).

    - ``lookup``: it names a record type or asks for the latest ("current safety plan",
      "last seen by the GP"): type boost, recency and plan versions apply.
    - ``concept``: it names a safeguarding concern and no record type ("instances of
      neglect"): records that *describe* the concern matter more than ones that name it, so
      the look-up rules stay off, fusion leans on meaning (``concept_rrf_k``) and the concern's
      record wordings and exemplars are added.
    - ``free``: anything else (words from a record): every rule applies as it always has.
    """
    if reading is not None and (reading.doc_types or reading.recency):
        return "lookup"
    return "concept" if concepts else "free"


class HybridSearcher:
    """Runs searches over one store. Thread-safe; one instance per process.

    With ``qdrant``, the dense candidates come from it (the in-memory index then keeps no
    vectors, only what BM25's population needs); the lexical list is the store's BM25 either
    way (why: ``retrieval.qdrant_index``). Qdrant is not written here: the indexer and the
    push path keep it in step (``QdrantIndex.sync``)."""

    def __init__(
        self,
        store: RecordStore,
        embedder: Embedder,
        config: SearchConfig | None = None,
        *,
        qdrant: QdrantIndex | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.config = config or SearchConfig()
        self.qdrant = qdrant
        self.dense = DenseIndex(embedder.dimension, remote=qdrant)
        self.concept_directions: dict[str, np.ndarray[Any, np.dtype[np.float32]]] = {}
        self._exemplar_lock = threading.Lock()
        self._people: tuple[int, _People, OrderedDict[bytes, VisiblePeople]] | None = None
        self._people_lock = threading.Lock()
        self._sentences = SentenceVectors()

    def warm(self) -> None:
        """Load the vectors, the model and the query rules now, not on the first search.

        A service that answers ``/readyz`` after this answers its first search at full speed.
        """
        with self.store.snapshot() as conn:
            self.dense.sync(self.store, conn)
            self._people_directory(conn)  # children's names: read by every search across cases
        self.embedder.embed(["warm up"])
        understand("warm up", today=dt.date.today(), vocabulary=analysis.english_vocabulary)
        for category in load_library().categories:
            self.concept_direction(category)

    def search(self, request: SearchRequest) -> SearchResult:
        """Rank the records ``request.scope`` may see; see the module docstring for the steps.

        Raises ``InvalidQueryError`` for a blank query and ``AccessCheckError`` when
        permissions cannot be evaluated (the caller must fail closed).
        """
        started = time.perf_counter()
        ranked = self._rank(request, with_documents=True)
        shown = [
            c for c in ranked.page if c.record_pk in ranked.docs and c.chunk_pk in ranked.spans
        ]
        hits = tuple(
            self._hit(
                c,
                ranked.docs[c.record_pk],
                ranked.spans[c.chunk_pk],
                ranked.groups,
                ranked.filters,
                ranked.reading,
                ranked.naming,
                ranked.concepts,
            )
            for c in shown
        )
        if ranked.vector is not None:
            hits = self._quote_by_meaning(hits, shown, ranked, ranked.vector)
        took_ms = (time.perf_counter() - started) * 1000
        understanding = dict(_explain(ranked.reading, ranked))
        if ranked.naming is not None and ranked.naming.people:
            understanding["people"] = [p.as_json() for p in ranked.naming.people]
            if ranked.filters.case_ids:
                understanding["scoped_to"] = _scope_text(ranked.naming)
        return SearchResult(
            hits=hits,
            took_ms=took_ms,
            understanding=understanding,
            total=ranked.total,
        )

    def _quote_by_meaning(
        self,
        hits: tuple[Hit, ...],
        shown: list[_Candidate],
        ranked: _Ranked,
        vector: np.ndarray[Any, Any],
    ) -> tuple[Hit, ...]:
        """Hits (of the candidates ``shown``, in order) whose snippet holds none of the query's
        words, and whose chunk is near the query's meaning (cosine ``floor_cosine_with_words``
        or more), quote instead the sentence of that chunk nearest ``vector``, the one the
        dense list was ranked by (``retrieval.evidence``)."""
        bare = [
            i
            for i, (c, h) in enumerate(zip(shown, hits, strict=True))
            if not h.snippet.highlights
            and c.cosine is not None
            and c.cosine >= self.config.floor_cosine_with_words
        ]
        if not bare:
            return hits
        docs = [ranked.docs[shown[i].record_pk] for i in bare]
        items = [
            MeaningOnly(doc.text, *ranked.spans[shown[i].chunk_pk][2:])
            for i, doc in zip(bare, docs, strict=True)
        ]
        quotes = nearest_sentences(
            items,
            vector,
            self.embedder,
            self._sentences,
            self.config.snippet_max_chars,
            self.config.floor_cosine,
        )
        out = list(hits)
        for i, doc, quote in zip(bare, docs, quotes, strict=True):
            if quote is None:
                continue
            out[i] = replace(
                hits[i],
                snippet=quote,
                why={**hits[i].why, "snippet": "nearest sentence by meaning"},
                time_range=recording_time(doc.extra, quote.char_start, quote.char_end),
            )
        return tuple(out)

    def rank_ids(self, request: SearchRequest) -> list[tuple[str, float]]:
        """The same ranking as ``search`` as ``(record id, score)`` pairs, without snippets.

        Used by the evaluation harness, which needs a hundred ids per query, not passages.
        """
        ranked = self._rank(request, with_documents=False)
        return [(ranked.ids[c.record_pk], c.score) for c in ranked.page]

    def _rank(self, request: SearchRequest, *, with_documents: bool) -> _Ranked:
        if not request.text.strip():
            raise InvalidQueryError("the query is empty")
        today = request.today or dt.date.today()
        reading: QueryUnderstanding | None = None
        text = request.text
        filters = request.filters
        naming: NameResolution | None = None
        if request.understand and filters.case_id is None and not filters.case_ids:
            naming = self.resolve_names(request)
            person = naming.person
            if person is not None and person.case_ids:
                # narrows the caller's visible set to the child's cases, never widens it
                filters = replace(filters, case_ids=person.case_ids)
                text = naming.text if naming.text.strip() else request.text
        dense_text = text
        if not request.understand:
            groups = single_terms(analysis.terms(text))
        else:
            reading = understand(
                text,
                today=today,
                vocabulary=analysis.english_vocabulary,
                concern_names=self.config.concern_names_stop_types,
            )
            dense_text = reading.dense_query
            groups = _lexical_groups(reading)
            filters = replace(
                filters,
                date_from=filters.date_from or reading.date_from,
                date_to=filters.date_to or reading.date_to,
            )
        if request.mode == "bm25" and not groups:
            raise InvalidQueryError("the query has no searchable words")
        query_vector = None
        if request.mode in ("dense", "hybrid"):
            query_vector = self.embedder.embed([dense_text.strip() or text])[0]
        concepts, concepts_by = self.read_concerns(reading, text, query_vector)
        kind = query_kind(reading, concepts)
        own_groups = list(groups)
        if concepts and self.config.concept_indicators:
            groups = _with_indicators(groups, concepts)
        if concepts and query_vector is not None and self.config.concept_exemplar_weight > 0:
            query_vector = self._towards_exemplars(query_vector, concepts)

        limit = max(self.config.candidates, request.offset + request.top_k)
        ranked = _Ranked(
            groups=groups,
            filters=filters,
            reading=reading,
            concepts=concepts,
            kind=kind,
            own_groups=own_groups,
            naming=naming,
            vector=query_vector,
            concepts_by=concepts_by,
        )
        by_kind = self.config.rules_by_kind
        lookup_rules = not by_kind or kind != "concept"
        with self.store.snapshot() as conn:
            self.dense.sync(self.store, conn)
            # every record the caller may see (BM25's statistics), and those passing filters
            visible, allowed = scope_masks(conn, request.scope, filters)
            count = int(np.count_nonzero(allowed))
            lists: list[list[tuple[int, int, float]]] = [[], []]
            # a query with nothing left to mean ("latest") ranks by date: no floor
            content = reading is None or bool(reading.dense_query.strip())
            floored = (
                self.config.relevance_floor
                and request.mode == "hybrid"
                and content
                and not _case_scoped(filters)
            )
            lexical: list[IntArray] = []  # per useful group, the records it matches
            useful: list[TermGroup] = []
            if request.mode in ("bm25", "hybrid"):
                population = self.dense.population(visible)
                in_scope = population.restrict(allowed)
                # inside one case each group's matches come from the case's chunks alone;
                # BM25 then reads index-wide counts only for what the case holds
                within_case = bool(
                    _case_scoped(filters)
                    and np.count_nonzero(in_scope) <= SCOPED_MATCHES_MAX_CHUNKS
                )
                if within_case:
                    matches = group_matches_within(conn, groups, np.flatnonzero(in_scope))
                else:
                    matches = group_matches(conn, groups)
                if (
                    reading is not None
                    and _case_scoped(filters)
                    and lookup_rules
                    and self.config.scope_common
                ):
                    ranked.dropped_groups = self._scope_common_groups(
                        groups, matches, in_scope, population, count
                    )
                useful = [g for g in groups if g not in ranked.dropped_groups]
                lists[0] = bm25_search(
                    conn,
                    useful,
                    matches,
                    in_scope,
                    population,
                    limit,
                    matches_within_candidates=within_case,
                )
                lexical = [
                    pksets.distinct(population.record_of[rows[within(in_scope, rows)]])
                    for rows in (matches[g] for g in useful)
                ]
            dense_any = dense_strong = np.empty(0, dtype=np.int64)
            if query_vector is not None:
                low = self.config.floor_cosine_with_words if floored else -np.inf
                scope = _remote_scope(request.scope, filters) if self.qdrant else None
                depth = self._feedback_depth() if concepts else 0
                # the floor is the query's own: its sets come from this first pass
                lists[1], dense_any, dense_strong = self.dense.search_above(
                    query_vector,
                    allowed,
                    depth or limit,
                    low,
                    self.config.floor_cosine if floored else None,
                    scope=scope,
                )
                if depth:
                    query_vector, ranked.feedback = self._with_feedback(
                        conn, query_vector, lists[1]
                    )
                    ranked.vector = query_vector
                    # the top chunks, then those above the floor: the same chunks as asking
                    # for the top above it, without a remote index listing all above again
                    ranked_again = self.dense.search(query_vector, allowed, limit, scope=scope)
                    lists[1] = [found for found in ranked_again if found[2] >= low]
            worded = pksets.union(lexical)
            if floored:
                own = [lexical[useful.index(g)] for g in ranked.own_groups if g in useful]
                covered = _covering(own, self.config.floor_word_share, worded)
                keep = pksets.union([dense_strong, pksets.intersection(worded, dense_any), covered])
            else:
                keep = pksets.union([worded, dense_any])
            ranked.total = int(keep.size)
            rrf_k = self.config.concept_rrf_k if by_kind and kind == "concept" else None
            candidates = self._fuse(lists, rrf_k=rrf_k)
            if rrf_k is not None and self.config.concept_fusion == "convex":
                self._rescore_convex(candidates)
                ranked.fusion = "convex"
            if floored:
                kept = set(keep.tolist())
                candidates = [c for c in candidates if c.record_pk in kept]
            if reading is not None and lookup_rules:
                self._boost(conn, candidates, reading, case_scoped=_case_scoped(filters))
            # not a look-up rule: every kind of query that is not itself negated gets it
            if reading is not None and not reading.negated:
                if concepts:
                    self._demote_unasserted(conn, candidates, concepts)
                else:
                    self._demote_negated(conn, candidates, ranked.query_terms)
            if kind == "concept" and by_kind and not _case_scoped(filters):
                ranked.case_evidence = self._with_case_evidence(conn, candidates)
            candidates.sort(key=lambda c: (-c.score, c.record_pk))
            ranked.page = candidates[request.offset : request.offset + request.top_k]
            pks = [c.record_pk for c in ranked.page]
            if with_documents:
                ranked.docs = self.store.documents_by_pk(conn, pks)
                ranked.spans = self.store.chunk_spans(conn, [c.chunk_pk for c in ranked.page])
            else:
                ranked.ids = self.store.ids_by_pk(conn, pks)
        return ranked

    def resolve_names(self, request: SearchRequest) -> NameResolution:
        """The child(ren) ``request.text`` names among those ``request.scope`` may see.

        Only records the caller may see supply names (``retrieval.people``), so a child she
        may not see is an unknown word. Raises ``AccessCheckError`` like ``search``.
        """
        return resolve_names(request.text, self.visible_people(request.scope))

    def visible_people(self, scope: AccessScope) -> VisiblePeople:
        """The children named by records ``scope`` may see (the store's child rows are read
        once per store generation; the people of the last few visible sets are kept with
        them, keyed by a digest of the set itself). Raises ``AccessCheckError`` like
        ``search``."""
        with self.store.snapshot() as conn:
            directory, kept = self._people_directory(conn)
            visible, _ = visible_records(conn, scope)
        # the mask packed eight records a byte (125 KB at a million records), with its length
        packed = np.packbits(visible).tobytes() + visible.size.to_bytes(8, "little")
        key = hashlib.blake2b(packed, digest_size=16).digest()
        with self._people_lock:
            people = kept.get(key)
            if people is not None:
                kept.move_to_end(key)
                return people
        people = directory.visible(visible)
        with self._people_lock:
            kept[key] = people
            while len(kept) > PEOPLE_KEPT:
                kept.popitem(last=False)
        return people

    def _people_directory(
        self, conn: Any
    ) -> tuple[PeopleDirectory, OrderedDict[bytes, VisiblePeople]]:
        generation = self.store.generation(conn)
        with self._people_lock:
            cached = self._people
        if cached is not None and cached[0] == generation:
            return cached[1].directory, cached[2]
        people = None
        if cached is not None and cached[0] < generation:
            people = self._patched_people(conn, cached[1], cached[0])
        if people is None:
            people = _People(PeopleDirectory(self.store.iter_subject_rows(conn, "child")))
        kept: OrderedDict[bytes, VisiblePeople] = OrderedDict()
        with self._people_lock:
            self._people = (generation, people, kept)
        return people.directory, kept

    def _patched_people(self, conn: Any, people: _People, since: int) -> _People | None:
        """The directory of ``since`` with the records changed after it read again (their
        generation is newer: added, rewritten, a permission or people change, a case's people
        replaced); None when a full reload is due: when the records changed, and the chunks
        removed (a deleted record's rows stay in until then, never visible), since the last
        full load reach a third of its rows. At a million chunks a full load took 9.5 s,
        paid by the first search across cases after each change while an indexer ran
        (docs/scale.md)."""
        changed = [pk for pk, _ in self.store.changed_records(conn, since)]
        churn = people.churn + len(changed) + self.store.removed_chunk_count_since(conn, since)
        if churn * 3 > max(people.directory.rows, PEOPLE_PATCH_MIN_ROWS):
            return None
        rows = self.store.subject_rows_of(conn, "child", changed)
        return _People(people.directory.patched(changed, rows), churn)

    def _towards_exemplars(
        self, query_vector: np.ndarray[Any, Any], concepts: tuple[Category, ...]
    ) -> np.ndarray[Any, Any]:
        """The query's direction plus ``concept_exemplar_weight`` times the concepts' own.

        A concept's direction is the normalised mean of its exemplar sentences' embeddings
        (computed once per process), so "instances of neglect" also points at records that
        describe neglect in other words. Cosine search normalises the result.
        """
        directions = [self.concept_direction(c) for c in concepts]
        return _towards(
            query_vector, np.mean(directions, axis=0), self.config.concept_exemplar_weight
        )

    def read_concerns(
        self,
        reading: QueryUnderstanding | None,
        text: str,
        query_vector: np.ndarray[Any, Any] | None,
    ) -> tuple[tuple[Category, ...], str | None]:
        """The safeguarding concerns a query asks about, and how they were read: ``"name"``
        (it names them: "instances of neglect"); for a free query naming none, ``"meaning"``
        (its vector is near one concern's exemplars: "children not being fed") or else
        ``"signs"`` (it holds a record wording of exactly one concern: "child hungry")."""
        if reading is None:
            return (), None
        library = load_library()
        found: tuple[Category, ...] = ()
        how: str | None = None
        if named := library.named_in(reading.lexical_query or text, reading.dense_query):
            found, how = named, "name"
        elif query_kind(reading, ()) != "free":
            return (), None
        elif query_vector is not None and (meant := self._concern_by_meaning(query_vector)):
            found, how = meant, "meaning"
        elif self.config.concept_by_signs is not None and (
            shown := library.described_in(reading.lexical_query, self.config.concept_by_signs)
        ):
            found, how = shown, "signs"
        if self.config.concern_asked_of_parent:
            # a child's own concern asked of a parent is not read (searched by its words and
            # meaning, or by the other concerns the question names)
            found = not_asked_of_parent(text, found)
        return (found, how) if found else ((), None)

    def _feedback_depth(self) -> int:
        """How many nearest chunks move a concept query's vector (0: feedback is off)."""
        if self.config.concept_feedback_weight <= 0:
            return 0
        return max(self.config.concept_feedback_depth, 0)

    def _with_feedback(
        self, conn: Any, query_vector: np.ndarray[Any, Any], nearest: list[tuple[int, int, float]]
    ) -> tuple[np.ndarray[Any, Any], int]:
        """``query_vector`` moved towards the mean of the ``nearest`` chunks' vectors
        (pseudo-relevance feedback, ``SearchConfig.concept_feedback_*``), and how many moved
        it: a concept query then also finds the records worded like the ones that best show
        the concern in *this* store. ``nearest`` come from the dense list over the records the
        caller may see (within the filters, above the floor), so what one caller may not see
        never shapes another's ranking. The relevance floor stays the query's own."""
        stored = self.store.chunk_vectors(conn, [chunk_pk for chunk_pk, _, _ in nearest])
        if not stored:
            return query_vector, 0
        vectors = np.stack([np.frombuffer(v, dtype=np.float32) for v in stored.values()])
        weight = self.config.concept_feedback_weight
        return _towards(query_vector, vectors.mean(axis=0), weight), len(stored)

    def _concern_by_meaning(self, query_vector: np.ndarray[Any, Any]) -> tuple[Category, ...]:
        """The one category whose exemplars' direction the query is nearest, when its cosine
        reaches ``concept_by_meaning`` ("children not being fed" names no concern but means
        neglect); none otherwise. Only the library's own sentences are read, never a record."""
        threshold = self.config.concept_by_meaning
        if threshold is None:
            return ()
        query = query_vector / max(float(np.linalg.norm(query_vector)), 1e-12)
        best: tuple[float, Category] | None = None
        for category in load_library().categories:
            if not category.exemplars:
                continue
            cosine = float(query @ self.concept_direction(category))
            if best is None or cosine > best[0]:
                best = (cosine, category)
        return (best[1],) if best is not None and best[0] >= threshold else ()

    def concept_direction(self, category: Category) -> np.ndarray[Any, np.dtype[np.float32]]:
        with self._exemplar_lock:
            cached = self.concept_directions.get(category.id)
        if cached is not None:
            return cached
        vectors = self.embedder.embed(list(category.exemplars))
        mean: np.ndarray[Any, np.dtype[np.float32]] = np.mean(vectors, axis=0).astype(np.float32)
        mean /= max(float(np.linalg.norm(mean)), 1e-12)
        with self._exemplar_lock:
            self.concept_directions[category.id] = mean
        return mean

    def _fuse(
        self, lists: list[list[tuple[int, int, float]]], *, rrf_k: float | None = None
    ) -> list[_Candidate]:
        """Collapse each ``(chunk, record, score)`` list to records and fuse them with RRF."""
        k = self.config.rrf_k if rrf_k is None else rrf_k
        pairs = [[(c, r) for c, r, _ in chunks] for chunks in lists]
        record_lists = [collapse_to_records(p) for p in pairs]
        fused = reciprocal_rank_fusion([rl for rl in record_lists if rl], k=k)
        chunk_scores = dict(reciprocal_rank_fusion([[c for c, _ in p] for p in pairs if p], k=k))
        best_chunk: dict[int, int] = {}
        best_raw: list[dict[int, float]] = [{}, {}]
        for which, chunks in enumerate(lists):
            for chunk_pk, record_pk, raw in chunks:
                current = best_chunk.get(record_pk)
                if current is None or chunk_scores[chunk_pk] > chunk_scores[current]:
                    best_chunk[record_pk] = chunk_pk
                best_raw[which].setdefault(record_pk, raw)
        ranks = [{r: i for i, r in enumerate(rl, start=1)} for rl in record_lists]
        return [
            _Candidate(
                record_pk=record_pk,
                score=score,
                chunk_pk=best_chunk[record_pk],
                bm25_rank=ranks[0].get(record_pk),
                dense_rank=ranks[1].get(record_pk),
                bm25_score=best_raw[0].get(record_pk),
                cosine=best_raw[1].get(record_pk),
            )
            for record_pk, score in fused
        ]

    def _with_case_evidence(self, conn: Any, candidates: list[_Candidate]) -> bool:
        """Mix each candidate's score with its case's evidence
        (``retrieval.fusion.with_group_evidence``, ``SearchConfig.case_evidence_*``); whether
        it was applied. Only the candidates are read, and they are records the caller may
        see within the filters, so a case's evidence never counts a record she may not see.
        A record's change is kept in ``boosts["case_evidence"]``."""
        weight = self.config.case_evidence_weight
        if weight <= 0 or len(candidates) < 2:
            return False
        cases = self.store.cases_by_pk(conn, [c.record_pk for c in candidates])
        if len({cases.get(c.record_pk) for c in candidates}) < 2:
            return False  # one case: its evidence would move every record alike
        mixed = with_group_evidence(
            {c.record_pk: c.score for c in candidates},
            dict(cases),
            weight=weight,
            depth=self.config.case_evidence_depth,
        )
        for c in candidates:
            c.boosts["case_evidence"] = mixed[c.record_pk] - c.score
            c.score = mixed[c.record_pk]
        return True

    def _rescore_convex(self, candidates: list[_Candidate]) -> None:
        """Replace each candidate's RRF score by the convex combination of its best chunk
        scores (``retrieval.fusion.convex_combination``); a record outside the dense list
        gets the list's lowest cosine, the most it can have."""
        cosines = [c.cosine for c in candidates if c.cosine is not None]
        missing = min(cosines, default=-1.0)
        fused = dict(
            convex_combination(
                {c.record_pk: c.bm25_score for c in candidates if c.bm25_score is not None},
                {c.record_pk: c.cosine if c.cosine is not None else missing for c in candidates},
                dense_weight=self.config.concept_dense_weight,
            )
        )
        top_vote = 1.0 / (self.config.concept_rrf_k + 1)
        for c in candidates:  # on the RRF scale (its top is 2 votes), so the rules' votes hold
            c.score = fused[c.record_pk] * 2 * top_vote

    def _boost(
        self,
        conn: Any,
        candidates: list[_Candidate],
        reading: QueryUnderstanding,
        *,
        case_scoped: bool,
    ) -> None:
        """Apply the document-type boost and, for recency intent, newest-matching-first.

        Recency: the pool is the candidates of the named type(s) (else every candidate); the
        best ``recency_window`` of them by relevance are "matching" when their relevance (the
        mean of BM25 and cosine, each divided by the pool's best) reaches a share of the best:
        ``recency_threshold_typed`` when a type was named (the type is itself evidence), else
        ``recency_threshold``. Matching records go first, newest first; the rest keep their
        order below them. "Current safety plan" thus returns the latest version first, and
        "last seen by the GP" the latest GP contact rather than the latest optician letter.

        Plans supersede their earlier versions: within one case, a query naming a versioned
        type (``versioned_doc_types``: safety, CP and CIN plans) asks for the one in force, so
        recency is implied and every record of that type matches.
        """
        if not candidates or not (reading.doc_types or reading.recency):
            return
        versioned = set(reading.doc_types) & set(self.config.versioned_doc_types)
        plan_lookup = case_scoped and bool(versioned)
        vote = 1.0 / (self.config.rrf_k + 1)
        meta = self.store.types_and_dates(conn, [c.record_pk for c in candidates])
        wanted = set(reading.doc_types)
        typed = [c for c in candidates if meta.get(c.record_pk, (None, None))[0] in wanted]
        for c in typed:
            c.score += self.config.type_boost * vote
            c.boosts["doc_type"] = self.config.type_boost * vote
        if not (reading.recency or plan_lookup) or not self.config.recency:
            return
        if plan_lookup:
            pool = [c for c in typed if meta[c.record_pk][0] in versioned]
            threshold = 0.0
        else:
            pool = sorted(typed or candidates, key=lambda c: (-c.score, c.record_pk))
            pool = pool[: self.config.recency_window]
            typed_pool = bool(typed)
            threshold = (
                self.config.recency_threshold_typed if typed_pool else self.config.recency_threshold
            )
        relevance = _relative_relevance(pool)
        best = max(relevance.values(), default=0.0)
        matching = [
            c for c in pool if relevance[c.record_pk] >= threshold * best and meta[c.record_pk][1]
        ]
        matching.sort(key=lambda c: (str(meta[c.record_pk][1]), c.score), reverse=True)
        top = max(c.score for c in candidates)
        for position, c in enumerate(matching):
            lifted = top + self.config.recency_boost * vote * (len(matching) - position)
            c.boosts["recency"] = lifted - c.score
            c.score = lifted

    def _scope_common_groups(
        self,
        groups: list[TermGroup],
        matches: Mapping[TermGroup, IntArray],
        candidates: BoolArray,
        population: Population,
        count: int,
    ) -> frozenset[TermGroup]:
        """Query terms (or groups) in most records in scope: they cannot tell those apart.

        In one child's case file the child's name is in nearly every record; BM25 still counts
        it as rare over everything the caller may see and lets it drown the words that matter
        ("has Bradley been to the doctors"). Terms in at least ``scope_common_share`` of the
        candidate records are left out of BM25 (never all of them). Counted over the caller's
        candidates only, and only within one case: across cases BM25's own statistics apply.
        """
        if count < self.config.scope_common_min_records:
            return frozenset()
        common: set[TermGroup] = set()
        distinct = list(dict.fromkeys(groups))
        for group in distinct:
            rows = matches[group]
            records = population.record_of[rows[within(candidates, rows)]]
            if np.unique(records).size >= self.config.scope_common_share * count:
                common.add(group)
        return frozenset(common) if len(common) < len(distinct) else frozenset()

    def _demote_unasserted(
        self, conn: Any, candidates: list[_Candidate], concepts: tuple[Category, ...]
    ) -> None:
        """Move down records whose every mention of the concern reads as not asserted.

        A mention is a name or record wording of the concern; the assertion detector
        (``retrieval.assertion``, ConText-style) reads it in its sentence. A record that only
        says "no concerns about neglect", "if mum drinks again" or "her sister neglected her
        children" is not an instance of the concern. Historical mentions count as asserted.
        Records found by meaning alone (no mention) are left where they are.
        """
        if self.config.negation_penalty <= 0:
            return
        window = sorted(candidates, key=lambda c: (-c.score, c.record_pk))
        window = window[: self.config.negation_window]
        if not window:
            return
        wordings = [w for c in concepts for w in c.mentions]
        others = parents_are_others(concepts)
        texts = self._texts(conn, [c.record_pk for c in window])
        vote = 1.0 / (self.config.concept_rrf_k + 1)
        for c in window:
            text = texts.get(c.record_pk, "")
            spans = [(m.start, m.end) for m in find_wordings(text, wordings)]
            if not spans:
                continue
            readings = assess_spans(text, spans, parents_are_others=others)
            if all(r.label in ("negated", "hypothetical", "other person") for r in readings):
                penalty = self.config.negation_penalty * vote
                c.score -= penalty
                c.boosts["not_asserted"] = -penalty

    def _texts(self, conn: Any, pks: list[int]) -> dict[int, str]:
        """Title and text of each record, as one string: the title is indexed with the text,
        so it is read with it ("Strat discussion" above a note whose only other match is in
        "did not meet" is not a negated mention)."""
        return {
            pk: f"{title}\n{text}"
            for pk, (title, text) in self.store.titles_and_texts(conn, pks).items()
        }

    def _demote_negated(
        self, conn: Any, candidates: list[_Candidate], query_terms: frozenset[str]
    ) -> None:
        """Move records that mention the query's terms only in negated clauses down.

        "No concerns about neglect" must not rank as an instance of neglect. Only the best
        ``negation_window`` candidates are read (the ones a user would see).
        """
        if not query_terms or self.config.negation_penalty <= 0:
            return
        window = sorted(candidates, key=lambda c: (-c.score, c.record_pk))
        window = window[: self.config.negation_window]
        if not window:
            return
        texts = self._texts(conn, [c.record_pk for c in window])
        vote = 1.0 / (self.config.rrf_k + 1)
        for c in window:
            if mentions_only_negated(texts.get(c.record_pk, ""), query_terms):
                penalty = self.config.negation_penalty * vote
                c.score -= penalty
                c.boosts["negated_mentions_only"] = -penalty

    def _hit(
        self,
        candidate: _Candidate,
        doc: Document,
        span: tuple[int, int, int, int],
        groups: list[TermGroup],
        filters: SearchFilters,
        reading: QueryUnderstanding | None,
        naming: NameResolution | None = None,
        concepts: tuple[Category, ...] = (),
    ) -> Hit:
        _record_pk, ordinal, start, end = span
        chunk_terms = {t.term for t in analysis.tokens(doc.text[start:end])}
        chunk_terms.update(analysis.terms(doc.title))
        # a group's terms count only where the whole group is present
        matched = frozenset(t for g in groups if chunk_terms.issuperset(g) for t in g)
        snippet = make_snippet(
            doc.text,
            start,
            end,
            matched,
            max_sentences=self.config.snippet_sentences,
            max_chars=self.config.snippet_max_chars,
        )
        why: dict[str, Any] = {
            "matched_terms": sorted(matched),
            "bm25_rank": candidate.bm25_rank,
            "dense_rank": candidate.dense_rank,
            "cosine": None if candidate.cosine is None else round(candidate.cosine, 4),
            "fused_score": round(candidate.score, 6),
            "boosts": {k: round(v, 6) for k, v in candidate.boosts.items()},
            "filters": _filters_json(filters),
        }
        if reading is not None:
            why["query"] = _explain(reading)
        if naming is not None and filters.case_ids:
            why["scoped_to"] = _scope_text(naming)
        if concepts:
            why["concern"] = _concern_reading(doc.text, snippet, concepts)
        return Hit(
            document_id=doc.id,
            case_id=doc.case_id,
            doc_type=doc.doc_type,
            title=doc.title,
            created_at=doc.created_at,
            score=round(candidate.score, 6),
            chunk_id=f"{doc.id}#{ordinal}",
            snippet=snippet,
            source_uri=doc.source_uri,
            why=why,
            subjects=doc.subjects,
            time_range=recording_time(doc.extra, *_cited_words(snippet)),
        )


def _cited_words(snippet: Snippet) -> tuple[int, int]:
    """Record offsets of the snippet's highlighted words (first to last), or of the whole
    snippet when none is highlighted: a recording's hit cites when those words were said, not
    the up to two sentences around them."""
    if not snippet.highlights:
        return snippet.char_start, snippet.char_end
    first = min(start for start, _ in snippet.highlights)
    last = max(end for _, end in snippet.highlights)
    return snippet.char_start + first, snippet.char_start + last


def _concern_reading(text: str, snippet: Snippet, concepts: tuple[Category, ...]) -> dict[str, Any]:
    """How the snippet's first mention of the concern reads ("affirmed", "negated",
    "historical", "hypothetical", "other person"), or that the record matched by meaning."""
    wordings = [w for c in concepts for w in c.mentions]
    quoted = text[snippet.char_start : snippet.char_end]
    found = find_wordings(quoted, wordings)
    if not found:
        return {"read_as": "meaning", "wording": None}
    first = found[0]
    span = (snippet.char_start + first.start, snippet.char_start + first.end)
    others = parents_are_others(concepts)
    reading = assess_spans(text, [span], parents_are_others=others)[0]
    return {"read_as": reading.label, "wording": first.wording}


def _towards(
    vector: np.ndarray[Any, Any], direction: np.ndarray[Any, Any], weight: float
) -> np.ndarray[Any, np.dtype[np.float32]]:
    """The unit vector along ``vector`` plus ``weight`` times ``direction``, both first
    normalised (so ``weight`` 1 is an even mix, whatever their lengths)."""
    unit = vector / max(float(np.linalg.norm(vector)), 1e-12)
    toward = direction / max(float(np.linalg.norm(direction)), 1e-12)
    blended = unit + weight * toward
    out: np.ndarray[Any, np.dtype[np.float32]] = (
        blended / max(float(np.linalg.norm(blended)), 1e-12)
    ).astype(np.float32)
    return out


def _covering(own: list[IntArray], share: float, worded: IntArray) -> IntArray:
    """Records holding at least ``share`` of the query's own words (each word's records in
    ``own``); every worded record when none of the query's own words is left to count."""
    if not own:
        return worded
    return pksets.held_by_at_least(own, max(1, int(np.ceil(share * len(own)))))


def _with_indicators(groups: list[TermGroup], concepts: tuple[Category, ...]) -> list[TermGroup]:
    """``groups`` followed by each concept's record wordings, each one group, distinct."""
    added = [g for c in concepts for w in c.indicators if (g := bm25_wording(w)) is not None]
    return [g for g in dict.fromkeys([*groups, *added]) if g]


def _lexical_groups(reading: QueryUnderstanding) -> list[TermGroup]:
    """The query's own terms one by one, then each added wording as one group, distinct."""
    groups = single_terms(analysis.terms(reading.lexical_base))
    groups += [tuple(analysis.terms(added)) for added in reading.lexical_additions]
    return [g for g in dict.fromkeys(groups) if g]


def _relative_relevance(pool: list[_Candidate]) -> dict[int, float]:
    """Per record: the mean over both lists of its raw score divided by the pool's best."""
    best_bm25 = max((c.bm25_score or 0.0 for c in pool), default=0.0)
    best_cos = max((c.cosine or 0.0 for c in pool), default=0.0)
    parts = [p for p in (best_bm25, best_cos) if p > 0]
    out: dict[int, float] = {}
    for c in pool:
        total = 0.0
        if best_bm25 > 0:
            total += (c.bm25_score or 0.0) / best_bm25
        if best_cos > 0:
            total += max(c.cosine or 0.0, 0.0) / best_cos
        out[c.record_pk] = total / len(parts) if parts else 0.0
    return out


def _remote_scope(scope: AccessScope, filters: SearchFilters) -> Scope:
    """The caller and her filters as the Qdrant query takes them. ``case_id`` and ``case_ids``
    together ask for records passing both: ``case_ids`` goes in (it holds them all), and the
    re-check against the store's mask keeps only those passing both."""
    cases = filters.case_ids or ((filters.case_id,) if filters.case_id is not None else ())
    return Scope(
        principals=scope.principals,
        case_ids=cases,
        doc_types=filters.doc_types,
        date_from=filters.date_from,
        date_to=filters.date_to,
    )


def _case_scoped(filters: SearchFilters) -> bool:
    """One case's records (a case filter, or the cases of the one child the query names)."""
    return filters.case_id is not None or bool(filters.case_ids)


def _scope_text(naming: NameResolution) -> str:
    """ "scoped to Ruth Walker, CASE-1042" for the one child the query named."""
    person = naming.people[0]
    return f"scoped to {person.name}, {', '.join(person.case_ids)}"


def _filters_json(filters: SearchFilters) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if filters.case_id:
        out["case_id"] = filters.case_id
    if filters.case_ids:
        out["case_ids"] = list(filters.case_ids)
    if filters.doc_types:
        out["doc_types"] = list(filters.doc_types)
    if filters.date_from:
        out["date_from"] = filters.date_from.isoformat()
    if filters.date_to:
        out["date_to"] = filters.date_to.isoformat()
    return out


def _explain(
    reading: QueryUnderstanding | None, ranked: _Ranked | None = None
) -> Mapping[str, Any]:
    if reading is None:
        return {}
    extra: dict[str, Any] = {}
    if ranked is not None:
        extra = {
            "kind": ranked.kind,
            "concepts": [c.id for c in ranked.concepts],
            "fusion": ranked.fusion,
            "concepts_by": ranked.concepts_by,
            "feedback": ranked.feedback,
            "case_evidence": ranked.case_evidence,
        }
    return {
        **extra,
        "doc_types": list(reading.doc_types),
        "recency": reading.recency,
        "date_from": reading.date_from.isoformat() if reading.date_from else None,
        "date_to": reading.date_to.isoformat() if reading.date_to else None,
        "expansions": [list(p) for p in reading.expansions],
        "corrections": [list(p) for p in reading.corrections],
    }
