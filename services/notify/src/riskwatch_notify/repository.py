"""SQL for recipients, teams, subscriptions, escalation policies, deliveries and the inbox."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Uuid, and_, any_, cast, delete, func, insert, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_notify.models import (
    CUSTOMER_OWNERS,
    AlertRow,
    DeliveryAttemptRow,
    EscalationPolicyRow,
    InboxMessageRow,
    NotificationRow,
    RecipientRow,
    SubscriptionRow,
    TeamMemberRow,
    TeamRow,
)
from riskwatch_shared.db.totals import Total, total_of

# ---------------------------------------------------------------- recipients and teams


async def team_ids_of(
    session: AsyncSession, recipient_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    rows = await session.execute(
        select(TeamMemberRow.recipient_id, TeamMemberRow.team_id).where(
            TeamMemberRow.recipient_id.in_(recipient_ids)
        )
    )
    found: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for recipient_id, team_id in rows:
        found[recipient_id].append(team_id)
    return found


async def member_ids_of(
    session: AsyncSession, team_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    rows = await session.execute(
        select(TeamMemberRow.team_id, TeamMemberRow.recipient_id).where(
            TeamMemberRow.team_id.in_(team_ids)
        )
    )
    found: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for team_id, recipient_id in rows:
        found[team_id].append(recipient_id)
    return found


async def get_recipient(session: AsyncSession, recipient_id: uuid.UUID) -> RecipientRow | None:
    return await session.get(RecipientRow, recipient_id)


async def recipient_by_subject(session: AsyncSession, subject: str) -> RecipientRow | None:
    return await session.scalar(select(RecipientRow).where(RecipientRow.user_subject == subject))


async def list_recipients(
    session: AsyncSession, *, team_id: uuid.UUID | None, limit: int, after: uuid.UUID | None
) -> list[RecipientRow]:
    query = select(RecipientRow).order_by(RecipientRow.id).limit(limit)
    if team_id is not None:
        query = query.join(TeamMemberRow, TeamMemberRow.recipient_id == RecipientRow.id).where(
            TeamMemberRow.team_id == team_id
        )
    if after is not None:
        query = query.where(RecipientRow.id > after)
    return list((await session.scalars(query)).all())


async def set_memberships(
    session: AsyncSession, recipient_id: uuid.UUID, team_ids: Sequence[uuid.UUID]
) -> None:
    await session.execute(delete(TeamMemberRow).where(TeamMemberRow.recipient_id == recipient_id))
    if team_ids:
        await session.execute(
            insert(TeamMemberRow),
            [{"team_id": team_id, "recipient_id": recipient_id} for team_id in set(team_ids)],
        )


async def existing_team_ids(session: AsyncSession, team_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    if not team_ids:
        return set()
    return set((await session.scalars(select(TeamRow.id).where(TeamRow.id.in_(team_ids)))).all())


async def existing_recipient_ids(
    session: AsyncSession, recipient_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    if not recipient_ids:
        return set()
    query = select(RecipientRow.id).where(RecipientRow.id.in_(recipient_ids))
    return set((await session.scalars(query)).all())


async def list_teams(session: AsyncSession) -> list[TeamRow]:
    return list((await session.scalars(select(TeamRow).order_by(TeamRow.name))).all())


async def get_team(session: AsyncSession, team_id: uuid.UUID) -> TeamRow | None:
    return await session.get(TeamRow, team_id)


# ---------------------------------------------------------------- subscriptions and policies


async def list_subscriptions(
    session: AsyncSession, *, team_id: uuid.UUID | None, recipient_id: uuid.UUID | None
) -> list[SubscriptionRow]:
    query = select(SubscriptionRow).order_by(SubscriptionRow.created_at, SubscriptionRow.id)
    if team_id is not None:
        query = query.where(SubscriptionRow.team_id == team_id)
    if recipient_id is not None:
        query = query.where(SubscriptionRow.recipient_id == recipient_id)
    return list((await session.scalars(query)).all())


async def get_subscription(
    session: AsyncSession, subscription_id: uuid.UUID
) -> SubscriptionRow | None:
    return await session.get(SubscriptionRow, subscription_id)


async def list_policies(session: AsyncSession) -> list[EscalationPolicyRow]:
    query = select(EscalationPolicyRow).order_by(EscalationPolicyRow.severity)
    return list((await session.scalars(query)).all())


async def get_policy(session: AsyncSession, severity: str) -> EscalationPolicyRow | None:
    return await session.get(EscalationPolicyRow, severity)


# ---------------------------------------------------------------- deliveries


async def list_deliveries(
    session: AsyncSession,
    *,
    status: str | None,
    channel: str | None,
    recipient_id: uuid.UUID | None,
    alert_id: uuid.UUID | None,
    after_seq: int | None,
    limit: int,
) -> tuple[list[NotificationRow], Total]:
    """A page after `after_seq`, and how many deliveries the filters select in all pages."""
    query = select(NotificationRow).order_by(NotificationRow.seq).limit(limit)
    filters: list[Any] = []
    if status is not None:
        filters.append(NotificationRow.status == status)
    if channel is not None:
        filters.append(NotificationRow.channel == channel)
    if recipient_id is not None:
        filters.append(NotificationRow.recipient_id == recipient_id)
    if alert_id is not None:
        filters.append(NotificationRow.alert_id == alert_id)
    total = await total_of(session, select(NotificationRow).where(*filters))
    if after_seq is not None:
        filters.append(NotificationRow.seq > after_seq)
    return list((await session.scalars(query.where(*filters))).all()), total


async def get_delivery(session: AsyncSession, notification_id: uuid.UUID) -> NotificationRow | None:
    return await session.get(NotificationRow, notification_id)


async def planning_error_of(session: AsyncSession, alert_id: uuid.UUID) -> str | None:
    query = select(AlertRow.planning_error).where(AlertRow.alert_id == alert_id)
    error: str | None = await session.scalar(query)
    return error


async def notifications_of_alert(
    session: AsyncSession, alert_id: uuid.UUID
) -> list[NotificationRow]:
    """Notifications about the alert: its own, its escalations and digests bundling it."""
    query = (
        select(NotificationRow)
        .where(
            (NotificationRow.alert_id == alert_id)
            | (literal(alert_id, Uuid) == any_(NotificationRow.bundled_alert_ids))
        )
        .order_by(NotificationRow.seq)
    )
    return list((await session.scalars(query)).all())


async def attempts_of(
    session: AsyncSession, notification_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[DeliveryAttemptRow]]:
    query = (
        select(DeliveryAttemptRow)
        .where(DeliveryAttemptRow.notification_id.in_(notification_ids))
        .order_by(DeliveryAttemptRow.id)
    )
    found: dict[uuid.UUID, list[DeliveryAttemptRow]] = defaultdict(list)
    for attempt in (await session.scalars(query)).all():
        found[attempt.notification_id].append(attempt)
    return found


async def redrive(session: AsyncSession, notification_id: uuid.UUID, now: datetime) -> bool:
    result = await session.execute(
        update(NotificationRow)
        .where(NotificationRow.id == notification_id, NotificationRow.status == "dead")
        .values(
            status="queued",
            attempts=0,
            next_attempt_at=now,
            lease_id=None,
            lease_expires_at=None,
            updated_at=now,
        )
        .returning(NotificationRow.id)
    )
    return result.first() is not None


# ---------------------------------------------------------------- inbox


# ---------------------------------------------------------------- ownership


def _alert_customer() -> Any:
    return cast(AlertRow.payload["customer_id"].astext, Uuid)


def alerts_owned_by(owner: str) -> Any:
    """SQL: ids of the alerts whose customer is `owner`'s (as the newest alert about them said)."""
    return (
        select(AlertRow.alert_id)
        .join(CUSTOMER_OWNERS, CUSTOMER_OWNERS.c.customer_id == _alert_customer())
        .where(CUSTOMER_OWNERS.c.relationship_manager == owner)
    )


async def alert_owner(session: AsyncSession, alert_id: uuid.UUID) -> str | None:
    """The relationship manager of the alert's customer now; None for an unknown alert."""
    query = (
        select(CUSTOMER_OWNERS.c.relationship_manager)
        .select_from(AlertRow)
        .join(CUSTOMER_OWNERS, CUSTOMER_OWNERS.c.customer_id == _alert_customer())
        .where(AlertRow.alert_id == alert_id)
    )
    owner: str | None = await session.scalar(query)
    return owner


def customers_owned_by(owner: str) -> Any:
    """SQL: ids of `owner`'s customers (as the newest event about them said)."""
    return select(CUSTOMER_OWNERS.c.customer_id).where(
        CUSTOMER_OWNERS.c.relationship_manager == owner
    )


def _visible(query: Any, owner: str | None) -> Any:
    """Only the inbox items about `owner`'s customers: their alerts, and the messages without
    an alert about them (watch-list events) (None: every item)."""
    if owner is None:
        return query
    return query.where(
        or_(
            InboxMessageRow.alert_id.in_(alerts_owned_by(owner)),
            and_(
                InboxMessageRow.alert_id.is_(None),
                InboxMessageRow.customer_id.in_(customers_owned_by(owner)),
            ),
        )
    )


async def inbox_page(
    session: AsyncSession,
    recipient_id: uuid.UUID,
    *,
    before_seq: int | None,
    unread_only: bool,
    limit: int,
    owner: str | None = None,
) -> tuple[list[InboxMessageRow], Total]:
    """A page before `before_seq`, and how many messages the filters select in all pages."""
    query = _visible(
        select(InboxMessageRow).where(InboxMessageRow.recipient_id == recipient_id), owner
    )
    if unread_only:
        query = query.where(InboxMessageRow.read_at.is_(None))
    total = await total_of(session, query)
    if before_seq is not None:
        query = query.where(InboxMessageRow.seq < before_seq)
    query = query.order_by(InboxMessageRow.seq.desc()).limit(limit)
    return list((await session.scalars(query)).all()), total


async def inbox_since(
    session: AsyncSession,
    recipient_id: uuid.UUID,
    after_seq: int,
    limit: int = 100,
    owner: str | None = None,
) -> list[InboxMessageRow]:
    query = _visible(
        select(InboxMessageRow)
        .where(InboxMessageRow.recipient_id == recipient_id, InboxMessageRow.seq > after_seq)
        .order_by(InboxMessageRow.seq)
        .limit(limit),
        owner,
    )
    return list((await session.scalars(query)).all())


async def inbox_last_seq(session: AsyncSession, recipient_id: uuid.UUID) -> int:
    query = select(func.coalesce(func.max(InboxMessageRow.seq), 0)).where(
        InboxMessageRow.recipient_id == recipient_id
    )
    return int(await session.scalar(query) or 0)


async def unread_count(
    session: AsyncSession, recipient_id: uuid.UUID, owner: str | None = None
) -> int:
    query = _visible(
        select(func.count()).where(
            InboxMessageRow.recipient_id == recipient_id, InboxMessageRow.read_at.is_(None)
        ),
        owner,
    )
    return int(await session.scalar(query) or 0)


async def mark_read(
    session: AsyncSession,
    recipient_id: uuid.UUID,
    message_ids: Sequence[uuid.UUID] | None,
    now: datetime,
    owner: str | None = None,
) -> int:
    """Mark the given messages (None: all) read; returns how many changed."""
    query = _visible(
        update(InboxMessageRow)
        .where(InboxMessageRow.recipient_id == recipient_id, InboxMessageRow.read_at.is_(None))
        .values(read_at=now)
        .returning(InboxMessageRow.id),
        owner,
    )
    if message_ids is not None:
        query = query.where(InboxMessageRow.id.in_(message_ids))
    return len((await session.execute(query)).all())


async def inbox_message(
    session: AsyncSession, recipient_id: uuid.UUID, message_id: uuid.UUID, owner: str | None = None
) -> InboxMessageRow | None:
    query = _visible(
        select(InboxMessageRow).where(
            InboxMessageRow.id == message_id, InboxMessageRow.recipient_id == recipient_id
        ),
        owner,
    )
    row: InboxMessageRow | None = await session.scalar(query)
    return row
