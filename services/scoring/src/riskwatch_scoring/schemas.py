"""Request and response bodies of the scoring API."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from riskwatch_shared.db.totals import PageTotal
from riskwatch_shared.governance import ProposalFields
from riskwatch_shared.risk import RiskLevelName
from riskwatch_shared.text import SafeText

TrainableKind = Literal["credit", "churn"]
Kind = Literal["credit", "anomaly", "churn"]


class Schema(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ReasonOut(Schema):
    """One reason, once: a stable code, the sentence, the values it read by name, its
    contribution (in the model's units) and what to do about it."""

    code: str
    message: str
    contribution: float
    value: float | int | str | bool | None = None
    params: dict[str, float | int | str | bool | None] = {}
    advice: str | None = None


class CustomerFeaturesOut(Schema):
    customer_id: uuid.UUID
    as_of: datetime
    sequence: int
    features: dict[str, Any]


class KindRiskOut(Schema):
    kind: str
    score: float
    level: RiskLevelName
    model_version: str
    reasons: list[ReasonOut]
    advice: list[str]


class CustomerRiskOut(Schema):
    customer_id: uuid.UUID
    sequence: int
    overall_level: RiskLevelName
    levels: dict[str, RiskLevelName]
    assessments: dict[str, KindRiskOut]
    advice: list[str]


class AssessmentOut(Schema):
    id: uuid.UUID
    kind: str
    score: float
    level: RiskLevelName
    model_id: uuid.UUID
    model_version: str
    inputs_hash: str
    reasons: list[ReasonOut]
    is_shadow: bool
    transaction_id: uuid.UUID | None
    trigger_event_type: str
    trigger_event_id: uuid.UUID | None
    sequence: int | None
    assessed_at: datetime


class AssessmentPage(Schema, PageTotal):
    items: list[AssessmentOut]
    next_cursor: str | None


class TransactionScoreIn(BaseModel):
    """A transaction about to be authorised (not stored anywhere)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "customer_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
                    "direction": "outbound",
                    "amount": "1250.00",
                    "currency": "EUR",
                    "channel": "transfer",
                    "counterparty_country": "DE",
                    "country": "PT",
                    "occurred_at": "2026-03-02T09:14:05Z",
                }
            ]
        },
    )

    customer_id: uuid.UUID
    transaction_id: uuid.UUID | None = None
    account_id: uuid.UUID | None = None
    direction: Literal["inbound", "outbound"]
    amount: Decimal = Field(ge=0, max_digits=20, decimal_places=4)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    channel: Literal["card", "transfer", "atm", "online", "mobile"]
    counterparty_name: SafeText | None = Field(default=None, max_length=200)
    counterparty_account: SafeText | None = Field(default=None, max_length=100)
    counterparty_country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    device_id: SafeText | None = Field(default=None, max_length=200)
    merchant_category_code: str | None = Field(default=None, pattern=r"^[0-9]{4}$")
    occurred_at: datetime | None = None

    @field_validator("occurred_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.utcoffset() is None:
            raise ValueError("occurred_at must carry a timezone")
        return value


class TransactionScoreOut(Schema):
    customer_id: uuid.UUID
    score: float
    level: RiskLevelName
    recommended_action: Literal["approve", "review", "block"]
    reasons: list[ReasonOut]
    advice: list[str]
    model_version: str
    customer_levels: dict[str, RiskLevelName]
    known_customer: bool
    transaction_features: dict[str, Any]


class ModelOut(Schema):
    id: uuid.UUID
    kind: str
    version: int
    model_version: str
    status: str
    features: list[str]
    metrics: dict[str, Any] | None
    training_fingerprint: str | None
    created_at: datetime
    activated_at: datetime | None


class ModelProposalOut(ProposalFields):
    """A proposed change of which model serves (maker-checker): approved by someone other than
    its author (POST /v1/model-proposals/{id}/approve), only then does the model serve."""

    model_id: uuid.UUID = Field(description="The model it would promote")
    kind: str = Field(description="`activate` (champion) or `shadow` (challenger)")
    change: dict[str, Any] = Field(
        description="The model (kind, version), the status it would get and its status then"
    )


class ModelDetailOut(ModelOut):
    model: dict[str, Any]
    deployable: bool
    scored: dict[str, Any]


class ModelList(Schema):
    items: list[ModelOut]


class TrainFromLabelsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    algorithm: Literal["linear", "binned", "woe", "lightgbm", "auto"] | None = Field(
        default=None,
        description="linear or binned scorecard, optimal-binning WoE scorecard (woe), monotone "
        "gradient boosting (lightgbm), or auto: the best cross-validated AUC of them all",
    )
    encoding: Literal["linear", "binned"] = Field(
        default="linear", description="Older name of `algorithm` (linear or binned)"
    )
    features: list[SafeText] | None = Field(default=None, max_length=100)
    folds: int = Field(default=5, ge=2, le=10)


class TrainingOut(Schema):
    model: ModelOut
    report: dict[str, Any]


class LabelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: uuid.UUID
    kind: TrainableKind
    outcome: Literal[0, 1]
    observed_at: datetime

    @field_validator("observed_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.utcoffset() is None:
            raise ValueError("observed_at must carry a timezone")
        return value


class LabelsIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "labels": [
                        {
                            "customer_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
                            "kind": "credit",
                            "outcome": 1,
                            "observed_at": "2026-02-28T00:00:00Z",
                        }
                    ]
                }
            ]
        },
    )

    labels: list[LabelIn] = Field(min_length=1, max_length=10_000)


class LabelOut(Schema):
    id: uuid.UUID
    customer_id: uuid.UUID
    kind: str
    outcome: int
    observed_at: datetime
    created_by: str


class LabelsCreated(Schema):
    created: int


class LabelPage(Schema, PageTotal):
    items: list[LabelOut]
    next_cursor: str | None


class DriftOut(Schema):
    model_id: uuid.UUID
    kind: str
    status: Literal["stable", "watch", "drifted", "insufficient_data"]
    psi: float | None
    threshold: float
    window_days: int
    recent_scores: int
    baseline_scores: int
    # The periodic drift check publishes at most one event a day per model; reading never does.
    event_published: bool = Field(
        description="A drift event was published for this model today (by the periodic check)"
    )
