"""Model quality and drift metrics, computed from first principles with numpy.

AUC is the Mann-Whitney rank statistic (ties share their average rank), Gini = 2*AUC - 1,
KS the largest gap between the cumulative score distributions of positives and negatives,
Brier the mean squared error of the probabilities. PSI compares two score distributions:
below 0.10 stable, 0.10-0.25 worth watching, above `PSI_DRIFT_THRESHOLD` (0.25) drifted,
retrain or recalibrate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

PSI_DRIFT_THRESHOLD = 0.25
PSI_WATCH_THRESHOLD = 0.10
FloatArray = npt.NDArray[np.float64]
ArrayLike = Sequence[float] | Sequence[int] | npt.NDArray[Any]


def _arrays(labels: ArrayLike, scores: ArrayLike) -> tuple[FloatArray, FloatArray]:
    label_array = np.asarray(labels, dtype=np.float64)
    score_array = np.asarray(scores, dtype=np.float64)
    if label_array.shape != score_array.shape or label_array.ndim != 1:
        raise ValueError("labels and scores must be 1-d arrays of the same length")
    if not np.isin(label_array, (0.0, 1.0)).all():
        raise ValueError("labels must be 0 or 1")
    return label_array, score_array


def average_ranks(values: FloatArray) -> FloatArray:
    """1-based ranks, tied values sharing the mean of their ranks."""
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    # Start index of each run of equal values, and each run's average rank.
    run_starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    run_ends = np.r_[run_starts[1:], len(values)]
    run_ranks = (run_starts + 1 + run_ends) / 2.0
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.repeat(run_ranks, run_ends - run_starts)
    return ranks


def auc(labels: ArrayLike, scores: ArrayLike) -> float:
    label_array, score_array = _arrays(labels, scores)
    positives = int(label_array.sum())
    negatives = len(label_array) - positives
    if positives == 0 or negatives == 0:
        raise ValueError("AUC needs both classes")
    positive_rank_sum = float(average_ranks(score_array)[label_array == 1.0].sum())
    return (positive_rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def gini(labels: ArrayLike, scores: ArrayLike) -> float:
    return 2.0 * auc(labels, scores) - 1.0


def ks_statistic(labels: ArrayLike, scores: ArrayLike) -> float:
    """max |F_pos(t) - F_neg(t)| over thresholds t (evaluated after each distinct score)."""
    label_array, score_array = _arrays(labels, scores)
    order = np.argsort(score_array, kind="mergesort")
    sorted_scores, sorted_labels = score_array[order], label_array[order]
    positives, negatives = sorted_labels.sum(), (1.0 - sorted_labels).sum()
    if positives == 0 or negatives == 0:
        raise ValueError("KS needs both classes")
    cumulative_positive = np.cumsum(sorted_labels) / positives
    cumulative_negative = np.cumsum(1.0 - sorted_labels) / negatives
    last_of_run = np.r_[sorted_scores[1:] != sorted_scores[:-1], True]
    return float(np.abs(cumulative_positive - cumulative_negative)[last_of_run].max())


def brier_score(labels: ArrayLike, probabilities: ArrayLike) -> float:
    label_array, probability_array = _arrays(labels, probabilities)
    return float(np.mean((probability_array - label_array) ** 2))


@dataclass(frozen=True, slots=True)
class CalibrationBin:
    lower: float
    upper: float
    count: int
    mean_predicted: float
    observed_rate: float

    def to_state(self) -> dict[str, Any]:
        return {
            "lower": self.lower,
            "upper": self.upper,
            "count": self.count,
            "mean_predicted": self.mean_predicted,
            "observed_rate": self.observed_rate,
        }


def calibration_table(
    labels: ArrayLike, probabilities: ArrayLike, bins: int = 10
) -> list[CalibrationBin]:
    """Equal-count bins (deciles by default) of predicted probability: predicted vs observed."""
    label_array, probability_array = _arrays(labels, probabilities)
    order = np.argsort(probability_array, kind="mergesort")
    table = []
    for chunk in np.array_split(order, bins):
        if len(chunk) == 0:
            continue
        predicted = probability_array[chunk]
        table.append(
            CalibrationBin(
                lower=float(predicted.min()),
                upper=float(predicted.max()),
                count=len(chunk),
                mean_predicted=float(predicted.mean()),
                observed_rate=float(label_array[chunk].mean()),
            )
        )
    return table


def roc_curve(
    labels: ArrayLike, scores: ArrayLike, max_points: int = 101
) -> list[dict[str, float]]:
    """The ROC curve as (false positive rate, true positive rate, threshold) points, from
    (0, 0) to (1, 1), thinned to at most `max_points` for the model report's chart. Tied
    scores make one step (every threshold is a distinct score)."""
    label_array, score_array = _arrays(labels, scores)
    positives = float(label_array.sum())
    negatives = float(len(label_array) - positives)
    if positives == 0 or negatives == 0:
        return []
    order = np.argsort(-score_array, kind="mergesort")
    sorted_scores, sorted_labels = score_array[order], label_array[order]
    last_of_run = np.r_[np.diff(sorted_scores) != 0, True]
    true_positives = np.cumsum(sorted_labels)[last_of_run]
    false_positives = np.cumsum(1 - sorted_labels)[last_of_run]
    thresholds = sorted_scores[last_of_run]
    points = [{"fpr": 0.0, "tpr": 0.0, "threshold": 1.0}]
    step = max(1, len(thresholds) // max(1, max_points - 2))
    for index in [*range(0, len(thresholds) - 1, step), len(thresholds) - 1]:
        points.append({
            "fpr": float(false_positives[index] / negatives),
            "tpr": float(true_positives[index] / positives),
            "threshold": float(thresholds[index]),
        })  # fmt: skip
    return points


def psi(expected_scores: ArrayLike, actual_scores: ArrayLike, bins: int = 10) -> float:
    """Population stability index of `actual_scores` against `expected_scores`.

    Bins are the expected distribution's quantiles; empty bins are floored at 1e-4 so the
    logarithm stays finite.
    """
    expected = np.asarray(expected_scores, dtype=np.float64)
    actual = np.asarray(actual_scores, dtype=np.float64)
    if len(expected) == 0 or len(actual) == 0:
        raise ValueError("PSI needs scores in both samples")
    inner_edges = np.unique(np.quantile(expected, np.linspace(0, 1, bins + 1)[1:-1]))
    expected_share = np.bincount(
        np.searchsorted(inner_edges, expected, side="right"), minlength=len(inner_edges) + 1
    ) / len(expected)
    actual_share = np.bincount(
        np.searchsorted(inner_edges, actual, side="right"), minlength=len(inner_edges) + 1
    ) / len(actual)
    expected_share = np.maximum(expected_share, 1e-4)
    actual_share = np.maximum(actual_share, 1e-4)
    return float(np.sum((actual_share - expected_share) * np.log(actual_share / expected_share)))
