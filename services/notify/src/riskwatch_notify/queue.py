"""SQL of the delivery pipeline: intake, the due-delivery queue, escalations, digests.

Every claim uses FOR UPDATE SKIP LOCKED, so any number of replicas can run the worker and
the schedulers against one database without sending anything twice.
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Text, bindparam, delete, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_notify.domain.escalation import EscalationPolicy
from riskwatch_notify.domain.models import Channel, QuietHours, Recipient, RuleType, Severity
from riskwatch_notify.domain.planning import RoutingSnapshot, policy_from_json
from riskwatch_notify.domain.routing import Subscription, Team
from riskwatch_notify.models import (
    AlertRow,
    DeliveryAttemptRow,
    DigestWindowRow,
    EscalationPolicyRow,
    EscalationRow,
    InboxMessageRow,
    NotificationRow,
    RecipientRow,
    SubscriptionRow,
    TeamMemberRow,
)
from riskwatch_shared.db.base import table_of

ALERTS = table_of(AlertRow)
NOTIFICATIONS = table_of(NotificationRow)
ATTEMPTS = table_of(DeliveryAttemptRow)
INBOX = table_of(InboxMessageRow)

DUE_CHANNEL = "riskwatch_notify_due"
INBOX_CHANNEL = "riskwatch_notify_inbox"
INTAKE_LOCK_KEY = zlib.crc32(b"riskwatch-notify-intake")


@dataclass(frozen=True, slots=True)
class RoutingRows:
    recipients: list[RecipientRow]
    memberships: list[tuple[uuid.UUID, uuid.UUID]]  # (team_id, recipient_id)
    subscriptions: list[SubscriptionRow]
    policies: list[EscalationPolicyRow]


async def load_routing(session: AsyncSession) -> RoutingSnapshot:
    """Who gets what: the active recipients, teams, subscriptions and escalation policies."""
    recipients = (await session.scalars(select(RecipientRow).where(RecipientRow.active))).all()
    memberships = (
        await session.execute(select(TeamMemberRow.team_id, TeamMemberRow.recipient_id))
    ).all()
    subscriptions = (await session.scalars(select(SubscriptionRow))).all()
    policies = (await session.scalars(select(EscalationPolicyRow))).all()
    rows = RoutingRows(
        list(recipients),
        [(team_id, recipient_id) for team_id, recipient_id in memberships],
        list(subscriptions),
        list(policies),
    )
    return routing_snapshot(rows)


def routing_snapshot(rows: RoutingRows) -> RoutingSnapshot:
    """The stored routing rows as the policies' inputs."""
    teams_of: dict[str, set[str]] = {}
    members_of: dict[str, set[str]] = {}
    for team_id, recipient_id in rows.memberships:
        teams_of.setdefault(str(recipient_id), set()).add(str(team_id))
        members_of.setdefault(str(team_id), set()).add(str(recipient_id))
    recipients = {
        str(row.id): Recipient(
            recipient_id=str(row.id),
            name=row.name,
            locale=row.locale,
            time_zone=row.time_zone,
            email=row.email,
            phone=row.phone,
            webhook_url=row.webhook_url,
            team_ids=frozenset(teams_of.get(str(row.id), ())),
            quiet_hours=QuietHours(row.quiet_start, row.quiet_end)
            if row.quiet_start is not None and row.quiet_end is not None
            else None,
            staff_id=row.staff_id,
        )
        for row in rows.recipients
    }
    teams = {
        team_id: Team(team_id, team_id, frozenset(members))
        for team_id, members in members_of.items()
    }
    subscriptions = [
        (
            Subscription(
                channels=frozenset(Channel(c) for c in row.channels),
                team_id=str(row.team_id) if row.team_id else None,
                recipient_id=str(row.recipient_id) if row.recipient_id else None,
                alert_types=frozenset(RuleType(t) for t in row.alert_types),
                min_severity=Severity(row.min_severity),
                watchlist_events=frozenset(row.watchlist_events or ()),
                alerts=row.alerts,
            ),
            row.include_relationship_manager,
        )
        for row in rows.subscriptions
    ]
    by_staff_id = {r.staff_id: r for r in recipients.values() if r.staff_id}
    policies: dict[Severity, EscalationPolicy] = {}
    broken: dict[Severity, str] = {}
    for row in rows.policies:
        try:
            policies[Severity(row.severity)] = policy_from_json(
                row.severity, row.levels, row.repeat, row.cycle_seconds
            )
        except (ValueError, KeyError, TypeError) as exc:
            broken[Severity(row.severity)] = f"{type(exc).__name__}: {exc}"
    stored_policies = {Severity(row.severity): policy_json(row) for row in rows.policies}
    return RoutingSnapshot(
        recipients, teams, subscriptions, by_staff_id, policies, stored_policies, broken
    )


def policy_json(row: EscalationPolicyRow) -> dict[str, Any]:
    """A stored policy as the JSON an escalation chain keeps."""
    return {
        "severity": row.severity,
        "levels": row.levels,
        "repeat": row.repeat,
        "cycle_seconds": row.cycle_seconds,
    }


async def wake_workers(session: AsyncSession) -> None:
    """Transactional NOTIFY: workers on every replica look for due deliveries at commit."""
    await session.execute(text(f"SELECT pg_notify('{DUE_CHANNEL}', '')"))


async def lock_intake(session: AsyncSession) -> None:
    """Serialise intake batches across replicas (digest windows are read-modify-write)."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": INTAKE_LOCK_KEY})


# ---------------------------------------------------------------- intake


async def insert_new_alerts(
    session: AsyncSession, rows: Sequence[dict[str, Any]]
) -> set[uuid.UUID]:
    """Insert alerts not seen before; returns the ids that are new."""
    if not rows:
        return set()
    query = (
        pg_insert(ALERTS)
        .on_conflict_do_nothing(index_elements=["alert_id"])
        .returning(ALERTS.c.alert_id)
    )
    return set((await session.execute(query, list(rows))).scalars().all())


async def record_planning_errors(session: AsyncSession, errors: dict[uuid.UUID, str]) -> None:
    """Say on each alert why some of its notifications could not be planned."""
    if errors:
        await session.execute(
            update(ALERTS)
            .where(ALERTS.c.alert_id == bindparam("alert"))
            .values(
                planning_error=func.left(
                    func.concat_ws("; ", ALERTS.c.planning_error, bindparam("error", type_=Text)),
                    1000,
                )
            ),
            [{"alert": alert_id, "error": error} for alert_id, error in errors.items()],
        )


async def insert_notifications(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> int:
    if not rows:
        return 0
    # executemany form: one cached statement batched by insertmanyvalues, rather than a
    # multi-VALUES statement compiled afresh for every batch size.
    query = (
        pg_insert(NOTIFICATIONS)
        .on_conflict_do_nothing(index_elements=["dedup_key"])
        .returning(NOTIFICATIONS.c.id)
    )
    return len((await session.execute(query, list(rows))).scalars().all())


async def insert_escalations(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        query = pg_insert(EscalationRow).values(list(rows)).on_conflict_do_nothing()
        await session.execute(query)


async def load_windows(
    session: AsyncSession, recipient_ids: Iterable[uuid.UUID]
) -> list[DigestWindowRow]:
    query = select(DigestWindowRow).where(DigestWindowRow.recipient_id.in_(list(recipient_ids)))
    return list((await session.scalars(query)).all())


async def save_windows(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    query = pg_insert(DigestWindowRow).values(list(rows))
    query = query.on_conflict_do_update(
        index_elements=["recipient_id", "channel"],
        set_={
            "opened_at": query.excluded.opened_at,
            "closes_at": query.excluded.closes_at,
            "held_alert_ids": query.excluded.held_alert_ids,
        },
    )
    await session.execute(query)


async def acknowledge_alerts(
    session: AsyncSession, alert_ids: Sequence[uuid.UUID], now: datetime
) -> dict[uuid.UUID, tuple[int, int]]:
    """Stop escalating: mark alerts acknowledged, cancel chains and unsent escalation pages.
    Returns, per alert whose escalation this cancelled, (steps done, pages cancelled)."""
    await session.execute(
        update(AlertRow)
        .where(AlertRow.alert_id.in_(alert_ids), AlertRow.acknowledged_at.is_(None))
        .values(acknowledged_at=now)
    )
    chains = await session.execute(
        update(EscalationRow)
        .where(
            EscalationRow.alert_id.in_(alert_ids),
            EscalationRow.cancelled_at.is_(None),
            EscalationRow.completed_at.is_(None),
        )
        .values(cancelled_at=now, next_due_at=None)
        .returning(EscalationRow.alert_id, EscalationRow.steps_done)
    )
    cancelled = {alert_id: (int(steps), 0) for alert_id, steps in chains.all()}
    result = await session.execute(
        update(NotificationRow)
        .where(
            NotificationRow.alert_id.in_(alert_ids),
            NotificationRow.kind == "escalation",
            NotificationRow.status.in_(("queued", "failed", "held")),
        )
        .values(status="cancelled", updated_at=now, last_error="alert acknowledged")
        .returning(NotificationRow.alert_id)
    )
    for (alert_id,) in result.all():
        if alert_id is not None:
            steps, pages = cancelled.get(alert_id, (0, 0))
            cancelled[alert_id] = (steps, pages + 1)
    return cancelled


# ---------------------------------------------------------------- the delivery queue

_CLAIM = text(
    """
    UPDATE notifications AS n
    SET status = 'sending', attempts = n.attempts + 1, lease_id = :lease_id,
        lease_expires_at = now() + make_interval(secs => :lease_seconds), updated_at = now()
    FROM (
        SELECT id FROM notifications
        WHERE status IN ('queued', 'failed') AND next_attempt_at <= now()
        ORDER BY next_attempt_at
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    ) AS due
    WHERE n.id = due.id
    RETURNING n.id, n.kind, n.alert_id, n.recipient_id, n.channel, n.address, n.severity,
        n.subject, n.body_text, n.body_html, n.payload, n.attempts, n.created_at, n.trace_id
    """
)


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    id: uuid.UUID
    kind: str
    alert_id: uuid.UUID | None
    recipient_id: uuid.UUID
    channel: str
    address: str
    severity: str
    subject: str
    body_text: str
    body_html: str | None
    payload: dict[str, Any] | None
    attempts: int
    created_at: datetime
    trace_id: str | None = None  # the alert's: its notification events carry it on


async def claim_due(
    session: AsyncSession, *, lease_id: uuid.UUID, lease_seconds: float, limit: int
) -> list[ClaimedDelivery]:
    params = {"lease_id": lease_id, "lease_seconds": lease_seconds, "limit": limit}
    rows = (await session.execute(_CLAIM, params)).mappings().all()
    return [ClaimedDelivery(**row) for row in rows]


_FINISH = text(
    """
    UPDATE notifications SET status = :status, next_attempt_at = :next_attempt_at,
        provider = :provider, provider_message_id = :provider_message_id,
        last_error = :last_error, sent_at = :sent_at, lease_id = NULL,
        lease_expires_at = NULL, updated_at = now()
    WHERE id = :id AND lease_id = :lease_id AND status = 'sending'
    """
)


async def finish_deliveries(
    session: AsyncSession,
    outcomes: Sequence[dict[str, Any]],
    attempts: Sequence[dict[str, Any]],
) -> None:
    """Write each attempt's outcome (only while this worker still holds the lease)."""
    if outcomes:
        await session.execute(_FINISH, list(outcomes))
    if attempts:
        await session.execute(insert(ATTEMPTS), list(attempts))


async def insert_inbox_messages(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    query = (
        pg_insert(InboxMessageRow)
        .values(list(rows))
        .on_conflict_do_nothing(index_elements=["notification_id"])
    )
    await session.execute(query)
    for recipient_id in {row["recipient_id"] for row in rows}:
        await session.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {"channel": INBOX_CHANNEL, "payload": str(recipient_id)},
        )


async def release_held(session: AsyncSession, now: datetime) -> int:
    """Quiet hours over: held messages join the queue (they are never dropped)."""
    result = await session.execute(
        update(NotificationRow)
        .where(NotificationRow.status == "held", NotificationRow.held_until <= now)
        .values(status="queued", next_attempt_at=now, updated_at=now)
        .returning(NotificationRow.id)
    )
    return len(result.all())


async def reclaim_expired_leases(session: AsyncSession, now: datetime) -> int:
    """A worker died mid-send: its deliveries become due again."""
    result = await session.execute(
        update(NotificationRow)
        .where(NotificationRow.status == "sending", NotificationRow.lease_expires_at < now)
        .values(status="failed", next_attempt_at=now, lease_id=None, lease_expires_at=None)
        .returning(NotificationRow.id)
    )
    return len(result.all())


# ---------------------------------------------------------------- escalations and digests


async def claim_due_escalations(
    session: AsyncSession, now: datetime, limit: int = 100
) -> list[EscalationRow]:
    query = (
        select(EscalationRow)
        .where(
            EscalationRow.cancelled_at.is_(None),
            EscalationRow.completed_at.is_(None),
            EscalationRow.next_due_at <= now,
        )
        .order_by(EscalationRow.next_due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.scalars(query)).all())


async def alerts_by_id(
    session: AsyncSession, alert_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, AlertRow]:
    query = select(AlertRow).where(AlertRow.alert_id.in_(list(alert_ids)))
    return {row.alert_id: row for row in (await session.scalars(query)).all()}


async def claim_closed_windows(
    session: AsyncSession, now: datetime, limit: int = 100
) -> list[DigestWindowRow]:
    query = (
        select(DigestWindowRow)
        .where(DigestWindowRow.closes_at <= now)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.scalars(query)).all())


async def delete_window(session: AsyncSession, window: DigestWindowRow) -> None:
    await session.execute(
        delete(DigestWindowRow).where(
            DigestWindowRow.recipient_id == window.recipient_id,
            DigestWindowRow.channel == window.channel,
        )
    )


async def attach_to_digest(
    session: AsyncSession,
    *,
    recipient_id: uuid.UUID,
    channel: str,
    alert_ids: Sequence[uuid.UUID],
    digest_id: uuid.UUID,
    now: datetime,
) -> None:
    await session.execute(
        update(NotificationRow)
        .where(
            NotificationRow.recipient_id == recipient_id,
            NotificationRow.channel == channel,
            NotificationRow.status == "bundled",
            NotificationRow.digest_notification_id.is_(None),
            NotificationRow.alert_id.in_(alert_ids),
        )
        .values(digest_notification_id=digest_id, updated_at=now)
    )
