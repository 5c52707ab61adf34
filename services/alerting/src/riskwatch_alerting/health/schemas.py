"""Response bodies of detection health: a rule's numbers, for the console's rules studio."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from riskwatch_shared.text import SafeMultilineText


class RuleHealthOut(BaseModel):
    """A rule's detection health. Counts over `window_days` are at event time; the volume and
    its baseline count alerts by when they were raised, in 24-hour days back from `as_of`."""

    rule_id: uuid.UUID
    name: str
    rule_type: str
    severity: str
    status: str
    version: int
    owner: str = Field(description="Who created the rule (its author)")
    owner_team: str | None
    last_changed_at: datetime
    last_changed_by: str
    pending_version: int | None = Field(
        default=None, description="A proposed version awaiting approval (maker-checker)"
    )
    active_since: datetime | None = Field(description="When its first version was approved")
    as_of: datetime
    window_days: int
    events_evaluated: int = Field(description="Trigger events of its types evaluated")
    matches: int = Field(description="Alerts raised plus repeats folded into open alerts")
    fire_rate: float | None = Field(description="matches / events_evaluated")
    alerts_last_24h: int
    baseline_per_day: float | None = Field(
        description="Median alerts a day over its previous days (none before 7 usable days)"
    )
    baseline_days: int
    baseline_ratio: float | None = Field(description="alerts_last_24h / baseline (min 1)")
    spiking: bool = Field(description="At least 5x its baseline and at least 10 alerts")
    dispositioned: int = Field(description="Resolved alerts with an outcome, in the window")
    true_positives: int
    false_positives: int
    precision: float | None
    open_operational_alert_id: uuid.UUID | None = Field(
        default=None, description="Its spike's operational alert, while unacknowledged"
    )


class DayVolume(BaseModel):
    day_start: datetime
    alerts: int


class RuleHealthDetail(RuleHealthOut):
    alerts_per_day: list[DayVolume] = Field(
        description="Alerts raised per 24-hour day, newest first (the baseline's days)"
    )


class OperationalAlertOut(BaseModel):
    """A rule's spike or a model's drift, for its owners (no customer in it)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str = Field(description="rule_spike | model_drift")
    subject_type: str = Field(description="rule | model")
    subject_id: str
    subject_name: str
    severity: str
    status: str = Field(description="open | acknowledged")
    title: str
    report: str
    figures: dict[str, float]
    owners: list[str]
    owner_team: str | None
    day: date
    raised_at: datetime
    last_seen_at: datetime
    repeats: int = Field(description="Later checks that found it still so, while open")
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    comment: str | None


class OperationalAcknowledge(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: SafeMultilineText | None = Field(default=None, max_length=2_000)
