"""Events the scoring service produces (stream SCORING, subjects `scoring.>`)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal
from uuid import UUID

from riskwatch_shared.events.base import AwareDatetime, Event, Payload, register
from riskwatch_shared.events.common import ModelKind, Reason, RiskLevel, TransactionData


class ScoringEvent(Event, frozen=True, kw_only=True):
    stream: ClassVar[str] = "SCORING"
    source: str = "scoring"


@register
class TransactionScored(ScoringEvent, frozen=True, kw_only=True):
    """Every transaction's anomaly score, with the features alerting rules need. Superseded by
    `TransactionScoredV2` (what scoring writes now); still read while v1 messages remain."""

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


# --- scoring.transaction_scored.v2: the same fact, typed features, nothing said twice ----------

Number = int | float


class TransactionSignals(Payload, frozen=True, kw_only=True):
    """The transaction seen against the customer's history before it. The transaction's own
    fields (amount, direction, channel, countries, time) are in `transaction` only."""

    is_cross_border: bool
    is_new_country: bool
    is_new_device: bool
    is_new_counterparty: bool
    history_count: int
    # Days from the customer's first transaction to this one (None for the first).
    history_days: float | None = None
    amount_to_avg_30d: float | None = None
    amount_zscore: float | None = None
    hour_share: float | None = None
    unusual_hour: bool = False
    velocity_1h: int = 0
    velocity_24h: int = 0
    amount_sum_1h: float = 0.0
    amount_sum_24h: float = 0.0
    days_since_previous_txn: float | None = None
    is_out_of_order: bool = False


class CustomerFeatures(Payload, frozen=True, kw_only=True):
    """The customer's features as of the transaction that alert rules can read (scoring's
    names; amounts in the customer's base currency), None where the customer has no data for
    it. The event carries what its consumers read: scoring computes more (its models' inputs,
    all of them in `customer_assessed`); a feature rules should read is added here (an
    additive change) and to alerting's field catalogue."""

    avg_amount_30d: Number | None = None
    txn_count_24h: int = 0
    txn_count_30d: int = 0
    days_since_last_activity: Number | None = None
    balance_trend_90d: Number | None = None
    activity_trend_90d: Number | None = None
    inflow_trend_90d: Number | None = None
    outflow_ratio_30d: Number | None = None
    complaints_90d: int | None = None
    interactions_90d: int | None = None
    dormant_accounts: int | None = None
    debt_to_income: Number | None = None
    utilisation: Number | None = None
    delinquencies_30: int | None = None
    delinquencies_60: int | None = None
    delinquencies_90: int | None = None
    missed_payments: int | None = None
    bureau_score: Number | None = None
    bureau_score_change: Number | None = None
    annual_income: Number | None = None
    income_change_pct: Number | None = None
    total_liabilities: Number | None = None
    liabilities_change_pct: Number | None = None
    net_worth: Number | None = None
    inflow_sum_30d: float = 0.0
    inflow_sum_90d: float = 0.0
    inflow_count_30d: int = 0
    inflow_count_90d: int = 0
    returned_payments_90d: int = 0
    days_past_due: int | None = None
    monthly_instalment: Number | None = None
    instalment_to_income: Number | None = None
    instalment_to_income_change: Number | None = None
    utilisation_change: Number | None = None
    external_delinquency_days: int | None = None


class CustomerRiskLevels(Payload, frozen=True, kw_only=True):
    """The customer's current level per model (None: not assessed yet), each model's latest
    score, and the customer's sequence (orders a customer's events)."""

    credit: RiskLevel | None = None
    anomaly: RiskLevel | None = None
    churn: RiskLevel | None = None
    overall: RiskLevel | None = None
    credit_score: float | None = None
    anomaly_score: float | None = None
    churn_score: float | None = None
    sequence: int = 0


@register
class TransactionScoredV2(ScoringEvent, frozen=True, kw_only=True):
    """`transaction_scored.v1` slimmer: the transaction's fields said once (not repeated among
    its features), the features typed (decoded by name into fixed fields, not built as open
    maps) and only the customer features rules can read. Scoring writes v2; consumers read both
    while v1 messages remain in the stream."""

    type: Literal["scoring.transaction_scored.v2"] = "scoring.transaction_scored.v2"
    customer_id: UUID
    transaction: TransactionData
    anomaly_score: float
    anomaly_level: RiskLevel
    recommended_action: Literal["approve", "review", "block"]
    reasons: list[Reason] = []
    model_version: str
    transaction_features: TransactionSignals
    customer_features: CustomerFeatures
    risk_levels: CustomerRiskLevels


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
    # The registry's version label, for people reading the alert (absent in older events).
    model_version: str | None = None
    # Who put the model into service: the proposer and approver of its promotion (none for
    # a model serving from the start); detection health alerts them.
    owners: list[str] = []
