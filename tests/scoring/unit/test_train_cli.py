"""The training CLI on the shipped public sample."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import riskwatch_scoring
from riskwatch_scoring.domain.model_io import load_model
from riskwatch_scoring.train import main

SAMPLE_CSV = Path(riskwatch_scoring.__file__).parent / "data" / "uci_credit_card_sample.csv"


def test_cli_trains_reports_and_writes_the_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "model.json"
    argv = ["--csv", str(SAMPLE_CSV), "--target", "default", "--folds", "3", "--out", str(out)]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["validation"] == "stratified 3-fold CV"
    assert 0.57 <= report["auc_mean"] <= 0.68
    assert {"gini", "ks", "brier", "calibration", "data_fingerprint"} <= set(report)
    model = load_model(out.read_text())
    assert model.model_version == report["model_version"]
    assert model.probability({"LIMIT_BAL": 20_000, "EDUCATION": "2"}) > model.probability(
        {"LIMIT_BAL": 500_000, "EDUCATION": "1"}
    )
