"""What every model returns: a score in [0, 1], its level and the reasons behind it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from riskwatch_scoring.domain.levels import Level, ModelKind, overall_level

ReasonValue = float | int | str | bool | None


@dataclass(frozen=True, slots=True)
class Reason:
    """One factor that raised the score; `contribution` is in the model's own units."""

    code: str
    message: str
    contribution: float
    value: ReasonValue = None

    def to_state(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "contribution": self.contribution,
            "value": self.value,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Reason:
        return cls(state["code"], state["message"], float(state["contribution"]), state["value"])


def sort_reasons(reasons: Iterable[Reason]) -> list[Reason]:
    """Largest contribution first; ties by code so the order is stable."""
    return sorted(reasons, key=lambda reason: (-reason.contribution, reason.code))


@dataclass(frozen=True, slots=True)
class Assessment:
    kind: ModelKind
    score: float
    level: Level
    model_version: str
    reasons: list[Reason] = field(default_factory=list)

    def to_state(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "score": self.score,
            "level": self.level.value,
            "model_version": self.model_version,
            "reasons": [reason.to_state() for reason in self.reasons],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Assessment:
        return cls(
            kind=state["kind"],
            score=float(state["score"]),
            level=Level(state["level"]),
            model_version=state["model_version"],
            reasons=[Reason.from_state(reason) for reason in state["reasons"]],
        )


def overall_assessment_level(assessments: Iterable[Assessment]) -> Level:
    return overall_level(assessment.level for assessment in assessments)
