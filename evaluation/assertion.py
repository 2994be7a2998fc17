"""Assertion detection on the NegEx / ConText test layout (``casesearch eval assertion``).

Input: a TSV with a header line and the columns line number, condition, sentence and, when
present, negation (``Negated`` / ``Affirmed``), temporality (``Recent`` / ``Historical`` /
``Not particular``), experiencer (``Patient`` or ``Child`` for the subject, anything else
for another person) and concern (an indicator category id of ``retrieval/indicators``; a row
naming a category whose subject is the child is read as for that concern, so a parent's
mention is someone else's). The first three, and the concern where given, are read for
prediction; the label columns are read only to score. The condition is found in the sentence
case-insensitively (the sentence has it in capitals) and becomes the target span; a condition
not in the sentence targets the whole sentence.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from evaluation import EvaluationError
from retrieval.assertion import Assertion, assess
from retrieval.indicators import load_library

Subset = Literal["all", "odd", "even"]
NEGATION_VALUES = {True: "Negated", False: "Affirmed"}
TEMPORALITY_VALUES = {
    "recent": "Recent",
    "historical": "Historical",
    "hypothetical": "Not particular",
}
SUBJECT_VALUES = frozenset({"patient", "child", "subject"})
PREDICTION_HEADER = ("line number", "negation", "temporality")


@dataclass(frozen=True, slots=True)
class Row:
    line: str
    condition: str
    sentence: str
    negation: str | None = None
    temporality: str | None = None
    experiencer: str | None = None
    concern: str | None = None


@dataclass(frozen=True, slots=True)
class Prediction:
    row: Row
    target: tuple[int, int] | None
    assertion: Assertion

    @property
    def negation(self) -> str:
        return NEGATION_VALUES[self.assertion.negated]

    @property
    def temporality(self) -> str:
        return TEMPORALITY_VALUES[self.assertion.temporality]


def read_rows(path: Path) -> list[Row]:
    """Rows of ``path`` in file order, blank lines skipped; the first line is a header when its
    first field is not a number. A row cut short reads its missing columns as empty, so every
    input row still gets a prediction."""
    with path.open(encoding="utf-8", newline="") as handle:
        lines = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    if lines and lines[0] and not lines[0][0].strip().isdigit():
        lines = lines[1:]
    rows: list[Row] = []
    for fields in lines:
        if not any(f.strip() for f in fields):
            continue
        fields = fields + [""] * (3 - len(fields))
        labels = [f.strip() or None for f in fields[3:7]] + [None] * 4
        rows.append(Row(fields[0].strip(), fields[1], fields[2], *labels[:4]))
    return rows


def find_target(condition: str, sentence: str) -> tuple[int, int] | None:
    """The span of ``condition`` in ``sentence``, ignoring case and runs of spaces; the
    occurrence written in capitals is preferred. None when the condition is not there."""
    words = condition.split()
    if not words:
        return None
    pattern = re.compile(r"\s+".join(re.escape(w) for w in words), re.IGNORECASE)
    found = list(pattern.finditer(sentence))
    if not found:
        return None
    capitals = [
        m for m in found if m.group().upper() == m.group() and m.group().lower() != m.group()
    ]
    best = (capitals or found)[0]
    return best.span()


def predict(rows: Iterable[Row]) -> list[Prediction]:
    """One prediction per row, in order. Raises ``EvaluationError`` naming the line when a
    row's concern is not a category of the indicator library."""
    library = load_library()
    out: list[Prediction] = []
    for row in rows:
        others = False
        if row.concern is not None:
            category = library.get(row.concern)
            if category is None:
                raise EvaluationError(
                    f"line {row.line}: concern {row.concern!r} is not an indicator category"
                )
            others = category.parents_are_others
        target = find_target(row.condition, row.sentence)
        assertion = assess(row.sentence, target, parents_are_others=others)
        out.append(Prediction(row, target, assertion))
    return out


def write_predictions(predictions: Sequence[Prediction], path: Path) -> None:
    """``line number<TAB>negation<TAB>temporality`` with a header, one line per input row."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["\t".join(PREDICTION_HEADER)]
    lines += [f"{p.row.line}\t{p.negation}\t{p.temporality}" for p in predictions]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def select(rows: Sequence[Row], subset: Subset) -> list[Row]:
    """All rows, or those with an odd / even line number (a split kept apart for tuning)."""
    if subset == "all":
        return list(rows)
    parity = 1 if subset == "odd" else 0
    return [r for r in rows if r.line.isdigit() and int(r.line) % 2 == parity]


def has_labels(rows: Sequence[Row]) -> bool:
    return bool(rows) and all(r.negation is not None for r in rows)


def _binary(pairs: list[tuple[bool, bool]]) -> dict[str, float | int]:
    """Precision, recall, F1 and counts for (gold, predicted) pairs; 0.0 where undefined."""
    tp = sum(g and p for g, p in pairs)
    fp = sum(p and not g for g, p in pairs)
    fn = sum(g and not p for g, p in pairs)
    tn = len(pairs) - tp - fp - fn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "gold": tp + fn,
        "predicted": tp + fp,
    }


def score(predictions: Sequence[Prediction]) -> dict[str, Any]:
    """Per-class precision / recall / F1 (negated, historical, hypothetical, other person) and
    accuracies. Rows without a label in a column are left out of that column's figures."""
    negation = [
        (p.row.negation == "Negated", p.assertion.negated) for p in predictions if p.row.negation
    ]
    timed = [p for p in predictions if p.row.temporality]
    historical = [(p.row.temporality == "Historical", p.temporality == "Historical") for p in timed]
    hypothetical = [
        (p.row.temporality == "Not particular", p.temporality == "Not particular") for p in timed
    ]
    people = [p for p in predictions if p.row.experiencer]
    other = [
        (
            (p.row.experiencer or "").lower() not in SUBJECT_VALUES,
            p.assertion.experiencer == "other",
        )
        for p in people
    ]
    classes: dict[str, object] = {"negated": _binary(negation)}
    if timed:
        classes["historical"] = _binary(historical)
        classes["hypothetical"] = _binary(hypothetical)
    if people:
        classes["other_person"] = _binary(other)
    accuracy: dict[str, float] = {
        "negation": round(sum(g == p for g, p in negation) / len(negation), 4) if negation else 0.0
    }
    if timed:
        right = sum(p.row.temporality == p.temporality for p in timed)
        accuracy["temporality"] = round(right / len(timed), 4)
    if people:
        accuracy["experiencer"] = round(sum(g == p for g, p in other) / len(other), 4)
    return {
        "rows": len(predictions),
        "classes": classes,
        "accuracy": accuracy,
        "targets_not_found": sum(p.target is None for p in predictions),
    }


def evaluate(
    tsv: Path,
    *,
    predictions_out: Path | None,
    report_out: Path | None = None,
    subset: Subset = "all",
) -> dict[str, Any] | None:
    """Predict every selected row, write the predictions, and score them when labelled.

    Returns the report (also written as JSON with sorted keys to ``report_out``), or None when
    the file has no label columns.
    """
    rows = select(read_rows(tsv), subset)
    predictions = predict(rows)
    if predictions_out is not None:
        write_predictions(predictions, predictions_out)
    if not has_labels(rows):
        return None
    report = {"file": str(tsv), "subset": subset, **score(predictions)}
    if report_out is not None:
        report_out.parent.mkdir(parents=True, exist_ok=True)
        report_out.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return report
