from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import brier_score_loss, roc_auc_score, roc_curve

from riskwatch_scoring.domain.metrics import (
    PSI_DRIFT_THRESHOLD,
    auc,
    brier_score,
    calibration_table,
    gini,
    ks_statistic,
    psi,
)
from riskwatch_scoring.domain.metrics import roc_curve as roc_points

labelled_scores = st.lists(
    st.tuples(st.integers(0, 1), st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.5, 0.75, 0.9, 1.0])),
    min_size=2,
    max_size=80,
).filter(lambda pairs: len({label for label, _ in pairs}) == 2)


@settings(max_examples=150, deadline=None)
@given(labelled_scores)
def test_auc_ks_and_brier_match_sklearn_with_ties(pairs: list[tuple[int, float]]) -> None:
    labels = np.array([label for label, _ in pairs])
    scores = np.array([score for _, score in pairs])

    assert auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores))
    assert gini(labels, scores) == pytest.approx(2 * roc_auc_score(labels, scores) - 1)
    false_positive_rate, true_positive_rate, _ = roc_curve(labels, scores, drop_intermediate=False)
    expected_ks = float(np.max(np.abs(true_positive_rate - false_positive_rate)))
    assert ks_statistic(labels, scores) == pytest.approx(expected_ks)
    assert brier_score(labels, scores) == pytest.approx(brier_score_loss(labels, scores))


def test_ks_by_hand() -> None:
    # Positives at 0.8, 0.9; negatives at 0.1, 0.2, 0.85: best split after 0.2 separates 2/3.
    labels = [0, 0, 1, 0, 1]
    scores = [0.1, 0.2, 0.8, 0.85, 0.9]
    assert ks_statistic(labels, scores) == pytest.approx(2 / 3)


def test_calibration_table_has_equal_count_bins() -> None:
    rng = np.random.default_rng(7)
    probabilities = rng.uniform(size=1_000)
    labels = (rng.uniform(size=1_000) < probabilities).astype(int)

    table = calibration_table(labels, probabilities)

    assert [row.count for row in table] == [100] * 10
    assert all(abs(row.mean_predicted - row.observed_rate) < 0.15 for row in table)
    assert table[0].upper <= table[1].lower


def test_psi_is_zero_for_the_same_distribution_and_large_for_a_shift() -> None:
    rng = np.random.default_rng(3)
    baseline = rng.normal(size=5_000)

    assert psi(baseline, baseline) == pytest.approx(0.0)
    assert psi(baseline, rng.normal(size=5_000)) < 0.02
    assert psi(baseline, rng.normal(loc=1.0, size=5_000)) > PSI_DRIFT_THRESHOLD


def test_metrics_refuse_one_class() -> None:
    with pytest.raises(ValueError, match="both classes"):
        auc([1, 1], [0.2, 0.3])


@settings(max_examples=100, deadline=None)
@given(labelled_scores)
def test_the_roc_curve_matches_sklearn_and_its_area_is_the_auc(
    pairs: list[tuple[int, float]],
) -> None:
    labels = np.array([label for label, _ in pairs])
    scores = np.array([score for _, score in pairs])
    points = roc_points(labels, scores)
    fpr, tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
    assert [p["fpr"] for p in points] == pytest.approx(list(fpr))
    assert [p["tpr"] for p in points] == pytest.approx(list(tpr))
    area = np.trapezoid([p["tpr"] for p in points], [p["fpr"] for p in points])
    assert area == pytest.approx(auc(labels, scores))


def test_a_long_roc_curve_is_thinned_but_keeps_its_ends() -> None:
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 2, 5_000)
    scores = rng.random(5_000) + labels * 0.3
    points = roc_points(labels, scores, max_points=101)
    assert len(points) <= 102
    assert points[0] == {"fpr": 0.0, "tpr": 0.0, "threshold": 1.0}
    assert (points[-1]["fpr"], points[-1]["tpr"]) == (1.0, 1.0)
    assert all(a["fpr"] <= b["fpr"] and a["tpr"] <= b["tpr"] for a, b in itertools.pairwise(points))
    assert roc_points([0, 0, 0], [0.1, 0.2, 0.3]) == []
