"""Load a BEIR-layout test collection (DESIGN.md, "BEIR input").

Layout: ``corpus.jsonl`` (``{"_id", "title", "text", "metadata"?}`` per line), ``queries.jsonl``
(``{"_id", "text", "metadata"?}``) and ``qrels/<split>.tsv`` (``query-id``, ``corpus-id``,
``score``, tab-separated, with an optional header line). Document metadata may carry record
fields (``case_id``, ``doc_type``, ``created_at``, ``author``, ``acl``, ``deny`` …); query
metadata may carry ``case_id`` (the query is scoped to that case) and ``kind`` (reported
separately). Any other metadata keys are tolerated and ignored.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluation import EvaluationError

Qrels = Mapping[str, Mapping[str, int]]
"""Query id -> document id -> grade. A grade <= 0 means judged not relevant."""

RECORD_METADATA_FIELDS: tuple[str, ...] = (
    "case_id",
    "doc_type",
    "created_at",
    "updated_at",
    "author",
    "acl",
    "deny",
    "source_uri",
    "attachments",
)
"""Metadata keys that ``document_to_record`` copies into the record; others are dropped."""


class BeirFormatError(EvaluationError):
    """A collection file is missing or malformed; the message names the file and line."""

    def __init__(self, path: Path, line: int | None, reason: str) -> None:
        where = str(path) if line is None else f"{path}:{line}"
        super().__init__(f"{where}: {reason}")
        self.path = path
        self.line = line
        self.reason = reason


@dataclass(frozen=True, slots=True)
class BeirDocument:
    """One corpus line.

    ``metadata`` is the line's ``metadata`` object as given (empty when absent); treat it as
    read-only. ``case_id`` and ``created_at`` are lifted out of it and validated at load time;
    ``created_at`` is normalised to a naive UTC datetime (a date means its midnight).
    """

    id: str
    title: str
    text: str
    metadata: Mapping[str, Any]
    case_id: str | None = None
    created_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class EvalQuery:
    """One judged query: ``case_id`` scopes it to one case, ``kind`` groups it in the report."""

    id: str
    text: str
    case_id: str | None = None
    kind: str | None = None


@dataclass(frozen=True, slots=True)
class BeirCollection:
    """A loaded collection.

    ``documents`` keep corpus file order. ``queries`` hold only the queries judged in the split's
    qrels, in ``queries.jsonl`` order; ``unjudged_queries`` counts the lines left out.
    ``qrels`` keep every judgement as given, including grades <= 0 and documents missing from
    the corpus (as trec_eval does: such a document counts as relevant but can never be found).
    """

    name: str
    path: Path
    split: str
    documents: tuple[BeirDocument, ...]
    queries: tuple[EvalQuery, ...]
    qrels: Qrels
    unjudged_queries: int = 0


def load_collection(path: str | Path, split: str = "test") -> BeirCollection:
    """Read the collection in folder ``path`` with relevance judgements ``qrels/<split>.tsv``.

    Raises ``BeirFormatError`` (naming file and line) when a file is missing, a line is not
    valid JSON or lacks a string ``_id``/``text``, an id is empty, contains whitespace or is
    repeated, ``metadata`` is not an object, ``metadata.case_id``/``kind`` is not a string,
    ``metadata.created_at`` is not an ISO date or datetime, a qrels line does not have three
    fields with an integer grade, a judgement is repeated, or the qrels name a query that
    ``queries.jsonl`` lacks.
    """
    root = Path(path)
    if not root.is_dir():
        raise BeirFormatError(root, None, "collection folder not found")
    corpus_path = root / "corpus.jsonl"
    queries_path = root / "queries.jsonl"
    qrels_path = root / "qrels" / f"{split}.tsv"

    documents = _read_documents(corpus_path)
    qrels, first_lines = _read_qrels(qrels_path)
    all_queries = _read_queries(queries_path)

    known = {query.id for query in all_queries}
    for query_id, line in first_lines.items():
        if query_id not in known:
            raise BeirFormatError(
                qrels_path, line, f"query {query_id!r} is judged but missing from {queries_path}"
            )
    judged = tuple(query for query in all_queries if query.id in qrels)
    return BeirCollection(
        name=root.resolve().name,
        path=root,
        split=split,
        documents=documents,
        queries=judged,
        qrels=qrels,
        unjudged_queries=len(all_queries) - len(judged),
    )


def document_to_record(document: BeirDocument, *, default_acl: Sequence[str]) -> dict[str, Any]:
    """The document as a raw record in DESIGN.md's record format, ready for ``parse_record``.

    The record has ``id``, ``title`` and ``text`` from the document plus every metadata key in
    ``RECORD_METADATA_FIELDS`` (values as given, not validated here). When the metadata has no
    ``acl``, ``default_acl`` is used; other metadata keys are dropped. Nothing is mutated.
    """
    record: dict[str, Any] = {"id": document.id, "title": document.title, "text": document.text}
    for key in RECORD_METADATA_FIELDS:
        if key in document.metadata:
            value = document.metadata[key]
            record[key] = list(value) if isinstance(value, list) else value
    if "acl" not in document.metadata:
        record["acl"] = list(default_acl)
    return record


def _read_documents(path: Path) -> tuple[BeirDocument, ...]:
    documents: list[BeirDocument] = []
    seen: dict[str, int] = {}
    for line_no, obj in _json_lines(path):
        doc_id = _id(obj, path, line_no, seen)
        title = obj.get("title", "")
        if title is None:
            title = ""
        if not isinstance(title, str):
            raise BeirFormatError(path, line_no, "'title' must be a string")
        text = _text(obj, path, line_no)
        metadata = _metadata(obj, path, line_no)
        documents.append(
            BeirDocument(
                id=doc_id,
                title=title,
                text=text,
                metadata=metadata,
                case_id=_optional_str(metadata, "case_id", path, line_no),
                created_at=_created_at(metadata, path, line_no),
            )
        )
    return tuple(documents)


def _read_queries(path: Path) -> list[EvalQuery]:
    queries: list[EvalQuery] = []
    seen: dict[str, int] = {}
    for line_no, obj in _json_lines(path):
        query_id = _id(obj, path, line_no, seen)
        metadata = _metadata(obj, path, line_no)
        queries.append(
            EvalQuery(
                id=query_id,
                text=_text(obj, path, line_no),
                case_id=_optional_str(metadata, "case_id", path, line_no),
                kind=_optional_str(metadata, "kind", path, line_no),
            )
        )
    return queries


def _read_qrels(path: Path) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
    """Judgements and, per query, the line of its first judgement (for error messages)."""
    if not path.is_file():
        raise BeirFormatError(path, None, "qrels file not found")
    qrels: dict[str, dict[str, int]] = {}
    first_line: dict[str, int] = {}
    pair_line: dict[tuple[str, str], int] = {}
    header_allowed = True
    with path.open(encoding="utf-8-sig") as handle:
        for line_no, raw in enumerate(handle, start=1):
            line = raw.rstrip("\r\n")
            if not line.strip():
                continue
            is_first, header_allowed = header_allowed, False
            fields = line.split("\t")
            if len(fields) != 3:
                fields = line.split()
            if len(fields) != 3:
                raise BeirFormatError(
                    path, line_no, "expected 3 tab-separated fields: query-id, corpus-id, score"
                )
            query_id, doc_id, grade_text = (field.strip() for field in fields)
            try:
                grade = int(grade_text)
            except ValueError:
                if is_first:
                    continue  # the header line ("query-id  corpus-id  score")
                raise BeirFormatError(
                    path, line_no, f"score {grade_text!r} is not an integer grade"
                ) from None
            if not query_id or not doc_id:
                raise BeirFormatError(path, line_no, "empty query-id or corpus-id")
            previous = pair_line.get((query_id, doc_id))
            if previous is not None:
                raise BeirFormatError(
                    path,
                    line_no,
                    f"query {query_id!r} judges document {doc_id!r} again (first on line "
                    f"{previous})",
                )
            pair_line[(query_id, doc_id)] = line_no
            first_line.setdefault(query_id, line_no)
            qrels.setdefault(query_id, {})[doc_id] = grade
    return qrels, first_line


def _json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    if not path.is_file():
        raise BeirFormatError(path, None, "file not found")
    with path.open(encoding="utf-8-sig") as handle:
        for line_no, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise BeirFormatError(path, line_no, f"invalid JSON: {exc.msg}") from None
            if not isinstance(obj, dict):
                raise BeirFormatError(path, line_no, "each line must be a JSON object")
            yield line_no, obj


def _id(obj: Mapping[str, Any], path: Path, line_no: int, seen: dict[str, int]) -> str:
    raw = obj.get("_id")
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str) or not raw:
        raise BeirFormatError(path, line_no, "missing or empty '_id'")
    if any(ch.isspace() for ch in raw):
        raise BeirFormatError(
            path, line_no, f"'_id' {raw!r} contains whitespace (TREC files cannot hold it)"
        )
    previous = seen.get(raw)
    if previous is not None:
        raise BeirFormatError(path, line_no, f"duplicate '_id' {raw!r} (first on line {previous})")
    seen[raw] = line_no
    return raw


def _text(obj: Mapping[str, Any], path: Path, line_no: int) -> str:
    text = obj.get("text")
    if not isinstance(text, str):
        raise BeirFormatError(path, line_no, "missing 'text' or 'text' is not a string")
    return text


def _metadata(obj: Mapping[str, Any], path: Path, line_no: int) -> dict[str, Any]:
    metadata = obj.get("metadata")
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise BeirFormatError(path, line_no, "'metadata' must be a JSON object")
    return metadata


def _optional_str(metadata: Mapping[str, Any], key: str, path: Path, line_no: int) -> str | None:
    value = metadata.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise BeirFormatError(path, line_no, f"'metadata.{key}' must be a non-empty string")
    return value


def _created_at(metadata: Mapping[str, Any], path: Path, line_no: int) -> dt.datetime | None:
    value = metadata.get("created_at")
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return _naive_utc(dt.datetime.fromisoformat(value.strip()))
        except ValueError:
            pass
    raise BeirFormatError(
        path, line_no, f"'metadata.created_at' {value!r} is not an ISO date or datetime"
    )


def _naive_utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.UTC).replace(tzinfo=None)
