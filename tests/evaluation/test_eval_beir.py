"""Loading BEIR-layout collections: real ones, record metadata and clear errors."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from connectors.record import parse_record
from evaluation.beir import BeirFormatError, document_to_record, load_collection

EVAL_DATA = Path("/work/shared/eval-data")


def write_collection(
    root: Path,
    corpus: list[dict[str, Any]],
    queries: list[dict[str, Any]],
    qrels: str,
    split: str = "test",
) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "qrels").mkdir(exist_ok=True)
    (root / "corpus.jsonl").write_text("".join(json.dumps(row) + "\n" for row in corpus))
    (root / "queries.jsonl").write_text("".join(json.dumps(row) + "\n" for row in queries))
    (root / "qrels" / f"{split}.tsv").write_text(qrels)
    return root


CASE_CORPUS: list[dict[str, Any]] = [
    {
        "_id": "CASE-1-001",
        "title": "Safety plan",
        "text": "Mum agreed the safety plan.",
        "metadata": {
            "case_id": "CASE-1",
            "doc_type": "safety_plan",
            "created_at": "2024-03-02",
            "author": "user:sw-1",
            "acl": ["team:north-1"],
            "deny": ["user:sw-2"],
            "colour": "blue",
        },
    },
    {"_id": "CASE-1-002", "title": "Visit", "text": "Seen at home.", "metadata": {}},
    {"_id": 17, "text": "Numeric id, no title."},
]


def test_medline_counts() -> None:
    path = EVAL_DATA / "medline"
    if not path.is_dir():
        pytest.skip("shared MEDLINE collection not present")
    collection = load_collection(path)
    assert len(collection.documents) == 1033
    assert len(collection.queries) == 30
    assert sum(len(judged) for judged in collection.qrels.values()) == 696
    assert collection.name == "medline"


@pytest.mark.parametrize(
    ("name", "documents", "queries", "judgements"),
    [("scifact", 5183, 300, 339), ("cranfield", 1400, 225, 1612)],
)
def test_other_shared_collections_load(
    name: str, documents: int, queries: int, judgements: int
) -> None:
    path = EVAL_DATA / name
    if not path.is_dir():
        pytest.skip(f"shared {name} collection not present")
    collection = load_collection(path)
    assert len(collection.documents) == documents
    assert len(collection.queries) == queries
    assert sum(len(judged) for judged in collection.qrels.values()) == judgements


def test_only_judged_queries_are_kept_with_metadata(tmp_path: Path) -> None:
    root = write_collection(
        tmp_path / "mini",
        CASE_CORPUS,
        [
            {"_id": "q1", "text": "safety plan", "metadata": {"case_id": "CASE-1", "kind": "plan"}},
            {"_id": "q2", "text": "unjudged"},
            {"_id": "q3", "text": "seen", "metadata": {"13734012": [{"label": "SUPPORT"}]}},
        ],
        "query-id\tcorpus-id\tscore\nq1\tCASE-1-001\t2\nq1\tCASE-1-002\t0\nq3\t17\t1\n",
    )
    collection = load_collection(root)
    assert [q.id for q in collection.queries] == ["q1", "q3"]
    q1, q3 = collection.queries
    assert (q1.case_id, q1.kind) == ("CASE-1", "plan")
    assert (q3.case_id, q3.kind) == (None, None)
    assert collection.unjudged_queries == 1
    assert collection.qrels == {"q1": {"CASE-1-001": 2, "CASE-1-002": 0}, "q3": {"17": 1}}

    first, second, third = collection.documents
    assert first.case_id == "CASE-1"
    assert first.created_at == dt.datetime(2024, 3, 2)
    assert second.case_id is None
    assert second.created_at is None
    assert (third.id, third.title) == ("17", "")


def test_created_at_with_timezone_is_normalised_to_utc(tmp_path: Path) -> None:
    corpus = [{"_id": "a", "text": "t", "metadata": {"created_at": "2024-03-02T10:15:00+01:00"}}]
    root = write_collection(tmp_path / "c", corpus, [{"_id": "q", "text": "x"}], "q\ta\t1\n")
    assert load_collection(root).documents[0].created_at == dt.datetime(2024, 3, 2, 9, 15)


def test_other_split_is_read(tmp_path: Path) -> None:
    root = write_collection(
        tmp_path / "c", CASE_CORPUS, [{"_id": "q", "text": "x"}], "q\t17\t1\n", split="dev"
    )
    collection = load_collection(root, split="dev")
    assert collection.split == "dev"
    with pytest.raises(BeirFormatError, match=r"test\.tsv: qrels file not found"):
        load_collection(root)


@pytest.mark.parametrize(
    ("corpus_lines", "message"),
    [
        ('{"_id": "a", "text": "ok"}\n{"_id": "b", "text": \n', r"corpus\.jsonl:2: invalid JSON"),
        ('{"_id": "a", "text": "ok"}\n\n{"_id": "a", "text": "x"}\n', r":3: duplicate '_id' 'a'"),
        ('{"title": "no id", "text": "x"}\n', r":1: missing or empty '_id'"),
        ('{"_id": "a b", "text": "x"}\n', r":1: '_id' 'a b' contains whitespace"),
        ('{"_id": "a"}\n', r":1: missing 'text'"),
        ('["a", "text"]\n', r":1: each line must be a JSON object"),
        ('{"_id": "a", "text": "x", "metadata": [1]}\n', r":1: 'metadata' must be"),
        (
            '{"_id": "a", "text": "x", "metadata": {"created_at": "yesterday"}}\n',
            r":1: 'metadata.created_at' 'yesterday' is not an ISO date",
        ),
        ('{"_id": "a", "text": "x", "metadata": {"case_id": 7}}\n', r":1: 'metadata.case_id'"),
    ],
)
def test_bad_corpus_line_names_file_and_line(
    tmp_path: Path, corpus_lines: str, message: str
) -> None:
    root = write_collection(tmp_path / "c", [], [{"_id": "q", "text": "x"}], "q\ta\t1\n")
    (root / "corpus.jsonl").write_text(corpus_lines)
    with pytest.raises(BeirFormatError, match=message):
        load_collection(root)


@pytest.mark.parametrize(
    ("qrels", "message"),
    [
        ("query-id\tcorpus-id\tscore\nq\ta\tyes\n", r"test\.tsv:2: score 'yes' is not an integer"),
        ("q\ta\t1\nq\ta\t2\n", r"test\.tsv:2: query 'q' judges document 'a' again"),
        ("q\ta\n", r"test\.tsv:1: expected 3 tab-separated fields"),
        ("q\ta\t1\nghost\ta\t1\n", r"test\.tsv:2: query 'ghost' is judged but missing"),
    ],
)
def test_bad_qrels_line_names_file_and_line(tmp_path: Path, qrels: str, message: str) -> None:
    corpus = [{"_id": "a", "text": "x"}]
    root = write_collection(tmp_path / "c", corpus, [{"_id": "q", "text": "x"}], qrels)
    with pytest.raises(BeirFormatError, match=message) as caught:
        load_collection(root)
    assert caught.value.line is not None


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BeirFormatError, match="collection folder not found"):
        load_collection(tmp_path / "nowhere")


def test_document_to_record_keeps_record_fields_and_defaults_acl(tmp_path: Path) -> None:
    root = write_collection(tmp_path / "c", CASE_CORPUS, [{"_id": "q", "text": "x"}], "q\t17\t1\n")
    with_acl, without_acl, _ = load_collection(root).documents

    record = document_to_record(with_acl, default_acl=["eval:all"])
    assert record == {
        "id": "CASE-1-001",
        "title": "Safety plan",
        "text": "Mum agreed the safety plan.",
        "case_id": "CASE-1",
        "doc_type": "safety_plan",
        "created_at": "2024-03-02",
        "author": "user:sw-1",
        "acl": ["team:north-1"],
        "deny": ["user:sw-2"],
    }
    record["acl"].append("team:other")
    assert with_acl.metadata["acl"] == ["team:north-1"]

    assert document_to_record(without_acl, default_acl=("eval:all",))["acl"] == ["eval:all"]


def test_converted_records_pass_the_connector_gate(tmp_path: Path) -> None:
    root = write_collection(tmp_path / "c", CASE_CORPUS, [{"_id": "q", "text": "x"}], "q\t17\t1\n")
    for document in load_collection(root).documents:
        record = parse_record(document_to_record(document, default_acl=["eval:all"]))
        assert record.id == document.id
        assert record.text == document.text
