"""``casesearch eval assertion``: predictions in the NegEx / ConText layout, and the figures."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from pydantic import SecretStr

from app import cli
from app.settings import Settings
from evaluation.assertion import Prediction, Subset, evaluate, find_target, predict, read_rows

REPO = Path(__file__).resolve().parents[2]
DEV = REPO.parent / "shared" / "eval-data" / "context-negex" / "dev.tsv"
SOCIAL_CARE = REPO / "evaluation" / "data" / "assertion-social-care.tsv"


@pytest.fixture(autouse=True)
def _settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(data_dir=tmp_path / "data", jwt_secret=SecretStr("x" * 32), progress=False)
    monkeypatch.setattr(cli, "get_settings", lambda: settings)


def test_predictions_have_a_header_and_one_row_per_input_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tsv = tmp_path / "in.tsv"
    tsv.write_text(
        "line number\tCondition\tsentence\n"
        "7\tneglect\tThere were no concerns about NEGLECT.\n"
        "8\tneglect\tNEGLECT was found at the visit.\n"
        "12\tdrug use\tHistory of DRUG USE.\n"
        "13\tdrinks\tIf mum DRINKS again she will call.\n"
        "14\tbruising\tThis sentence names another thing.\n"
        "15\tcut short\n",
        encoding="utf-8",
    )
    out = tmp_path / "pred.tsv"
    assert cli.main(["eval", "assertion", str(tsv), "--predictions-out", str(out)]) == 0
    assert out.read_text(encoding="utf-8").splitlines() == [
        "line number\tnegation\ttemporality",
        "7\tNegated\tRecent",
        "8\tAffirmed\tRecent",
        "12\tAffirmed\tHistorical",
        "13\tAffirmed\tNot particular",
        "14\tAffirmed\tRecent",
        "15\tAffirmed\tRecent",
    ]
    assert capsys.readouterr().out == ""  # no labels, no report


def test_labelled_rows_are_scored_as_sorted_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tsv = tmp_path / "in.tsv"
    tsv.write_text(
        "line\tc\ts\tneg\ttemp\texp\n"
        "1\tneglect\tNo NEGLECT.\tNegated\tRecent\tPatient\n"
        "2\tneglect\tNEGLECT seen.\tNegated\tRecent\tPatient\n"
        "3\tabuse\tHistory of ABUSE.\tAffirmed\tHistorical\tPatient\n",
        encoding="utf-8",
    )
    report_path = tmp_path / "report.json"
    argv = ["eval", "assertion", str(tsv), "--predictions-out", str(tmp_path / "p.tsv")]
    assert cli.main([*argv, "--report-out", str(report_path)]) == 0
    text = report_path.read_text(encoding="utf-8")
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"
    report = json.loads(text)
    negated = report["classes"]["negated"]
    assert (negated["tp"], negated["fn"], negated["precision"], negated["recall"]) == (1, 1, 1, 0.5)
    assert report["classes"]["historical"]["f1"] == 1.0
    assert json.loads(capsys.readouterr().out) == report


def test_the_condition_is_found_in_capitals_across_spacing() -> None:
    sentence = "Pain at rest. Patient has BOWEL   DISTENTION and pain."
    assert find_target("bowel   distention", sentence) == (26, 44)
    assert find_target("pain", sentence) == (0, 4)  # no capital occurrence: the first
    assert find_target("PAIN", "no pain here, PAIN there") == (14, 18)
    assert find_target("fever", sentence) is None


@pytest.mark.parametrize("lines", ["all", "even"])
def test_negation_f1_on_the_context_negex_dev_set(tmp_path: Path, lines: Subset) -> None:
    """The reference Python NegEx scores F1 0.929 here; even lines were never used to tune."""
    report = evaluate(DEV, predictions_out=tmp_path / "p.tsv", subset=lines)
    assert report is not None
    negated = report["classes"]["negated"]
    assert negated["f1"] >= 0.95
    assert report["classes"]["historical"]["precision"] >= 0.8


def test_each_class_on_the_social_care_sentences(tmp_path: Path) -> None:
    report = evaluate(SOCIAL_CARE, predictions_out=tmp_path / "p.tsv")
    assert report is not None
    assert report["rows"] >= 150
    classes = report["classes"]
    floors = {"negated": 0.9, "historical": 0.65, "hypothetical": 0.7, "other_person": 0.7}
    for name, floor in floors.items():
        assert classes[name]["precision"] >= floor, name
        assert classes[name]["recall"] >= floor, name


def test_rows_read_for_the_childs_own_concern_tell_a_parents_episode_apart(
    tmp_path: Path,
) -> None:
    """Lines 193-220 name the concern each sentence is read for: with the whose-concern rule
    the experiencer is right on more of them than without it (rows read as family concerns)."""
    rows = [r for r in read_rows(SOCIAL_CARE) if r.concern is not None]
    assert len(rows) >= 28
    ruled = predict(rows)
    plain = predict([replace(r, concern=None) for r in rows])

    def right(predictions: list[Prediction]) -> int:
        return sum(
            (p.row.experiencer == "Other") == (p.assertion.experiencer == "other")
            for p in predictions
        )

    assert right(ruled) >= right(plain) + 5
