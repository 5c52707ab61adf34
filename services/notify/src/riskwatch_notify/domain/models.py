"""Value objects shared by the notify policies and the channel adapters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from enum import StrEnum
from typing import Any
from uuid import UUID

from riskwatch_shared.risk import RiskLevel

# An alert's severity is the kit's one risk scale (`rank`, `at_least`).
Severity = RiskLevel


class RuleType(StrEnum):
    TRANSACTION_ANOMALY = "transaction_anomaly"
    CREDIT_RISK = "credit_risk"
    CHURN = "churn"
    CUSTOM = "custom"


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    WEBHOOK = "webhook"
    IN_APP = "in_app"


class DeliveryStatus(StrEnum):
    """Outcome of one send attempt, as classified by a channel adapter."""

    SENT = "sent"
    TRANSIENT_FAILURE = "transient_failure"
    PERMANENT_FAILURE = "permanent_failure"


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


@dataclass(frozen=True, slots=True)
class Alert:
    """What notify knows of an alert, as carried by `alerting.alert_raised.v1`."""

    alert_id: UUID
    rule_id: str
    rule_name: str
    rule_type: RuleType
    severity: Severity
    customer_id: str
    title: str
    summary: str
    raised_at: datetime
    url: str
    customer_name: str | None = None
    relationship_manager: str | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)
    reasons: tuple[str, ...] = ()
    suggested_actions: tuple[str, ...] = ()
    # The title and summary as a riskwatch_shared.messages code: rendered per recipient.
    message_code: str | None = None
    message_params: Mapping[str, Any] = field(default_factory=dict)
    happened_at: datetime | None = None
    # `reasons` with their codes (code, message, params, advice), rendered per locale.
    coded_reasons: tuple[Mapping[str, Any], ...] = ()

    def __post_init__(self) -> None:
        _require_aware(self.raised_at, "raised_at")


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily local-time window; `start > end` means it crosses midnight."""

    start: time
    end: time


@dataclass(frozen=True, slots=True)
class Recipient:
    recipient_id: str
    name: str
    locale: str = "en"
    time_zone: str = "UTC"
    email: str | None = None
    phone: str | None = None
    webhook_url: str | None = None
    team_ids: frozenset[str] = frozenset()
    quiet_hours: QuietHours | None = None
    staff_id: str | None = None

    def address_for(self, channel: Channel) -> str | None:
        """The address this recipient is reached at on `channel`, if any."""
        match channel:
            case Channel.EMAIL:
                return self.email
            case Channel.SMS:
                return self.phone
            case Channel.WEBHOOK:
                return self.webhook_url
            case Channel.IN_APP:
                return self.recipient_id


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One rendered message for one address; `message_id` doubles as the idempotency key."""

    message_id: UUID
    channel: Channel
    to: str
    subject: str = ""
    text: str = ""
    html: str | None = None
    payload: Mapping[str, Any] | None = None
