"""Request and response bodies of the notify API."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from riskwatch_notify.domain.escalation import (
    MAX_CYCLE_SECONDS,
    MAX_LEVEL_DELAY_SECONDS,
    MAX_LEVELS,
    MAX_REPEAT,
)
from riskwatch_shared.contact import EmailAddress, PhoneNumber
from riskwatch_shared.db.totals import PageTotal
from riskwatch_shared.governance import ProposalFields
from riskwatch_shared.risk import RiskLevelName
from riskwatch_shared.text import SafeMultilineText, SafeText

ChannelName = Literal["email", "sms", "in_app", "webhook"]
AlertTypeName = Literal["transaction_anomaly", "credit_risk", "churn", "custom"]
WatchlistEventName = Literal["entered", "reviewed", "exited", "review_due"]
LocaleName = Literal["en", "zh"]
DeliveryStatusName = Literal[
    "queued", "sending", "sent", "failed", "dead", "held", "bundled", "cancelled"
]
MAX_IDS = 100  # teams of a recipient, teams or recipients of an escalation level


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class RecipientIn(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Risk department on call",
                    "email": "risk.oncall@bank.example",
                    "phone": "+351 912 345 678",
                    "locale": "en",
                    "time_zone": "Europe/Lisbon",
                    "quiet_start": "22:00:00",
                    "quiet_end": "07:00:00",
                }
            ]
        }
    )
    name: SafeText = Field(min_length=1, max_length=200)
    email: EmailAddress | None = None
    phone: PhoneNumber | None = None
    webhook_url: SafeText | None = Field(
        default=None,
        max_length=2000,
        pattern=r"^https?://",
        description="https outside dev mode; a public host (checked when saved and when sent)",
    )
    locale: LocaleName = "en"
    time_zone: SafeText = Field(default="UTC", max_length=64)
    quiet_start: time | None = Field(default=None, description="Local start of quiet hours")
    quiet_end: time | None = Field(default=None, description="Local end of quiet hours")
    team_ids: list[UUID] = Field(default=[], max_length=MAX_IDS)
    staff_id: SafeText | None = Field(default=None, max_length=120, description="Matches an RM")
    user_subject: SafeText | None = Field(
        default=None, max_length=200, description="Gateway user subject owning the inbox"
    )
    active: bool = True

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("quiet_start", "quiet_end")
    @classmethod
    def _wall_clock(cls, value: time | None) -> time | None:
        if value is not None and value.tzinfo is not None:
            raise ValueError("quiet hours are a local wall-clock time, without an offset")
        return value

    @model_validator(mode="after")
    def _quiet_pair(self) -> RecipientIn:
        if (self.quiet_start is None) != (self.quiet_end is None):
            raise ValueError("quiet_start and quiet_end go together")
        return self


class RecipientOut(Out):
    id: UUID
    name: str
    email: str | None
    phone: str | None
    webhook_url: str | None
    locale: str
    time_zone: str
    quiet_start: time | None
    quiet_end: time | None
    team_ids: list[UUID]
    staff_id: str | None
    user_subject: str | None
    active: bool
    created_at: datetime


class TeamIn(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"name": "Risk department", "description": "Follows up high and critical alerts."}
            ]
        }
    )
    name: SafeText = Field(min_length=1, max_length=200)
    description: SafeMultilineText = Field(default="", max_length=2_000)


class TeamOut(Out):
    id: UUID
    name: str
    description: str
    member_ids: list[UUID]
    created_at: datetime


class SubscriptionIn(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "team_id": "3c4f1d2e-8b7a-4e5f-9a1b-2c3d4e5f6a7b",
                    "channels": ["email", "in_app"],
                    "alert_types": ["transaction_anomaly", "credit_risk"],
                    "min_severity": "high",
                }
            ]
        }
    )
    team_id: UUID | None = None
    recipient_id: UUID | None = None
    channels: list[ChannelName] = Field(min_length=1, max_length=4)
    alert_types: list[AlertTypeName] = Field(
        default=[], max_length=4, description="Empty means every type"
    )
    min_severity: RiskLevelName = "low"
    include_relationship_manager: bool = Field(
        default=False, description="Also notify the relationship manager of the customer"
    )
    watchlist_events: list[WatchlistEventName] = Field(
        default=[],
        max_length=4,
        description="The watch list's events to deliver too (email and in-app channels)",
    )
    alerts: bool = Field(default=True, description="Deliver alerts (false: the watch list only)")

    @model_validator(mode="after")
    def _one_target(self) -> SubscriptionIn:
        if (self.team_id is None) == (self.recipient_id is None):
            raise ValueError("give exactly one of team_id, recipient_id")
        return self


class SubscriptionOut(Out):
    id: UUID
    team_id: UUID | None
    recipient_id: UUID | None
    channels: list[str]
    alert_types: list[str]
    min_severity: str
    include_relationship_manager: bool
    watchlist_events: list[str]
    alerts: bool
    created_at: datetime


class EscalationLevelIn(Body):
    after_seconds: int = Field(
        ge=0, le=MAX_LEVEL_DELAY_SECONDS, description="From the alert being raised (<= 7 days)"
    )
    channels: list[ChannelName] = Field(min_length=1, max_length=4)
    team_ids: list[UUID] = Field(default=[], max_length=MAX_IDS)
    recipient_ids: list[UUID] = Field(default=[], max_length=MAX_IDS)

    @model_validator(mode="after")
    def _someone(self) -> EscalationLevelIn:
        if not self.team_ids and not self.recipient_ids:
            raise ValueError("a level needs at least one team or recipient")
        return self


class EscalationPolicyIn(Body):
    levels: list[EscalationLevelIn] = Field(min_length=1, max_length=MAX_LEVELS)
    repeat: int = Field(default=0, ge=0, le=MAX_REPEAT)
    cycle_seconds: int | None = Field(
        default=None, gt=0, le=MAX_CYCLE_SECONDS, description="One pass of the chain (<= 14 days)"
    )


class EscalationPolicyOut(Out):
    severity: str
    levels: list[EscalationLevelIn]
    repeat: int
    cycle_seconds: int | None
    updated_at: datetime


class EscalationPolicyProposalOut(ProposalFields):
    """A proposed change of an escalation policy (maker-checker): approved by someone other
    than its author (POST /v1/escalation-policy-proposals/{id}/approve); the live policy pages
    unchanged until then."""

    severity: str
    kind: str = Field(description="`put` (the whole policy, as `change` says) or `delete`")
    change: dict[str, Any] = Field(
        description="The proposed policy (`levels`, `repeat`, `cycle_seconds`) and the live "
        "one when it was proposed (`before`)"
    )


class DeliveryAttemptOut(Out):
    attempt: int
    status: str
    provider: str
    provider_message_id: str | None
    detail: str
    remote_status: int | None = Field(
        default=None, description="The remote HTTP server's status code (its body is not kept)"
    )
    started_at: datetime
    duration_ms: int


class TestSendIn(Body):
    channel: ChannelName = Field(description="The channel to try the recipient on")


class DeliveryOut(Out):
    id: UUID
    kind: str
    alert_id: UUID | None
    bundled_alert_ids: list[UUID]
    digest_notification_id: UUID | None
    escalation_step: int | None
    recipient_id: UUID
    channel: str
    address: str
    severity: str
    subject: str
    status: str
    attempts: int
    next_attempt_at: datetime
    held_until: datetime | None
    provider: str | None
    provider_message_id: str | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None


class DeliveryDetailOut(DeliveryOut):
    attempt_log: list[DeliveryAttemptOut]


class DeliveryPage(PageTotal):
    items: list[DeliveryOut]
    next_cursor: str | None


class AlertNotificationsOut(BaseModel):
    alert_id: UUID
    planning_error: str | None = Field(
        default=None, description="Why notifications for this alert could not all be planned"
    )
    notifications: list[DeliveryDetailOut]


class InboxMessageOut(Out):
    id: UUID
    seq: int
    alert_id: UUID | None
    customer_id: UUID | None = None
    title: str
    body: str
    severity: str
    link: str
    created_at: datetime
    read_at: datetime | None


class InboxPage(PageTotal):
    items: list[InboxMessageOut]
    unread_count: int
    next_cursor: str | None


class MarkedRead(BaseModel):
    marked: int
    unread_count: int
