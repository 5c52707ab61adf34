"""Risk levels: per-model cut-offs turn a score in [0, 1] into low / medium / high / critical.

The overall level of a customer is the highest level among the credit, anomaly and churn
assessments: one model in "critical" makes the customer critical, because each model
watches a different way money can be lost and they do not offset each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from riskwatch_shared.risk import RiskLevel, highest

ModelKind = Literal["credit", "anomaly", "churn"]
MODEL_KINDS: tuple[ModelKind, ...] = ("credit", "anomaly", "churn")


# A model's level is the kit's one risk scale (`rank`).
Level = RiskLevel


@dataclass(frozen=True, slots=True)
class LevelCutoffs:
    """Lowest score of each level above low; scores at a cut-off belong to the higher level."""

    medium: float
    high: float
    critical: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.medium <= self.high <= self.critical <= 1.0:
            raise ValueError("cut-offs must satisfy 0 <= medium <= high <= critical <= 1")

    def level(self, score: float) -> Level:
        if score >= self.critical:
            return Level.CRITICAL
        if score >= self.high:
            return Level.HIGH
        if score >= self.medium:
            return Level.MEDIUM
        return Level.LOW

    def to_state(self) -> dict[str, Any]:
        return {"medium": self.medium, "high": self.high, "critical": self.critical}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> LevelCutoffs:
        return cls(float(state["medium"]), float(state["high"]), float(state["critical"]))


# Credit scores are probabilities of default; anomaly and churn are probabilities too,
# but an anomaly alert costs an analyst minutes, so its cut-offs sit higher.
DEFAULT_CUTOFFS: dict[ModelKind, LevelCutoffs] = {
    "credit": LevelCutoffs(medium=0.05, high=0.15, critical=0.35),
    "anomaly": LevelCutoffs(medium=0.40, high=0.70, critical=0.90),
    "churn": LevelCutoffs(medium=0.30, high=0.55, critical=0.80),
}


def level_for(
    kind: ModelKind, score: float, cutoffs: Mapping[ModelKind, LevelCutoffs] | None = None
) -> Level:
    return (cutoffs or DEFAULT_CUTOFFS)[kind].level(score)


def overall_level(levels: Iterable[Level]) -> Level:
    """The highest of the given levels; low when there are none."""
    return highest(levels)
