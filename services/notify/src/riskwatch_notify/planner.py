"""The notification planner: from alerts to notification rows (routing, quiet hours, digests,
escalations). It sends nothing: the delivery worker sends what it plans.

Called by the alert consumer (one transaction per fetched batch) and the scheduler. The
policies themselves live in `domain/`; `domain.planning` converts rows to and from them; this
module loads their inputs and stores their output.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec
from prometheus_client import Counter
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_notify import queue
from riskwatch_notify.config import Settings
from riskwatch_notify.domain.escalation import (
    EscalationLevel,
    next_escalation,
    policy_for,
)
from riskwatch_notify.domain.models import Alert, Channel, Recipient, Severity
from riskwatch_notify.domain.planning import (
    RoutingSnapshot,
    alert_from_event,
    alert_from_payload,
    notification_row,
    policy_from_stored,
    render_content,
    render_digest_content,
)
from riskwatch_notify.domain.quiet_hours import hold_until
from riskwatch_notify.domain.routing import resolve_deliveries, team_members
from riskwatch_notify.domain.storm import (
    DigestDecision,
    DigestWindow,
    admit_to_digest,
    dedup_key,
    digest_key,
)
from riskwatch_notify.domain.watchlist import WatchlistMessage, recipients_for
from riskwatch_notify.domain.watchlist import render as render_watchlist
from riskwatch_notify.domain.watchlist import render_sms as render_watchlist_sms
from riskwatch_notify.domain.watchlist import webhook_payload as watchlist_webhook_payload
from riskwatch_notify.models import DigestWindowRow, EscalationRow
from riskwatch_shared.events.alerting import (
    AlertRaised,
    CustomerEnteredWatchlist,
    CustomerExitedWatchlist,
    WatchlistReviewDue,
    WatchlistReviewed,
)
from riskwatch_shared.logging import get_logger

log = get_logger(__name__)
WatchlistEvent = (
    CustomerEnteredWatchlist | WatchlistReviewed | CustomerExitedWatchlist | WatchlistReviewDue
)

# Webhooks feed systems and the inbox is a list already: only people's phones and
# mailboxes get digests.
DIGEST_CHANNELS = frozenset({Channel.EMAIL, Channel.SMS})

PLANNING_FAILURES = Counter(
    "riskwatch_notify_planning_failures_total",
    "Notifications or escalation steps that could not be planned (the others went on)",
    ["stage"],
)
MAX_PLANNING_ERROR_CHARS = 1000


class _Failures:
    """Planning failures of a batch, per alert: each is isolated, recorded on the alert,
    logged (ids and the error's type only, never personal data) and counted."""

    def __init__(self) -> None:
        self.by_alert: dict[uuid.UUID, str] = {}

    def add(self, alert_id: uuid.UUID, stage: str, error: Exception) -> None:
        PLANNING_FAILURES.labels(stage).inc()
        log.warning(
            "notify.planning_failed",
            alert_id=str(alert_id),
            stage=stage,
            error=type(error).__name__,
        )
        # A validation error quotes the data it refused (names, accounts): not kept.
        said = str(error)
        if isinstance(error, ValidationError):
            said = f"{error.error_count()} invalid fields"
        note = f"{stage}: {type(error).__name__}: {said}"
        previous = self.by_alert.get(alert_id)
        combined = note if previous is None else f"{previous}; {note}"
        self.by_alert[alert_id] = combined[:MAX_PLANNING_ERROR_CHARS]


# ---------------------------------------------------------------- intake of raised alerts


@dataclass
class _Windows:
    """The digest windows of a batch, changed in memory and saved once."""

    current: dict[tuple[str, Channel], DigestWindow]
    changed: set[tuple[str, Channel]] = field(default_factory=set)

    @classmethod
    def from_rows(cls, rows: Iterable[DigestWindowRow]) -> _Windows:
        current = {
            (str(row.recipient_id), Channel(row.channel)): DigestWindow(
                recipient_id=str(row.recipient_id),
                channel=Channel(row.channel),
                opened_at=row.opened_at,
                closes_at=row.closes_at,
                held_alert_ids=tuple(row.held_alert_ids),
            )
            for row in rows
        }
        return cls(current)

    def admit(
        self, alert: Alert, recipient_id: str, channel: Channel, now: datetime, seconds: int
    ) -> bool:
        """True when the alert is held for the digest."""
        key = (recipient_id, channel)
        decision, window = admit_to_digest(
            self.current.get(key),
            recipient_id=recipient_id,
            channel=channel,
            alert_id=alert.alert_id,
            severity=alert.severity,
            now=now,
            window_seconds=seconds,
        )
        if window is not None and window != self.current.get(key):
            self.current[key] = window
            self.changed.add(key)
        return decision is DigestDecision.HOLD

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "recipient_id": uuid.UUID(w.recipient_id),
                "channel": w.channel.value,
                "opened_at": w.opened_at,
                "closes_at": w.closes_at,
                "held_alert_ids": list(w.held_alert_ids),
            }
            for key, w in self.current.items()
            if key in self.changed
        ]


def _alert_row(event: AlertRaised) -> dict[str, Any]:
    return {
        "alert_id": event.alert_id,
        "severity": event.severity,
        "raised_at": event.raised_at,
        "payload": msgspec.to_builtins(event),
    }


def _route(alert: Alert, snapshot: RoutingSnapshot) -> list[tuple[Recipient, Channel]]:
    matching = [(s, rm) for s, rm in snapshot.subscriptions if s.matches(alert)]
    wants_rm = any(rm for _, rm in matching) and alert.relationship_manager
    rm = snapshot.by_staff_id.get(alert.relationship_manager or "") if wants_rm else None
    deliveries = resolve_deliveries(
        alert, [s for s, _ in matching], snapshot.recipients.values(), snapshot.teams, rm
    )
    return sorted(
        ((d.recipient, d.channel) for d in deliveries),
        key=lambda pair: (pair[0].recipient_id, pair[1].value),
    )


async def take_in_alerts(
    session: AsyncSession, events: Sequence[AlertRaised], *, settings: Settings, now: datetime
) -> int:
    """Create the notifications (and escalation chain) of each alert seen for the first time.

    An alert notify already knows (a redelivery, a republished event) creates nothing.
    Returns how many notifications were created.
    """
    await queue.lock_intake(session)
    unique = list({event.alert_id: event for event in events}.values())
    new_ids = await queue.insert_new_alerts(session, [_alert_row(e) for e in unique])
    failures = _Failures()
    fresh: list[Alert] = []
    for event in unique:
        if event.alert_id in new_ids:
            try:
                fresh.append(alert_from_event(event, settings.alert_url_base))
            except Exception as exc:  # one odd alert must not stop the batch
                failures.add(event.alert_id, "alert", exc)
    if not fresh:
        await queue.record_planning_errors(session, failures.by_alert)
        return 0
    snapshot = await queue.load_routing(session)
    routed: list[tuple[Alert, list[tuple[Recipient, Channel]]]] = []
    for alert in fresh:
        try:
            routed.append((alert, _route(alert, snapshot)))
        except Exception as exc:
            failures.add(alert.alert_id, "routing", exc)
    recipient_ids = {uuid.UUID(r.recipient_id) for _, pairs in routed for r, _ in pairs}
    windows = _Windows.from_rows(await queue.load_windows(session, recipient_ids))
    rows: list[dict[str, Any]] = []
    escalations: list[dict[str, Any]] = []
    traces = {event.alert_id: event.trace_id for event in unique}
    for alert, pairs in routed:
        for recipient, channel in pairs:
            try:
                row = _first_notification(alert, recipient, channel, windows, settings, now)
                row["trace_id"] = traces.get(alert.alert_id)
                rows.append(row)
            except Exception as exc:  # one recipient's bad settings must not stop the others
                failures.add(alert.alert_id, f"notification:{channel.value}", exc)
        try:
            escalation = _escalation_row(alert, snapshot, now)
        except Exception as exc:
            failures.add(alert.alert_id, "escalation", exc)
            continue
        if escalation is not None:
            escalations.append(escalation)
    await queue.save_windows(session, windows.rows())
    created = await queue.insert_notifications(session, rows)
    await queue.insert_escalations(session, escalations)
    await queue.record_planning_errors(session, failures.by_alert)
    if created:
        await queue.wake_workers(session)
    return created


def _first_notification(
    alert: Alert,
    recipient: Recipient,
    channel: Channel,
    windows: _Windows,
    settings: Settings,
    now: datetime,
) -> dict[str, Any]:
    notification_id = uuid.uuid4()
    held = hold_until(recipient, alert.severity, now)
    status = "held" if held is not None else "queued"
    digest_on = settings.digest_window_seconds > 0 and channel in DIGEST_CHANNELS
    if (
        held is None
        and digest_on
        and windows.admit(
            alert, recipient.recipient_id, channel, now, settings.digest_window_seconds
        )
    ):
        status = "bundled"
    return notification_row(
        notification_id=notification_id,
        key=dedup_key(alert.alert_id, recipient.recipient_id, channel),
        kind="alert",
        alert_id=alert.alert_id,
        recipient=recipient,
        channel=channel,
        severity=alert.severity,
        content=render_content(alert, recipient, channel, notification_id, now),
        status=status,
        held=held,
        now=now,
    )


def _escalation_row(
    alert: Alert, snapshot: RoutingSnapshot, now: datetime
) -> dict[str, Any] | None:
    broken = snapshot.broken_policies.get(alert.severity)
    if broken is not None:
        raise ValueError(f"the {alert.severity} escalation policy is invalid ({broken})")
    policy = policy_for(snapshot.policies, alert.severity)
    if policy is None:
        return None
    step = next_escalation(policy, alert.raised_at, 0, now)
    if step is None:
        return None
    return {
        "alert_id": alert.alert_id,
        "policy": dict(snapshot.stored_policies[policy.severity]),
        "raised_at": alert.raised_at,
        "steps_done": 0,
        "next_due_at": step.due_at,
    }


# ---------------------------------------------------------------- escalation steps


def _level_targets(level: EscalationLevel, snapshot: RoutingSnapshot) -> list[Recipient]:
    found = {
        rid: snapshot.recipients[rid] for rid in level.recipient_ids if rid in snapshot.recipients
    }
    for team_id in level.team_ids:
        for member in team_members(team_id, snapshot.recipients.values(), snapshot.teams):
            found[member.recipient_id] = member
    return [found[rid] for rid in sorted(found)]


async def fire_due_escalations(session: AsyncSession, *, settings: Settings, now: datetime) -> int:
    """Page the next level of every unacknowledged alert whose step is due."""
    due = await queue.claim_due_escalations(session, now)
    if not due:
        return 0
    alerts = await queue.alerts_by_id(session, [e.alert_id for e in due])
    snapshot = await queue.load_routing(session)
    rows: list[dict[str, Any]] = []
    failures = _Failures()
    for escalation in due:
        alert_row = alerts[escalation.alert_id]
        try:
            rows.extend(
                _advance(
                    escalation,
                    alert_row.acknowledged_at,
                    alert_row.payload,
                    snapshot,
                    settings,
                    now,
                )
            )
        except Exception as exc:  # a chain that cannot go on ends; the others go on
            failures.add(escalation.alert_id, "escalation", exc)
            escalation.next_due_at = None
            escalation.completed_at = now
    created = await queue.insert_notifications(session, rows)
    await queue.record_planning_errors(session, failures.by_alert)
    await session.flush()
    if created:
        await queue.wake_workers(session)
    return created


def _advance(
    escalation: EscalationRow,
    acknowledged_at: datetime | None,
    payload: Mapping[str, Any],
    snapshot: RoutingSnapshot,
    settings: Settings,
    now: datetime,
) -> list[dict[str, Any]]:
    policy = policy_from_stored(escalation.policy)
    step = next_escalation(
        policy, escalation.raised_at, escalation.steps_done, now, acknowledged_at=acknowledged_at
    )
    if step is None or not step.is_due:
        escalation.next_due_at = step.due_at if step else None
        escalation.completed_at = None if step else now
        return []
    alert = alert_from_payload(payload, settings.alert_url_base)
    rows = []
    for recipient in _level_targets(step.level, snapshot):
        for channel in sorted(step.level.channels):
            if not recipient.address_for(channel):
                continue
            notification_id = uuid.uuid4()
            held = hold_until(recipient, alert.severity, now)
            rows.append(
                notification_row(
                    notification_id=notification_id,
                    key=f"escalation:{alert.alert_id}:{step.step}:{recipient.recipient_id}:{channel.value}",
                    kind="escalation",
                    alert_id=alert.alert_id,
                    recipient=recipient,
                    channel=channel,
                    severity=alert.severity,
                    content=render_content(alert, recipient, channel, notification_id, now),
                    status="held" if held else "queued",
                    held=held,
                    now=now,
                    escalation_step=step.step,
                )
            )
    escalation.steps_done = step.step + 1
    following = next_escalation(policy, escalation.raised_at, escalation.steps_done, now)
    escalation.next_due_at = following.due_at if following else None
    escalation.completed_at = None if following else now
    return rows


# ---------------------------------------------------------------- digests


async def flush_digests(session: AsyncSession, *, settings: Settings, now: datetime) -> int:
    """Send one digest per closed window that held alerts back; returns digests created."""
    await queue.lock_intake(session)  # intake must not add to a window being closed
    windows = await queue.claim_closed_windows(session, now)
    if not windows:
        return 0
    held_ids = {alert_id for w in windows for alert_id in w.held_alert_ids}
    alerts = await queue.alerts_by_id(session, held_ids) if held_ids else {}
    snapshot = await queue.load_routing(session) if held_ids else None
    created = 0
    failures = _Failures()
    for window in windows:
        await queue.delete_window(session, window)
        recipient = snapshot.recipients.get(str(window.recipient_id)) if snapshot else None
        bundled = [alerts[a] for a in window.held_alert_ids if a in alerts]
        if recipient is None or not bundled:
            continue
        try:
            row = _digest_row(window, recipient, bundled, settings, now)
        except Exception as exc:  # one digest that cannot be rendered must not stop the rest
            for alert_row in bundled:
                failures.add(alert_row.alert_id, "digest", exc)
            continue
        created += await _create_digest(session, window, row, now)
    await queue.record_planning_errors(session, failures.by_alert)
    if created:
        await queue.wake_workers(session)
    return created


def _digest_row(
    window: DigestWindowRow,
    recipient: Recipient,
    bundled: Sequence[Any],
    settings: Settings,
    now: datetime,
) -> dict[str, Any]:
    channel = Channel(window.channel)
    alerts = [alert_from_payload(row.payload, settings.alert_url_base) for row in bundled]
    severity = max((a.severity for a in alerts), key=lambda s: s.rank)
    held = hold_until(recipient, severity, now)
    return notification_row(
        notification_id=uuid.uuid4(),
        key=digest_key(recipient.recipient_id, channel, window.opened_at),
        kind="digest",
        alert_id=None,
        recipient=recipient,
        channel=channel,
        severity=severity,
        content=render_digest_content(alerts, recipient, channel, settings.inbox_url),
        status="held" if held else "queued",
        held=held,
        now=now,
        bundled_alert_ids=[a.alert_id for a in alerts],
    )


async def _create_digest(
    session: AsyncSession, window: DigestWindowRow, row: dict[str, Any], now: datetime
) -> int:
    created = await queue.insert_notifications(session, [row])
    if created:
        await queue.attach_to_digest(
            session,
            recipient_id=window.recipient_id,
            channel=window.channel,
            alert_ids=list(row["bundled_alert_ids"]),
            digest_id=row["id"],
            now=now,
        )
    return created


# ---------------------------------------------------------------- the watch list's events


def _watchlist_message(event: WatchlistEvent) -> WatchlistMessage:
    lines: list[tuple[str, str]]
    match event:
        case CustomerEnteredWatchlist():
            kind = "entered"
            lines = [
                ("reason", event.reason),
                ("review_due_label", event.review_due.isoformat()),
                ("actions", "; ".join(event.required_actions)),
                ("exit", event.exit_criteria),
                ("by", event.entered_by),
            ]
        case WatchlistReviewed():
            kind = "reviewed"
            lines = [
                ("note", event.note),
                ("review_due_label", event.next_review_due.isoformat()),
                ("by", event.reviewed_by),
            ]
        case CustomerExitedWatchlist():
            kind = "exited"
            lines = [("reason", event.reason), ("by", event.exited_by)]
        case WatchlistReviewDue():
            kind = "review_due"
            lines = [("review_due_label", event.review_due.isoformat()), ("reason", event.reason)]
    data = msgspec.to_builtins(event)
    for envelope_field in ("id", "type", "source", "trace_id", "occurred_at"):
        data.pop(envelope_field, None)
    review_due = getattr(event, "review_due", None) or getattr(event, "next_review_due", None)
    return WatchlistMessage(
        event_id=str(event.id),
        kind=kind,
        entry_id=str(event.entry_id),
        customer_id=str(event.customer_id),
        owner=event.owner,
        lines=tuple(lines),
        review_due=review_due.isoformat() if review_due is not None else None,
        data=data,
    )


async def take_in_watchlist_events(
    session: AsyncSession,
    events: Sequence[WatchlistEvent],
    *,
    settings: Settings,
    now: datetime,
) -> int:
    """A notification per (event, recipient, channel) the subscriptions ask for; a redelivered
    event creates nothing (the dedup key names the event)."""
    if not events:
        return 0
    snapshot = await queue.load_routing(session)
    subscriptions = [(s, rm) for s, rm in snapshot.subscriptions if s.watchlist_events]
    if not subscriptions:
        return 0
    base = (settings.alert_url_base or "").rstrip("/")
    rows: list[dict[str, Any]] = []
    for event in events:
        message = _watchlist_message(event)
        link = f"{base}/watchlist/{message.entry_id}" if base else f"/watchlist/{message.entry_id}"
        # The customer's RM, for the subscriptions that include them (matched on staff id).
        rm = snapshot.by_staff_id.get(event.relationship_manager or "")
        pairs = recipients_for(
            message.kind, subscriptions, snapshot.recipients.values(), snapshot.teams, rm
        )
        for recipient, channel in pairs:
            notification_id = uuid.uuid4()
            subject, text = render_watchlist(message, recipient, link)
            content: dict[str, Any] = {"subject": subject, "body_text": text}
            if channel is Channel.IN_APP:
                # The customer confines the inbox message to their RM (no alert to go by).
                content["payload"] = {"link": link, "customer_id": message.customer_id}
            elif channel is Channel.SMS:
                content = {
                    "subject": "",
                    "body_text": render_watchlist_sms(message, recipient, link),
                }
            elif channel is Channel.WEBHOOK:
                payload = watchlist_webhook_payload(
                    message, link=link, notification_id=notification_id, created_at=now
                )
                content = {"subject": subject, "body_text": "", "payload": payload}
            # Quiet hours hold a watch-list message as they hold a medium alert.
            held = hold_until(recipient, Severity.MEDIUM, now)
            rows.append(
                notification_row(
                    notification_id=notification_id,
                    key=f"watchlist:{message.event_id}:{recipient.recipient_id}:{channel.value}",
                    kind="watchlist",
                    alert_id=None,
                    recipient=recipient,
                    channel=channel,
                    severity=Severity.MEDIUM,
                    content=content,
                    status="held" if held else "queued",
                    held=held,
                    now=now,
                    trace_id=event.trace_id,
                )
            )
    created = await queue.insert_notifications(session, rows)
    if created:
        await queue.wake_workers(session)
    return created
