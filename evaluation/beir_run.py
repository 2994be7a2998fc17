"""``casesearch eval beir``: index a BEIR collection into a scratch store and evaluate it.

The scratch store lives under ``<data_dir>/eval/<collection>`` and is updated incrementally, so
a second evaluation of the same collection re-embeds nothing; an embedding cache keyed by text
makes even a fresh scratch store cheap to rebuild.

Access: every document keeps the ACL from its metadata (or none) and additionally carries the
principal ``eval:all``. Without ``--principal`` the evaluation user holds ``eval:all`` and so
sees every document; with ``--principal`` the user holds exactly those principals and the
same allow/deny rule as the API applies.

Dense index: with a ``QdrantIndex`` (``--qdrant-url``) the scratch store is synced to it and
reconciled before the queries run, and the dense list of dense and hybrid modes comes from
Qdrant's query with the caller's scope inside it, as in a server process
(``retrieval.qdrant_index``); without, from the in-memory matrix.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from connectors.errors import RecordError
from connectors.record import Record, parse_record
from evaluation.beir import BeirCollection, EvalQuery, document_to_record
from evaluation.harness import EvaluationReport, evaluate
from indexer import Indexer
from retrieval.chunking import ChunkingConfig
from retrieval.embedding import Embedder
from retrieval.errors import InvalidQueryError
from retrieval.models import AccessScope, Mode, SearchConfig, SearchFilters, SearchRequest
from retrieval.qdrant_index import QdrantIndex
from retrieval.qdrant_reconcile import reconcile
from retrieval.search import HybridSearcher
from retrieval.store import RecordStore

EVAL_PRINCIPAL = "eval:all"
Switch = Literal["auto", "on", "off"]
"""``auto``: on for a case file (documents carry ``case_id``), off for other collections."""


def _switched_on(switch: Switch, case_file: bool) -> bool:
    return switch == "on" or (switch == "auto" and case_file)


def collection_records(collection: BeirCollection) -> tuple[list[Record], list[tuple[str, str]]]:
    """Valid records of the collection (with ``eval:all`` added) and the rejected documents."""
    records: list[Record] = []
    rejected: list[tuple[str, str]] = []
    for document in collection.documents:
        raw = document_to_record(document, default_acl=[])
        raw["acl"] = [*(raw.get("acl") or []), EVAL_PRINCIPAL]
        try:
            records.append(parse_record(raw))
        except RecordError as exc:
            rejected.append((exc.source_ref, exc.reason))
    return records, rejected


def evaluate_collection(
    collection: BeirCollection,
    *,
    store: Path | str,
    embedder: Embedder,
    chunking: ChunkingConfig,
    search_config: SearchConfig,
    modes: Sequence[Mode],
    principals: Sequence[str] = (),
    understand: Switch = "auto",
    as_you_type: Switch = "auto",
    today: dt.date | None = None,
    progress: bool = False,
    qdrant: QdrantIndex | None = None,
) -> EvaluationReport:
    """Index ``collection`` into ``store`` (a SQLite file or a PostgreSQL URL; incrementally:
    records not in the collection are removed) and evaluate it; with ``qdrant``, the dense
    lists come from that collection, which is first made equal to the store (module
    docstring). ``qdrant`` is not closed here."""
    opened = RecordStore(store)
    try:
        indexer = Indexer(
            opened, embedder, chunking, progress=progress, batch_size=256, qdrant=qdrant
        )
        records, rejected = collection_records(collection)
        source = f"beir:{collection.name}"
        summary = indexer.apply(records, source=source)
        indexer.remove_absent(source, {r.id for r in records})
        for ref, reason in rejected:
            print(f"skipped {ref}: {reason}", file=sys.stderr)
        dense_index: dict[str, str | int] = {"dense_index": "in-memory"}
        if qdrant is not None:
            # The store remembers how far each collection *name* was synced, not on which
            # Qdrant: a scratch store evaluated before against another folder or server would
            # skip its chunks. Reconcile makes the collection equal to the store either way.
            indexer.sync_index()
            drift = reconcile(opened, qdrant, repair=True)
            dense_index = {
                "dense_index": "qdrant",
                "qdrant_points": qdrant.count(),
                "qdrant_points_repaired": drift.total,
            }

        searcher = HybridSearcher(opened, embedder, search_config, qdrant=qdrant)
        searcher.warm()
        scope = AccessScope.of(*principals) if principals else AccessScope.of(EVAL_PRINCIPAL)
        case_file = any(d.case_id for d in collection.documents)
        use_understanding = _switched_on(understand, case_file)

        def search(query: EvalQuery, mode: Mode) -> list[tuple[str, float]]:
            request = SearchRequest(
                text=query.text,
                scope=scope,
                filters=SearchFilters(case_id=query.case_id),
                mode=mode,
                top_k=100,
                understand=use_understanding,
                today=today,
            )
            try:
                return searcher.rank_ids(request)
            except InvalidQueryError:
                # only stop words ("what's ", typed so far): the page shows no results
                return []

        visible = {r.id for r in records if scope.permits(r.acl, r.deny)}
        return evaluate(
            collection,
            search,
            modes,
            visible_doc_ids=visible,
            as_you_type=_switched_on(as_you_type, case_file),
            context={
                "backend": "postgresql" if opened.postgresql else "embedded-sqlite",
                "embedder": embedder.fingerprint,
                "chunking": chunking.fingerprint(),
                "rrf_k": search_config.rrf_k,
                "principals": ",".join(sorted(scope.principals)),
                "query_understanding": use_understanding,
                "indexed": summary.added + summary.updated + summary.unchanged,
                "rejected_documents": len(rejected),
                "today": (today or dt.date.today()).isoformat(),
                **dense_index,
            },
        )
    finally:
        opened.close()


def run_paths(run_out: Path, modes: Sequence[Mode]) -> dict[Mode, Path]:
    """One TREC run file per mode: ``RUN`` itself for one mode, ``RUN`` + ``.<mode>`` for more."""
    if len(modes) == 1:
        return {modes[0]: run_out}
    return {m: run_out.with_name(f"{run_out.stem}.{m}{run_out.suffix}") for m in modes}
