"""Planning notifications, pure (no session, no ORM, no I/O): events and stored JSON become the
policies' inputs (alerts, escalation policies), the routing snapshot holds the rest, and a
decision becomes a notification row with its rendered content. `queue.load_routing` builds the
snapshot from the stored rows."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec

from riskwatch_notify.domain.escalation import (
    EscalationLevel,
    EscalationPolicy,
)
from riskwatch_notify.domain.models import Alert, Channel, Recipient, RuleType, Severity
from riskwatch_notify.domain.rendering import (
    render_alert_email,
    render_alert_sms,
    render_digest_email,
    render_digest_sms,
    render_in_app,
    render_webhook_payload,
)
from riskwatch_notify.domain.routing import Subscription, Team
from riskwatch_shared.events.alerting import AlertRaised

# ---------------------------------------------------------------- conversions


def alert_from_event(event: AlertRaised, url_base: str) -> Alert:
    return Alert(
        alert_id=event.alert_id,
        rule_id=str(event.rule_id),
        rule_name=event.rule_name,
        rule_type=RuleType(event.rule_type),
        severity=Severity(event.severity),
        customer_id=str(event.customer_id) if event.customer_id else "-",
        customer_name=event.customer_name,
        relationship_manager=event.relationship_manager,
        title=event.title,
        summary=event.summary,
        raised_at=event.raised_at,
        url=event.url or f"{url_base.rstrip('/')}/{event.alert_id}",
        evidence=dict(event.evidence),
        reasons=tuple(event.reasons),
        suggested_actions=tuple(event.suggested_actions),
        message_code=event.message_code,
        message_params=dict(event.message_params),
        happened_at=event.happened_at,
        coded_reasons=tuple(msgspec.to_builtins(reason) for reason in event.coded_reasons),
    )


def alert_from_payload(payload: Mapping[str, Any], url_base: str) -> Alert:
    return alert_from_event(msgspec.convert(payload, AlertRaised), url_base)


def policy_from_json(
    severity: str, levels: Sequence[Mapping[str, Any]], repeat: int, cycle_seconds: int | None
) -> EscalationPolicy:
    return EscalationPolicy(
        severity=Severity(severity),
        levels=tuple(
            EscalationLevel(
                after_seconds=int(level["after_seconds"]),
                channels=frozenset(Channel(c) for c in level["channels"]),
                team_ids=frozenset(str(t) for t in level.get("team_ids", ())),
                recipient_ids=frozenset(str(r) for r in level.get("recipient_ids", ())),
            )
            for level in levels
        ),
        repeat=repeat,
        cycle_seconds=cycle_seconds,
    )


def policy_from_stored(stored: Mapping[str, Any]) -> EscalationPolicy:
    return policy_from_json(
        stored["severity"], stored["levels"], stored["repeat"], stored["cycle_seconds"]
    )


@dataclass(frozen=True, slots=True)
class RoutingSnapshot:
    recipients: dict[str, Recipient]
    teams: dict[str, Team]
    subscriptions: list[tuple[Subscription, bool]]  # (subscription, include the RM)
    by_staff_id: dict[str, Recipient]
    policies: dict[Severity, EscalationPolicy]
    # Each severity's policy as stored (copied into an alert's escalation chain).
    stored_policies: dict[Severity, dict[str, Any]] = field(default_factory=dict)
    # Stored policies that no longer pass the policy's own checks (saved before its bounds
    # existed): not used, and each alert of that severity says so.
    broken_policies: dict[Severity, str] = field(default_factory=dict)


# ---------------------------------------------------------------- rendering into rows


def render_content(
    alert: Alert, recipient: Recipient, channel: Channel, notification_id: uuid.UUID, now: datetime
) -> dict[str, Any]:
    match channel:
        case Channel.EMAIL:
            email = render_alert_email(alert, recipient)
            return {"subject": email.subject, "body_text": email.text, "body_html": email.html}
        case Channel.SMS:
            return {"subject": "", "body_text": render_alert_sms(alert, recipient)}
        case Channel.WEBHOOK:
            payload = render_webhook_payload(alert, event_id=notification_id, created_at=now)
            return {"subject": alert.title, "body_text": "", "payload": payload}
        case Channel.IN_APP:
            message = render_in_app(alert, recipient)
            return {
                "subject": message.title,
                "body_text": message.body,
                "payload": {"link": message.link},
            }


def render_digest_content(
    alerts: Sequence[Alert], recipient: Recipient, channel: Channel, inbox_url: str
) -> dict[str, Any]:
    if channel is Channel.SMS:
        return {"subject": "", "body_text": render_digest_sms(alerts, recipient, inbox_url)}
    email = render_digest_email(alerts, recipient)
    return {"subject": email.subject, "body_text": email.text, "body_html": email.html}


def notification_row(
    *,
    notification_id: uuid.UUID,
    key: str,
    kind: str,
    alert_id: uuid.UUID | None,
    recipient: Recipient,
    channel: Channel,
    severity: Severity,
    content: Mapping[str, Any],
    status: str,
    held: datetime | None,
    now: datetime,
    escalation_step: int | None = None,
    bundled_alert_ids: Sequence[uuid.UUID] = (),
    trace_id: str | None = None,
) -> dict[str, Any]:
    return {
        "id": notification_id,
        "dedup_key": key,
        "kind": kind,
        "alert_id": alert_id,
        "bundled_alert_ids": list(bundled_alert_ids),
        "escalation_step": escalation_step,
        "recipient_id": uuid.UUID(recipient.recipient_id),
        "channel": channel.value,
        "address": recipient.address_for(channel) or "",
        "severity": severity.value,
        "subject": content.get("subject", ""),
        "body_text": content.get("body_text", ""),
        "body_html": content.get("body_html"),
        "payload": content.get("payload"),
        "status": status,
        "attempts": 0,
        "next_attempt_at": held or now,
        "held_until": held,
        "created_at": now,
        "updated_at": now,
        "trace_id": trace_id,
    }
