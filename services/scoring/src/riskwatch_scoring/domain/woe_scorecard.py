"""The optimal-binning WoE scorecard: a logistic regression on each feature's WoE.

Each feature is replaced by the WoE of its optimal bin (`binning.py`); an L2 logistic
regression weighs the features; bin points = -factor * coefficient * WoE and base points =
offset - factor * intercept, so the scorecard's probability equals the regression's. Its
bins are monotone in risk and few, which is what a credit committee can read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from riskwatch_scoring.domain.binning import Binning, CategoricalBinning, woe_value
from riskwatch_scoring.domain.scorecard import (
    BinnedCharacteristic,
    CategoricalCharacteristic,
    Characteristic,
    Scorecard,
    ScoreScaling,
)


def woe_design(inputs: Sequence[Binning], rows: Sequence[Mapping[str, Any]]) -> npt.NDArray[Any]:
    return np.array(
        [[woe_value(binning, row.get(binning.feature)) for binning in inputs] for row in rows],
        dtype=np.float64,
    ).reshape(len(rows), len(inputs))


def _characteristic(binning: Binning, per_woe: float) -> Characteristic:
    """Points of each bin: `per_woe` (= -factor * coefficient) times the bin's WoE."""
    missing = per_woe * binning.missing_woe
    if isinstance(binning, CategoricalBinning):
        category_points = {level: per_woe * w for level, w in binning.category_woe.items()}
        return CategoricalCharacteristic(
            feature=binning.feature,
            category_points=category_points,
            other_points=0.0,
            missing_points=missing,
            reference_points=max([*category_points.values(), 0.0, missing]),
        )
    bin_points = tuple(per_woe * w for w in binning.woe)
    return BinnedCharacteristic(
        feature=binning.feature,
        edges=binning.edges,
        bin_points=bin_points,
        missing_points=missing,
        reference_points=max([*bin_points, missing]),
    )


def fit_woe_scorecard(
    rows: Sequence[Mapping[str, Any]],
    labels: npt.NDArray[np.int_],
    inputs: Sequence[Binning],
    *,
    regularisation_c: float,
    scaling: ScoreScaling,
    model_version: str,
) -> Scorecard:
    from sklearn.linear_model import LogisticRegression  # lazy, see training.py

    regression = LogisticRegression(C=regularisation_c, max_iter=2_000)
    regression.fit(woe_design(inputs, rows), labels)
    factor = scaling.factor
    characteristics = tuple(
        _characteristic(binning, -factor * float(coefficient))
        for binning, coefficient in zip(inputs, regression.coef_[0], strict=True)
    )
    return Scorecard(
        model_version=model_version,
        base_points=scaling.offset - factor * float(regression.intercept_[0]),
        characteristics=characteristics,
        scaling=scaling,
    )
