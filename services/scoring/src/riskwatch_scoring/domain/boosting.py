"""A gradient-boosted credit model (LightGBM) with monotonic constraints, explained per decision.

Inputs: a numeric column as it is (missing as NaN), constrained to move the risk in one
direction only, the direction of its optimal binning's bad-rate trend (so a longer duration
can never lower the risk, whatever the trees found); a categorical column, or a numeric one
whose binning is a valley or a peak, as its WoE (`binning.py`), constrained to raise the
risk with the WoE. Reasons come from LightGBM's
`pred_contrib` (the trees' SHAP values in log-odds): the features that push this decision's
risk above the training average, in scorecard points (factor x log-odds, the same unit as a
scorecard's points). Probabilities are Platt-calibrated, p = sigmoid(a * margin + b), with a
and b fitted on out-of-fold margins. The booster is kept in LightGBM's own text format,
never pickled.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from riskwatch_scoring.domain.assessment import Assessment, Reason, sort_reasons
from riskwatch_scoring.domain.binning import (
    Binning,
    BinningConfig,
    CategoricalBinning,
    NumericBinning,
    bin_categorical,
    bin_numeric,
    binning_from_state,
    woe_value,
)
from riskwatch_scoring.domain.canonical import canonical_json
from riskwatch_scoring.domain.levels import DEFAULT_CUTOFFS, LevelCutoffs, ModelKind
from riskwatch_scoring.domain.scorecard import FeatureInput, ScoreScaling, _number

if TYPE_CHECKING:
    import lightgbm as lgb

FloatMatrix = npt.NDArray[np.float64]
# Contributions smaller than this many points are noise, not reasons.
MIN_REASON_POINTS = 0.5


@dataclass(frozen=True, slots=True)
class BoostingConfig:
    rounds: int = 300
    learning_rate: float = 0.03
    num_leaves: int = 4
    min_data_in_leaf: int = 30
    feature_fraction: float = 0.8
    bagging_fraction: float = 0.8
    lambda_l2: float = 1.0
    seed: int = 0

    def params(self, monotone: Sequence[int], n_rows: int) -> dict[str, Any]:
        return {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            # A small training set (labels of 80 customers) still gets leaves of 5% of it.
            "min_data_in_leaf": min(self.min_data_in_leaf, max(5, n_rows // 20)),
            "feature_fraction": self.feature_fraction,
            "bagging_fraction": self.bagging_fraction,
            "bagging_freq": 1,
            "lambda_l2": self.lambda_l2,
            "monotone_constraints": list(monotone),
            "seed": self.seed,
            "deterministic": True,
            "num_threads": 1,
            "verbose": -1,
        }

    def to_state(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


def _sigmoid(logit: float) -> float:
    if logit >= 0:
        return 1.0 / (1.0 + math.exp(-logit))
    odds = math.exp(logit)
    return odds / (1.0 + odds)


def _as_woe(binning: Binning) -> bool:
    """Categories and valley/peak-shaped numbers enter as their WoE (monotone in risk)."""
    return isinstance(binning, CategoricalBinning) or binning.trend in ("valley", "peak")


def _input_value(binning: Binning, value: Any) -> float:
    if _as_woe(binning):
        return woe_value(binning, value)
    number = _number(value)
    return math.nan if number is None else number


def design_matrix(inputs: Sequence[Binning], rows: Sequence[FeatureInput]) -> FloatMatrix:
    return np.array(
        [[_input_value(b, row.get(b.feature)) for b in inputs] for row in rows],
        dtype=np.float64,
    ).reshape(len(rows), len(inputs))


def _direction(binning: Binning) -> int:
    descending = isinstance(binning, NumericBinning) and binning.trend == "descending"
    return -1 if descending else 1


@dataclass(frozen=True)
class BoostedModel:
    """Serves like a scorecard: `assess(features)` gives the PD, level and reasons."""

    model_version: str
    inputs: tuple[Binning, ...]
    booster_text: str
    platt: tuple[float, float] = (1.0, 0.0)
    scaling: ScoreScaling = field(default_factory=ScoreScaling)
    cutoffs: LevelCutoffs = DEFAULT_CUTOFFS["credit"]
    kind: ModelKind = "credit"
    metadata: dict[str, Any] | None = None
    booster: lgb.Booster = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        import lightgbm as lgb  # lazy: the service starts without it

        object.__setattr__(self, "booster", lgb.Booster(model_str=self.booster_text))

    @property
    def features(self) -> list[str]:
        return [binning.feature for binning in self.inputs]

    def design(self, rows: Sequence[FeatureInput]) -> FloatMatrix:
        return design_matrix(self.inputs, rows)

    def margins(self, rows: Sequence[FeatureInput]) -> FloatMatrix:
        margins = self.booster.predict(self.design(rows), raw_score=True)
        return np.asarray(margins, dtype=np.float64)

    def probabilities(self, rows: Sequence[FeatureInput]) -> FloatMatrix:
        slope, intercept = self.platt
        return stable_sigmoid(slope * self.margins(rows) + intercept)

    def probability(self, features: FeatureInput) -> float:
        return float(self.probabilities([features])[0])

    def assess(self, features: FeatureInput) -> Assessment:
        contributions = self.booster.predict(self.design([features]), pred_contrib=True)[0]
        slope, intercept = self.platt
        probability = _sigmoid(slope * float(contributions.sum()) + intercept)
        reasons = []
        for binning, contribution in zip(self.inputs, contributions[:-1], strict=True):
            points = self.scaling.factor * slope * float(contribution)
            if points < MIN_REASON_POINTS:
                continue
            value = features.get(binning.feature)
            shown = value if isinstance(value, int | float | str | bool) else None
            message = (
                f"{binning.feature} missing" if shown is None else f"{binning.feature} = {shown}"
            )
            reasons.append(Reason(f"{binning.feature}_points", message, points, shown))
        return Assessment(
            kind=self.kind,
            score=probability,
            level=self.cutoffs.level(probability),
            model_version=self.model_version,
            reasons=sort_reasons(reasons),
        )

    def to_state(self) -> dict[str, Any]:
        return {
            "model_type": "boosted",
            "model_version": self.model_version,
            "kind": self.kind,
            "inputs": [binning.to_state() for binning in self.inputs],
            "booster": self.booster_text,
            "platt": list(self.platt),
            "scaling": self.scaling.to_state(),
            "cutoffs": self.cutoffs.to_state(),
            "metadata": self.metadata,
        }

    def to_json(self) -> str:
        return canonical_json(self.to_state())

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> BoostedModel:
        slope, intercept = state["platt"]
        return cls(
            model_version=state["model_version"],
            kind=state["kind"],
            inputs=tuple(binning_from_state(b) for b in state["inputs"]),
            booster_text=state["booster"],
            platt=(float(slope), float(intercept)),
            scaling=ScoreScaling.from_state(state["scaling"]),
            cutoffs=LevelCutoffs.from_state(state["cutoffs"]),
            metadata=state.get("metadata"),
        )


def fit_inputs(
    rows: Sequence[Mapping[str, Any]],
    labels: npt.NDArray[np.int_],
    features: Sequence[str],
    categorical: frozenset[str],
    config: BinningConfig,
) -> tuple[Binning, ...]:
    """Optimal binnings of the features: WoE tables and monotone trends."""
    inputs: list[Binning] = []
    for feature in features:
        if feature in categorical:
            values = [None if row.get(feature) is None else str(row[feature]) for row in rows]
            inputs.append(bin_categorical(feature, values, labels, config))
        else:
            numbers = [_number(row.get(feature)) for row in rows]
            inputs.append(bin_numeric(feature, numbers, labels, config))
    return tuple(inputs)


def fit_boosted(
    rows: Sequence[Mapping[str, Any]],
    labels: npt.NDArray[np.int_],
    inputs: tuple[Binning, ...],
    config: BoostingConfig,
    *,
    model_version: str,
    scaling: ScoreScaling,
) -> BoostedModel:
    """Boost on the inputs with each feature's monotone direction (uncalibrated: a=1, b=0)."""
    import lightgbm as lgb  # lazy: the service starts without it

    params = config.params([_direction(binning) for binning in inputs], len(rows))
    dataset = lgb.Dataset(design_matrix(inputs, rows), label=labels, params=params)
    booster = lgb.train(params, dataset, num_boost_round=config.rounds)
    return BoostedModel(model_version, inputs, booster.model_to_string(), scaling=scaling)


def stable_sigmoid(logits: FloatMatrix) -> FloatMatrix:
    """1 / (1 + e^-x) without overflow for large |x|."""
    probabilities: FloatMatrix = np.exp(-np.logaddexp(0.0, -logits))
    return probabilities


def fit_platt(margins: FloatMatrix, labels: npt.NDArray[np.int_]) -> tuple[float, float]:
    """(a, b) of p = sigmoid(a * margin + b) by Newton's method on the log loss.

    Targets are Platt's (1999) smoothed ones, (n+ + 1) / (n+ + 2) and 1 / (n- + 2), so
    perfectly separated margins still give a finite slope. Margins that do not vary (a
    model that learnt nothing) get the base rate: (0, logit)."""
    positives = float(labels.sum())
    negatives = float(len(labels)) - positives
    rate = float(np.clip(positives / max(len(labels), 1), 1e-6, 1 - 1e-6))
    if float(np.ptp(margins)) < 1e-9:
        return 0.0, math.log(rate / (1 - rate))
    targets = np.where(labels == 1, (positives + 1) / (positives + 2), 1 / (negatives + 2))
    slope, intercept = 1.0, 0.0
    for _ in range(100):
        p = stable_sigmoid(slope * margins + intercept)
        weights = np.maximum(p * (1 - p), 1e-12)
        gradient = np.array([np.sum((p - targets) * margins), np.sum(p - targets)])
        hessian = np.array(
            [
                [np.sum(weights * margins * margins), np.sum(weights * margins)],
                [np.sum(weights * margins), np.sum(weights)],
            ]
        )
        step = np.linalg.solve(hessian + 1e-9 * len(margins) * np.eye(2), gradient)
        slope, intercept = slope - float(step[0]), intercept - float(step[1])
        if float(np.abs(step).max()) < 1e-10:
            break
    return slope, intercept
