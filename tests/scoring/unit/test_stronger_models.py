"""The WoE scorecard, the monotone boosted model and `auto`: same report, explained, served."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from riskwatch_scoring.domain.boosting import BoostedModel, fit_inputs, fit_platt
from riskwatch_scoring.domain.model_io import load_model
from riskwatch_scoring.domain.scorecard import Scorecard
from riskwatch_scoring.domain.training import (
    ALGORITHMS,
    Table,
    TrainingConfig,
    train_credit_model,
)
from riskwatch_scoring.domain.woe_scorecard import woe_design

REPORT_KEYS = {
    "auc_mean",
    "auc_std",
    "fold_aucs",
    "gini",
    "ks",
    "ks_std",
    "ks_pooled",
    "brier",
    "calibration",
    "calibrated_by",
    "algorithm",
    "candidates",
    "parameters",
}


@pytest.fixture(scope="module")
def credit_table() -> Table:
    """Arrears raise the risk, income lowers it, a segment matters; an amount is U-shaped."""
    rng = np.random.default_rng(21)
    rows: list[dict[str, float | str | None]] = []
    for _ in range(900):
        arrears = float(rng.integers(0, 5))
        income = float(rng.lognormal(8, 0.5))
        segment = str(rng.choice(["retail", "sme", "student"]))
        amount = float(rng.uniform(0, 10_000))
        logit = -2.2 + 0.6 * arrears - 0.8 * (np.log(income) - 8) + (segment == "sme") * 0.7
        logit += 1.2 * abs(amount - 5_000) / 5_000
        bad = rng.uniform() < 1 / (1 + np.exp(-logit))
        rows.append(
            {
                "arrears": arrears,
                "income": income if rng.uniform() > 0.05 else None,
                "segment": segment,
                "amount": amount,
                "bad": "1" if bad else "0",
            }
        )
    return Table(
        columns=["arrears", "income", "segment", "amount", "bad"],
        rows=rows,
        categorical=frozenset({"segment"}),
    )


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_every_algorithm_gives_the_same_report(credit_table: Table, algorithm: str) -> None:
    config = TrainingConfig(algorithm=algorithm, folds=3)  # type: ignore[arg-type]
    result = train_credit_model(credit_table, "bad", config=config)
    report = result.report.to_state()
    assert set(report) >= REPORT_KEYS
    assert report["algorithm"] == algorithm
    assert report["validation"] == "stratified 3-fold CV x 3 repeats"
    assert len(report["fold_aucs"]) == 9
    assert report["auc_std"] == pytest.approx(np.std(report["fold_aucs"], ddof=1))
    assert report["auc_mean"] > 0.7
    assert 0.3 < report["ks"] < 0.7
    assert sum(row["count"] for row in report["calibration"]) == 900
    assert result.model.model_version.startswith(f"credit-{algorithm}-")
    restored = load_model(result.model.to_json())
    for row in credit_table.rows[:20]:
        assert restored.assess(row) == result.model.assess(row)


def test_the_woe_scorecard_equals_its_regression(credit_table: Table) -> None:
    config = TrainingConfig(algorithm="woe", folds=2, repeats=1)
    model = train_credit_model(credit_table, "bad", config=config).model
    assert isinstance(model, Scorecard)
    # Refit the regression on the model's own WoE: the points reproduce its probabilities.
    labels = np.array([int(str(row["bad"])) for row in credit_table.rows])
    features = ["arrears", "income", "segment", "amount"]
    inputs = fit_inputs(
        credit_table.rows, labels, features, credit_table.categorical, config.binning
    )
    regression = LogisticRegression(C=config.woe_regularisation_c, max_iter=2_000)
    design = woe_design(inputs, credit_table.rows)
    expected = regression.fit(design, labels).predict_proba(design)[:, 1]
    actual = [model.probability(row) for row in credit_table.rows]
    assert actual == pytest.approx(expected, abs=1e-9)
    worst = max(credit_table.rows, key=model.probability)
    assert model.assess(worst).reasons[0].contribution > 0


def test_the_boosted_model_is_monotone_calibrated_and_explained(credit_table: Table) -> None:
    result = train_credit_model(
        credit_table, "bad", config=TrainingConfig(algorithm="lightgbm", folds=3, repeats=1)
    )
    model = result.model
    assert isinstance(model, BoostedModel)
    assert result.report.calibrated_by == "Platt scaling on out-of-fold margins"
    assert model.platt != (1.0, 0.0)
    base = {"income": 3_000.0, "segment": "retail", "amount": 5_000.0}
    by_arrears = [model.probability({**base, "arrears": a}) for a in np.linspace(0, 4, 41)]
    assert by_arrears == sorted(by_arrears)  # more arrears never lowers the risk
    assert by_arrears[-1] > by_arrears[0]
    by_income = [
        model.probability({**base, "arrears": 1.0, "income": i}) for i in range(500, 20_000, 250)
    ]
    assert by_income == sorted(by_income, reverse=True)

    risky = {"arrears": 4.0, "income": 900.0, "segment": "sme", "amount": 9_800.0}
    assessment = model.assess(risky)
    assert assessment.score == pytest.approx(model.probability(risky))
    codes = [reason.code for reason in assessment.reasons]
    assert codes[0] in {"arrears_points", "income_points"}
    assert all(r.contribution > 0 for r in assessment.reasons)
    contributions = [r.contribution for r in assessment.reasons]
    assert contributions == sorted(contributions, reverse=True)
    assert model.assess({"arrears": 0.0, "income": 9_000.0}).score < assessment.score


def test_platt_scaling_recovers_known_parameters() -> None:
    rng = np.random.default_rng(2)
    margins = rng.normal(0, 2, 20_000)
    labels = (rng.uniform(size=20_000) < 1 / (1 + np.exp(-(0.5 * margins - 1.0)))).astype(np.int_)
    slope, intercept = fit_platt(margins, labels)
    assert slope == pytest.approx(0.5, abs=0.05)
    assert intercept == pytest.approx(-1.0, abs=0.06)
    flat = fit_platt(np.zeros(100), np.array([1] * 20 + [0] * 80))
    assert flat == pytest.approx((0.0, np.log(0.2 / 0.8)))  # learnt nothing: the base rate


def test_auto_keeps_the_best_cross_validated_auc(credit_table: Table) -> None:
    result = train_credit_model(
        credit_table, "bad", config=TrainingConfig(algorithm="auto", folds=3, repeats=1)
    )
    candidates = result.report.candidates
    assert set(candidates) == set(ALGORITHMS)
    best = max(candidates, key=lambda name: candidates[name]["auc_mean"])
    assert result.report.algorithm == best
    assert result.report.auc_mean == candidates[best]["auc_mean"]
    assert result.report.parameters["requested_algorithm"] == "auto"
    assert result.model.model_version.startswith(f"credit-{best}-")
