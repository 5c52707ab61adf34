"""Events the alerting service produces (stream ALERTING, subjects `alerting.>`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal
from uuid import UUID

from riskwatch_shared.events.base import Event, register
from riskwatch_shared.events.common import Reason, RuleType, Severity


class AlertingEvent(Event):
    stream: ClassVar[str] = "ALERTING"
    source: str = "alerting"


@register
class AlertRaised(AlertingEvent):
    type: Literal["alerting.alert_raised.v1"] = "alerting.alert_raised.v1"
    alert_id: UUID
    customer_id: UUID | None = None
    customer_name: str | None = None
    relationship_manager: str | None = None
    rule_id: UUID
    rule_version: int
    rule_name: str
    rule_type: RuleType
    severity: Severity
    title: str
    summary: str
    raised_at: datetime
    transaction_id: UUID | None = None
    trigger_event_id: UUID | None = None
    trigger_event_type: str | None = None
    evidence: dict[str, Any] = {}
    scores: dict[str, Any] = {}
    reasons: list[str] = []
    suggested_actions: list[str] = []
    sla_due_at: datetime | None = None
    url: str | None = None
    # The words as codes (riskwatch_shared.messages) so each reader renders its own locale.
    message_code: str | None = None
    message_params: dict[str, Any] = {}
    # When the thing happened (transaction time, credit record as-of), beside `raised_at`.
    happened_at: datetime | None = None
    # `reasons` as codes with parameters, contribution and advice (each reason once).
    coded_reasons: list[Reason] = []


AlertChange = Literal[
    "acknowledged",
    "investigating",
    "assigned",
    "escalated",
    "resolved",
    "reopened",
    "commented",
    "occurrence_added",
    "customer_contacted",
]


@register
class AlertUpdated(AlertingEvent):
    type: Literal["alerting.alert_updated.v1"] = "alerting.alert_updated.v1"
    alert_id: UUID
    customer_id: UUID | None = None
    change: AlertChange
    status: str
    severity: Severity
    actor: str | None = None
    assignee: str | None = None
    assignee_team: str | None = None
    outcome: str | None = None
    comment: str | None = None
