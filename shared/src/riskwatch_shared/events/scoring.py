"""Events the scoring service produces (stream SCORING, subjects `scoring.>`)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal
from uuid import UUID

from riskwatch_shared.events.base import AwareDatetime, Event, register
from riskwatch_shared.events.common import ModelKind, Reason, RiskLevel, TransactionData


class ScoringEvent(Event, frozen=True, kw_only=True):
    stream: ClassVar[str] = "SCORING"
    source: str = "scoring"


@register
class TransactionScored(ScoringEvent, frozen=True, kw_only=True):
    """Every transaction's anomaly score, with the features alerting rules need."""

    type: Literal["scoring.transaction_scored.v1"] = "scoring.transaction_scored.v1"
    customer_id: UUID
    transaction: TransactionData
    anomaly_score: float
    anomaly_level: RiskLevel
    recommended_action: Literal["approve", "review", "block"]
    reasons: list[Reason] = []
    model_version: str
    transaction_features: dict[str, Any] = {}
    customer_features: dict[str, Any] = {}
    risk_levels: dict[str, Any] = {}


@register
class CustomerAssessed(ScoringEvent, frozen=True, kw_only=True):
    """A customer's assessment after a record or behaviour change (levels may be unchanged)."""

    type: Literal["scoring.customer_assessed.v1"] = "scoring.customer_assessed.v1"
    customer_id: UUID
    trigger_event_type: str
    trigger_event_id: UUID | None = None
    sequence: int
    levels: dict[str, RiskLevel]
    scores: dict[str, float]
    reasons: dict[str, list[Reason]] = {}
    customer_features: dict[str, Any] = {}
    # When the thing assessed happened (a credit record's as-of date, an interaction's time),
    # beside `occurred_at` (when it was assessed): alerts show both.
    happened_at: AwareDatetime | None = None


@register
class CustomerRiskLevelChanged(ScoringEvent, frozen=True, kw_only=True):
    type: Literal["scoring.customer_risk_level_changed.v1"] = (
        "scoring.customer_risk_level_changed.v1"
    )
    customer_id: UUID
    model_kind: ModelKind | Literal["overall"]
    from_level: RiskLevel | None
    to_level: RiskLevel
    score: float
    sequence: int
    model_version: str
    reasons: list[Reason] = []
    advice: list[str] = []
    assessment_id: UUID | None = None
    trigger_event_type: str | None = None
    happened_at: AwareDatetime | None = None


@register
class ModelDriftDetected(ScoringEvent, frozen=True, kw_only=True):
    type: Literal["scoring.model_drift_detected.v1"] = "scoring.model_drift_detected.v1"
    model_id: UUID
    model_kind: ModelKind
    psi: float
    threshold: float
