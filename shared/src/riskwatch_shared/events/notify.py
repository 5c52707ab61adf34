"""Events the notify service produces (stream NOTIFY, subjects `notify.>`)."""

from __future__ import annotations

from typing import ClassVar, Literal
from uuid import UUID

from riskwatch_shared.events.base import Event, register


class NotifyEvent(Event, frozen=True, kw_only=True):
    stream: ClassVar[str] = "NOTIFY"
    source: str = "notify"


@register
class NotificationSent(NotifyEvent, frozen=True, kw_only=True):
    type: Literal["notify.notification_sent.v1"] = "notify.notification_sent.v1"
    notification_id: UUID
    alert_id: UUID | None = None
    recipient_id: UUID
    channel: Literal["email", "sms", "in_app", "webhook"]
    provider: str
    # alert | escalation | digest (additive: absent from older producers).
    kind: str | None = None


@register
class DeliveryFailed(NotifyEvent, frozen=True, kw_only=True):
    type: Literal["notify.delivery_failed.v1"] = "notify.delivery_failed.v1"
    notification_id: UUID
    alert_id: UUID | None = None
    recipient_id: UUID
    channel: Literal["email", "sms", "in_app", "webhook"]
    attempts: int
    detail: str
    kind: str | None = None


@register
class EscalationCancelled(NotifyEvent, frozen=True, kw_only=True):
    """An acknowledgement (or resolution) of the alert stopped its pending escalation."""

    type: Literal["notify.escalation_cancelled.v1"] = "notify.escalation_cancelled.v1"
    alert_id: UUID
    steps_done: int = 0
    cancelled_notifications: int = 0
    cause: str = "acknowledged"
