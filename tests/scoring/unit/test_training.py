from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import riskwatch_scoring
from riskwatch_scoring.domain.metrics import auc
from riskwatch_scoring.domain.model_io import load_model
from riskwatch_scoring.domain.scorecard import Scorecard
from riskwatch_scoring.domain.training import (
    Table,
    TrainingConfig,
    TrainingDataError,
    load_csv,
    parse_csv_text,
    train_credit_model,
)

SAMPLE_CSV = Path(riskwatch_scoring.__file__).parent / "data" / "uci_credit_card_sample.csv"


@pytest.fixture(scope="module")
def uci_sample() -> Table:
    return load_csv(SAMPLE_CSV)


def test_csv_loader_infers_column_types(uci_sample: Table) -> None:
    assert uci_sample.columns == ["EDUCATION", "MARRIAGE", "LIMIT_BAL", "BILL_AMT1", "default"]
    assert len(uci_sample.rows) == 6_000
    assert uci_sample.numeric == {"LIMIT_BAL", "BILL_AMT1"}
    assert uci_sample.rows[0] == {
        "EDUCATION": "1",
        "MARRIAGE": "2",
        "LIMIT_BAL": 400000.0,
        "BILL_AMT1": 201800.0,
        "default": "0",
    }


def test_csv_loader_reads_text_and_blanks(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_text("segment,income,score\nretail,1000.5,1\nsme,,0\nretail,250,1\n")
    table = load_csv(path)
    assert table.categorical == {"segment", "score"}
    assert table.rows[1] == {"segment": "sme", "income": None, "score": "0"}


@pytest.mark.parametrize("encoding", ["linear", "binned"])
def test_cross_validated_auc_on_the_shipped_sample_matches_the_baseline(
    uci_sample: Table, encoding: str
) -> None:
    result = train_credit_model(
        uci_sample,
        "default",
        config=TrainingConfig(algorithm=encoding),  # type: ignore[arg-type]
    )
    report = result.report

    assert 0.58 <= report.auc_mean <= 0.68  # reference: 0.621 +/- 0.031
    assert report.validation == "stratified 5-fold CV"
    assert len(report.fold_aucs) == 5
    assert report.gini == pytest.approx(2 * 0.62 - 1, abs=0.08)
    assert 0.1 < report.ks < 0.3
    assert 0.15 < report.brier < 0.18
    assert [row.count for row in report.calibration] == [600] * 10
    assert report.features == ["EDUCATION", "MARRIAGE", "LIMIT_BAL", "BILL_AMT1"]
    assert len(report.data_fingerprint) == 64
    version_prefix = f"credit-{encoding}-{report.data_fingerprint[:12]}-p"
    assert result.model.model_version.startswith(version_prefix)
    assert report.auc_std == pytest.approx(float(np.std(report.fold_aucs, ddof=1)))

    probabilities = np.array([result.model.probability(row) for row in uci_sample.rows])
    labels = np.array([int(row["default"] or 0) for row in uci_sample.rows])
    assert probabilities.mean() == pytest.approx(labels.mean(), abs=0.005)
    assert auc(labels, probabilities) > 0.6


def test_trained_scorecard_round_trips_and_explains_itself(uci_sample: Table) -> None:
    model = train_credit_model(uci_sample, "default").model
    restored = load_model(model.to_json())

    assert isinstance(restored, Scorecard)
    for row in uci_sample.rows[:50]:
        assert restored.evaluate(row) == model.evaluate(row)
    assert json.loads(model.to_json())["metadata"]["n_rows"] == 6_000
    worst = max(uci_sample.rows[:200], key=model.probability)
    reasons = model.assess(worst).reasons
    assert reasons
    assert reasons[0].contribution >= reasons[-1].contribution
    assert reasons[0].code.endswith("_points")


def test_training_finds_a_strong_signal() -> None:
    rng = np.random.default_rng(11)
    rows: list[dict[str, float | str | None]] = []
    for _ in range(600):
        arrears = float(rng.integers(0, 6))
        segment = str(rng.choice(["retail", "sme"]))
        defaulted = rng.uniform() < 0.05 + 0.15 * arrears
        rows.append({"arrears": arrears, "segment": segment, "bad": "1" if defaulted else "0"})
    table = Table(
        columns=["arrears", "segment", "bad"], rows=rows, categorical=frozenset({"segment"})
    )

    result = train_credit_model(table, "bad", config=TrainingConfig(algorithm="binned", n_bins=4))

    assert result.report.auc_mean > 0.75
    high, low = (
        result.model.evaluate({"arrears": 5, "segment": "sme"}),
        result.model.evaluate({"arrears": 0, "segment": "sme"}),
    )
    assert high.probability > 0.5 > low.probability
    assert high.reasons[0].code == "arrears_points"


def _table(text: str, categorical: list[str] | None = None) -> Table:
    return parse_csv_text(text, categorical=categorical)


def _signal_csv(rows: int = 60, extra: str = "", extra_value: str = "") -> str:
    lines = [f"amount,segment,bad{extra}"]
    for i in range(rows):
        defaulted = i % 3 == 0
        amount = 900 + i if defaulted else 100 + i
        lines.append(f"{amount},{'sme' if i % 2 else 'retail'},{int(defaulted)}{extra_value}")
    return "\n".join(lines) + "\n"


def test_an_undeclared_text_column_is_refused_naming_it_never_dropped() -> None:
    table = _table(_signal_csv(), categorical=["bad"])  # `segment` holds text, not declared
    assert table.rows[0]["segment"] == "retail"  # kept as read, not blanked
    with pytest.raises(TrainingDataError, match="segment"):
        train_credit_model(table, "bad")
    declared = train_credit_model(_table(_signal_csv(), ["bad", "segment"]), "bad")
    assert declared.report.features == ["amount", "segment"]


def test_a_requested_feature_is_never_dropped_silently() -> None:
    table = _table(_signal_csv(extra=",flat", extra_value=",7"))
    with pytest.raises(TrainingDataError, match="flat"):
        train_credit_model(table, "bad", features=["amount", "flat"])
    unrequested = train_credit_model(table, "bad").report
    assert unrequested.features == ["amount", "segment"]
    assert unrequested.dropped_features == {"flat": "fewer than two distinct values"}


@pytest.mark.parametrize("bad_cell", ["1.5", "2", "-1", "yes"])
def test_a_target_other_than_0_or_1_is_refused(bad_cell: str) -> None:
    lines = _signal_csv().splitlines()
    lines[5] = lines[5].rsplit(",", 1)[0] + "," + bad_cell
    with pytest.raises(TrainingDataError, match=r"must be 0 or 1.*" + bad_cell):
        train_credit_model(_table("\n".join(lines) + "\n"), "bad")


def test_a_declared_bad_value_names_the_bad_rows() -> None:
    worded = _signal_csv().replace(",1\n", ",bad\n").replace(",0\n", ",good\n")
    numbered = train_credit_model(_table(_signal_csv()), "bad")
    named = train_credit_model(_table(worded), "bad", bad_value="bad")
    assert named.report.positive_rate == numbered.report.positive_rate == pytest.approx(1 / 3)
    assert named.report.auc_mean == pytest.approx(numbered.report.auc_mean)
    with pytest.raises(TrainingDataError, match="both good and bad"):
        train_credit_model(_table(worded), "bad", bad_value="BAD")


def test_the_version_names_the_data_and_the_parameters() -> None:
    table = _table(_signal_csv())
    linear = train_credit_model(table, "bad", config=TrainingConfig(algorithm="linear"))
    binned = train_credit_model(table, "bad", config=TrainingConfig(algorithm="binned"))
    again = train_credit_model(table, "bad", config=TrainingConfig(algorithm="binned"))
    fewer_bins = train_credit_model(
        table, "bad", config=TrainingConfig(algorithm="binned", n_bins=3)
    )
    other_data = train_credit_model(_table(_signal_csv(rows=61)), "bad")
    versions = {
        linear.model.model_version,
        binned.model.model_version,
        fewer_bins.model.model_version,
        other_data.model.model_version,
    }
    assert len(versions) == 4
    assert again.model.model_version == binned.model.model_version
    assert binned.report.parameters["n_bins"] == 5
