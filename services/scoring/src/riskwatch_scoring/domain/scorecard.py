"""Points-based scorecards: characteristics give points, points map to a probability.

Scaling: score = offset + factor * ln(good:bad odds), factor = PDO / ln 2 and
offset = base_score - factor * ln(base_odds). With base 600 at odds 50:1 and PDO 20,
a score of 600 is a 1.96% probability of default and every 20 points fewer doubles
the bad odds. A scorecard's score is `base_points` plus each characteristic's points.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from riskwatch_scoring.domain.assessment import Assessment, Reason, sort_reasons
from riskwatch_scoring.domain.canonical import canonical_json
from riskwatch_scoring.domain.levels import DEFAULT_CUTOFFS, LevelCutoffs, ModelKind
from riskwatch_scoring.domain.wording import choose_plural

FeatureInput = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ScoreScaling:
    base_score: float = 600.0
    base_odds: float = 50.0
    pdo: float = 20.0

    @property
    def factor(self) -> float:
        return self.pdo / math.log(2)

    @property
    def offset(self) -> float:
        return self.base_score - self.factor * math.log(self.base_odds)

    def probability_of_default(self, score: float) -> float:
        # logit(PD) = ln(bad:good odds) = (offset - score) / factor
        logit = (self.offset - score) / self.factor
        if logit >= 0:
            return 1.0 / (1.0 + math.exp(-logit))
        odds = math.exp(logit)
        return odds / (1.0 + odds)

    def to_state(self) -> dict[str, Any]:
        return {"base_score": self.base_score, "base_odds": self.base_odds, "pdo": self.pdo}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> ScoreScaling:
        return cls(float(state["base_score"]), float(state["base_odds"]), float(state["pdo"]))


def _number(value: Any) -> float | None:
    """A feature value as a float; None for missing, blank or non-finite values."""
    if isinstance(value, bool):
        return float(value)
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _describe(template: str, feature: str, value: Any) -> str:
    if value is None:
        return f"{feature} missing"
    try:
        return choose_plural(template, value).format(value=value, feature=feature)
    except (ValueError, TypeError):
        return f"{feature} = {value}"


class Characteristic(Protocol):
    @property
    def feature(self) -> str: ...

    @property
    def reference_points(self) -> float: ...

    def points(self, value: Any) -> float: ...

    def reason(self, value: Any, points: float) -> Reason | None: ...

    def to_state(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class BinnedCharacteristic:
    """Numeric bins: bin i covers [edges[i-1], edges[i]); len(points) == len(edges) + 1."""

    feature: str
    edges: tuple[float, ...]
    bin_points: tuple[float, ...]
    missing_points: float = 0.0
    reference_points: float = 0.0
    reason_code: str = ""
    message: str = "{feature} = {value}"

    def __post_init__(self) -> None:
        if len(self.bin_points) != len(self.edges) + 1:
            raise ValueError(f"{self.feature}: need one more bin points value than edges")
        if list(self.edges) != sorted(self.edges):
            raise ValueError(f"{self.feature}: edges must ascend")

    def points(self, value: Any) -> float:
        number = _number(value)
        if number is None:
            return self.missing_points
        return self.bin_points[bisect.bisect_right(self.edges, number)]

    def reason(self, value: Any, points: float) -> Reason | None:
        lost = self.reference_points - points
        if lost <= 0:
            return None
        code = self.reason_code or f"{self.feature}_points"
        return Reason(code, _describe(self.message, self.feature, value), lost, value)

    def to_state(self) -> dict[str, Any]:
        return {"type": "binned", **_fields(self)}


@dataclass(frozen=True, slots=True)
class CategoricalCharacteristic:
    """Points per category; unseen categories get `other_points`."""

    feature: str
    category_points: dict[str, float]
    other_points: float = 0.0
    missing_points: float = 0.0
    reference_points: float = 0.0
    reason_code: str = ""
    message: str = "{feature} = {value}"

    def points(self, value: Any) -> float:
        if value is None or value == "":
            return self.missing_points
        return self.category_points.get(str(value), self.other_points)

    def reason(self, value: Any, points: float) -> Reason | None:
        lost = self.reference_points - points
        if lost <= 0:
            return None
        code = self.reason_code or f"{self.feature}_points"
        return Reason(code, _describe(self.message, self.feature, value), lost, value)

    def to_state(self) -> dict[str, Any]:
        return {"type": "categorical", **_fields(self)}


def signed_log(value: float) -> float:
    """sign(x) * ln(1 + |x|): tames heavy-tailed amounts and keeps negative balances apart."""
    return math.copysign(math.log1p(abs(value)), value)


@dataclass(frozen=True, slots=True)
class LinearCharacteristic:
    """Points proportional to a standardised (optionally signed-log) value; missing scores 0."""

    feature: str
    centre: float
    scale: float
    points_per_unit: float
    signed_log: bool = True
    reference_points: float = 0.0
    reason_code: str = ""
    message: str = "{feature} = {value}"

    def standardise(self, value: Any) -> float | None:
        number = _number(value)
        if number is None:
            return None
        transformed = signed_log(number) if self.signed_log else number
        return (transformed - self.centre) / self.scale

    def points(self, value: Any) -> float:
        standardised = self.standardise(value)
        return 0.0 if standardised is None else self.points_per_unit * standardised

    def reason(self, value: Any, points: float) -> Reason | None:
        lost = self.reference_points - points
        if lost <= 0:
            return None
        code = self.reason_code or f"{self.feature}_points"
        return Reason(code, _describe(self.message, self.feature, value), lost, value)

    def to_state(self) -> dict[str, Any]:
        return {"type": "linear", **_fields(self)}


def _fields(characteristic: Any) -> dict[str, Any]:
    state = {name: getattr(characteristic, name) for name in characteristic.__slots__}
    for name, value in state.items():
        if isinstance(value, tuple):
            state[name] = list(value)
    return state


def characteristic_from_state(state: Mapping[str, Any]) -> Characteristic:
    fields = {name: value for name, value in state.items() if name != "type"}
    match state["type"]:
        case "binned":
            fields["edges"] = tuple(fields["edges"])
            fields["bin_points"] = tuple(fields["bin_points"])
            return BinnedCharacteristic(**fields)
        case "categorical":
            return CategoricalCharacteristic(**fields)
        case "linear":
            return LinearCharacteristic(**fields)
    raise ValueError(f"unknown characteristic type {state['type']!r}")


@dataclass(frozen=True, slots=True)
class ScorecardResult:
    score: float
    probability: float
    points: dict[str, float]
    reasons: list[Reason]


@dataclass(frozen=True, slots=True)
class Scorecard:
    """A credit scorecard: base points plus points per characteristic, scaled to a PD."""

    model_version: str
    base_points: float
    characteristics: tuple[Characteristic, ...]
    scaling: ScoreScaling = ScoreScaling()
    cutoffs: LevelCutoffs = DEFAULT_CUTOFFS["credit"]
    kind: ModelKind = "credit"
    metadata: dict[str, Any] | None = None

    @property
    def features(self) -> list[str]:
        return [characteristic.feature for characteristic in self.characteristics]

    def evaluate(self, features: FeatureInput) -> ScorecardResult:
        score = self.base_points
        points: dict[str, float] = {}
        reasons: list[Reason] = []
        for characteristic in self.characteristics:
            value = features.get(characteristic.feature)
            earned = characteristic.points(value)
            points[characteristic.feature] = earned
            score += earned
            reason = characteristic.reason(value, earned)
            if reason is not None:
                reasons.append(reason)
        probability = self.scaling.probability_of_default(score)
        return ScorecardResult(score, probability, points, sort_reasons(reasons))

    def probability(self, features: FeatureInput) -> float:
        return self.evaluate(features).probability

    def assess(self, features: FeatureInput) -> Assessment:
        result = self.evaluate(features)
        return Assessment(
            kind=self.kind,
            score=result.probability,
            level=self.cutoffs.level(result.probability),
            model_version=self.model_version,
            reasons=result.reasons,
        )

    def to_state(self) -> dict[str, Any]:
        return {
            "model_type": "scorecard",
            "model_version": self.model_version,
            "kind": self.kind,
            "base_points": self.base_points,
            "scaling": self.scaling.to_state(),
            "cutoffs": self.cutoffs.to_state(),
            "characteristics": [c.to_state() for c in self.characteristics],
            "metadata": self.metadata,
        }

    def to_json(self) -> str:
        return canonical_json(self.to_state())

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Scorecard:
        return cls(
            model_version=state["model_version"],
            kind=state["kind"],
            base_points=float(state["base_points"]),
            scaling=ScoreScaling.from_state(state["scaling"]),
            cutoffs=LevelCutoffs.from_state(state["cutoffs"]),
            characteristics=tuple(characteristic_from_state(c) for c in state["characteristics"]),
            metadata=state.get("metadata"),
        )
