"""Managing recipients, teams, subscriptions and escalation policies; deliveries and the
inbox. Functions take the session first and flush; the route commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_notify import queue, repository
from riskwatch_notify.domain.planning import policy_from_json
from riskwatch_notify.errors import (
    DeliveryNotFound,
    DuplicateRecipient,
    DuplicateTeam,
    EscalationPolicyNotFound,
    InboxMessageNotFound,
    InvalidCursor,
    InvalidPolicy,
    NoAddressForChannel,
    NoInbox,
    NotRedrivable,
    RecipientNotFound,
    RefusedWebhookUrl,
    SubscriptionNotFound,
    TeamNotFound,
)
from riskwatch_notify.models import (
    EscalationPolicyRow,
    NotificationRow,
    RecipientRow,
    SubscriptionRow,
    TeamRow,
)
from riskwatch_notify.schemas import (
    AlertNotificationsOut,
    DeliveryAttemptOut,
    DeliveryDetailOut,
    DeliveryOut,
    DeliveryPage,
    EscalationPolicyIn,
    EscalationPolicyOut,
    InboxMessageOut,
    InboxPage,
    MarkedRead,
    RecipientIn,
    RecipientOut,
    SubscriptionIn,
    TeamIn,
    TeamOut,
)
from riskwatch_shared.netguard import DestinationRefused, OutboundPolicy, check_outbound_url
from riskwatch_shared.ownership import owner_scope, require_visible
from riskwatch_shared.pagination import InvalidCursor as KitInvalidCursor
from riskwatch_shared.pagination import decode_seq_cursor, encode_seq_cursor
from riskwatch_shared.security import Identity


def utcnow() -> datetime:
    return datetime.now(UTC)


def _seq_after(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        return decode_seq_cursor(cursor)
    except KitInvalidCursor as exc:
        raise InvalidCursor(str(exc)) from exc


# ---------------------------------------------------------------- recipients


def _recipient_out(row: RecipientRow, team_ids: Sequence[uuid.UUID]) -> RecipientOut:
    return RecipientOut.model_validate({**_columns(row), "team_ids": sorted(team_ids)})


def _columns(row: object) -> dict[str, object]:
    table = row.__table__  # type: ignore[attr-defined]
    return {column.key: getattr(row, column.key) for column in table.columns}


async def _check_teams(session: AsyncSession, team_ids: Sequence[uuid.UUID]) -> None:
    missing = set(team_ids) - await repository.existing_team_ids(session, team_ids)
    if missing:
        raise TeamNotFound(f"no team {sorted(map(str, missing))[0]}")


def _apply_recipient(row: RecipientRow, body: RecipientIn) -> None:
    for name, value in body.model_dump(exclude={"team_ids"}).items():
        setattr(row, name, value)


async def _check_webhook(body: RecipientIn, policy: OutboundPolicy) -> None:
    """A webhook URL the outbound guard refuses is a 422 and nothing is stored (delivery
    checks again: the name may resolve elsewhere by then)."""
    if body.webhook_url is None:
        return
    try:
        await check_outbound_url(body.webhook_url, policy)
    except DestinationRefused as exc:
        raise RefusedWebhookUrl(exc.reason, field="webhook_url") from None


async def _flush_unique(session: AsyncSession, error: Exception) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        raise error from exc


async def create_recipient(
    session: AsyncSession,
    *,
    body: RecipientIn,
    policy: OutboundPolicy,
    recipient_id: uuid.UUID | None = None,
) -> RecipientOut:
    """`recipient_id`: the id it has in another install (a configuration import)."""
    await _check_webhook(body, policy)
    await _check_teams(session, body.team_ids)
    row = RecipientRow(id=recipient_id or uuid.uuid4())
    _apply_recipient(row, body)
    session.add(row)
    await _flush_unique(session, DuplicateRecipient("staff_id or user_subject already in use"))
    await repository.set_memberships(session, row.id, body.team_ids)
    await session.refresh(row)
    return _recipient_out(row, body.team_ids)


async def get_recipient(session: AsyncSession, *, recipient_id: uuid.UUID) -> RecipientOut:
    row = await repository.get_recipient(session, recipient_id)
    if row is None:
        raise RecipientNotFound(f"no recipient {recipient_id}")
    teams = await repository.team_ids_of(session, [row.id])
    return _recipient_out(row, teams.get(row.id, []))


async def list_recipients(
    session: AsyncSession, *, team_id: uuid.UUID | None, after: uuid.UUID | None, limit: int
) -> list[RecipientOut]:
    rows = await repository.list_recipients(session, team_id=team_id, limit=limit, after=after)
    teams = await repository.team_ids_of(session, [r.id for r in rows])
    return [_recipient_out(row, teams.get(row.id, [])) for row in rows]


async def replace_recipient(
    session: AsyncSession, *, recipient_id: uuid.UUID, body: RecipientIn, policy: OutboundPolicy
) -> RecipientOut:
    row = await repository.get_recipient(session, recipient_id)
    if row is None:
        raise RecipientNotFound(f"no recipient {recipient_id}")
    await _check_webhook(body, policy)
    await _check_teams(session, body.team_ids)
    _apply_recipient(row, body)
    await _flush_unique(session, DuplicateRecipient("staff_id or user_subject already in use"))
    await repository.set_memberships(session, row.id, body.team_ids)
    return _recipient_out(row, body.team_ids)


async def delete_recipient(session: AsyncSession, *, recipient_id: uuid.UUID) -> None:
    row = await repository.get_recipient(session, recipient_id)
    if row is None:
        raise RecipientNotFound(f"no recipient {recipient_id}")
    await session.delete(row)
    await session.flush()


# ---------------------------------------------------------------- teams


async def _team_out(session: AsyncSession, row: TeamRow) -> TeamOut:
    members = await repository.member_ids_of(session, [row.id])
    return TeamOut.model_validate({**_columns(row), "member_ids": sorted(members.get(row.id, []))})


async def create_team(
    session: AsyncSession, *, body: TeamIn, team_id: uuid.UUID | None = None
) -> TeamOut:
    row = TeamRow(id=team_id or uuid.uuid4(), name=body.name, description=body.description)
    session.add(row)
    await _flush_unique(session, DuplicateTeam(f"a team named {body.name!r} exists"))
    await session.refresh(row)
    return await _team_out(session, row)


async def list_teams(session: AsyncSession) -> list[TeamOut]:
    rows = await repository.list_teams(session)
    members = await repository.member_ids_of(session, [r.id for r in rows])
    return [
        TeamOut.model_validate({**_columns(r), "member_ids": sorted(members.get(r.id, []))})
        for r in rows
    ]


async def _team(session: AsyncSession, team_id: uuid.UUID) -> TeamRow:
    row = await repository.get_team(session, team_id)
    if row is None:
        raise TeamNotFound(f"no team {team_id}")
    return row


async def get_team(session: AsyncSession, *, team_id: uuid.UUID) -> TeamOut:
    return await _team_out(session, await _team(session, team_id))


async def replace_team(session: AsyncSession, *, team_id: uuid.UUID, body: TeamIn) -> TeamOut:
    row = await _team(session, team_id)
    row.name, row.description = body.name, body.description
    await _flush_unique(session, DuplicateTeam(f"a team named {body.name!r} exists"))
    return await _team_out(session, row)


async def delete_team(session: AsyncSession, *, team_id: uuid.UUID) -> None:
    await session.delete(await _team(session, team_id))
    await session.flush()


# ---------------------------------------------------------------- subscriptions


async def _check_target(session: AsyncSession, body: SubscriptionIn) -> None:
    if body.team_id is not None:
        await _team(session, body.team_id)
    if body.recipient_id is not None and not await repository.existing_recipient_ids(
        session, [body.recipient_id]
    ):
        raise RecipientNotFound(f"no recipient {body.recipient_id}")


async def create_subscription(
    session: AsyncSession, *, body: SubscriptionIn, subscription_id: uuid.UUID | None = None
) -> SubscriptionRow:
    await _check_target(session, body)
    row = SubscriptionRow(id=subscription_id or uuid.uuid4(), **body.model_dump())
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return row


async def get_subscription(session: AsyncSession, *, subscription_id: uuid.UUID) -> SubscriptionRow:
    row = await repository.get_subscription(session, subscription_id)
    if row is None:
        raise SubscriptionNotFound(f"no subscription {subscription_id}")
    return row


async def replace_subscription(
    session: AsyncSession, *, subscription_id: uuid.UUID, body: SubscriptionIn
) -> SubscriptionRow:
    row = await get_subscription(session, subscription_id=subscription_id)
    await _check_target(session, body)
    for name, value in body.model_dump().items():
        setattr(row, name, value)
    await session.flush()
    return row


async def delete_subscription(session: AsyncSession, *, subscription_id: uuid.UUID) -> None:
    await session.delete(await get_subscription(session, subscription_id=subscription_id))
    await session.flush()


# ---------------------------------------------------------------- escalation policies


def _policy_out(row: EscalationPolicyRow) -> EscalationPolicyOut:
    return EscalationPolicyOut.model_validate(_columns(row))


async def validated_policy(
    session: AsyncSession, *, severity: str, body: EscalationPolicyIn
) -> dict[str, Any]:
    """The policy as it would be stored, once checked (its chain plans, its teams and
    recipients exist): what a proposal carries and an approval writes."""
    levels = [level.model_dump(mode="json") for level in body.levels]
    try:
        policy_from_json(severity, levels, body.repeat, body.cycle_seconds)
    except ValueError as exc:
        raise InvalidPolicy(str(exc)) from exc
    team_ids = [t for level in body.levels for t in level.team_ids]
    recipient_ids = [r for level in body.levels for r in level.recipient_ids]
    await _check_teams(session, team_ids)
    if set(recipient_ids) - await repository.existing_recipient_ids(session, recipient_ids):
        raise RecipientNotFound("a level names an unknown recipient")
    return {
        "severity": severity,
        "levels": levels,
        "repeat": body.repeat,
        "cycle_seconds": body.cycle_seconds,
    }


async def put_policy(
    session: AsyncSession, *, severity: str, body: EscalationPolicyIn
) -> EscalationPolicyOut:
    """Store the policy (after maker-checker's approval: `policy_governance`)."""
    policy = await validated_policy(session, severity=severity, body=body)
    row = await repository.get_policy(session, severity)
    if row is None:
        row = EscalationPolicyRow(severity=severity)
        session.add(row)
    row.levels, row.repeat, row.cycle_seconds = (
        policy["levels"],
        policy["repeat"],
        policy["cycle_seconds"],
    )
    row.updated_at = utcnow()
    await session.flush()
    return _policy_out(row)


async def get_policy(session: AsyncSession, *, severity: str) -> EscalationPolicyOut:
    row = await repository.get_policy(session, severity)
    if row is None:
        raise EscalationPolicyNotFound(f"no escalation policy for {severity}")
    return _policy_out(row)


async def list_policies(session: AsyncSession) -> list[EscalationPolicyOut]:
    return [_policy_out(row) for row in await repository.list_policies(session)]


async def delete_policy(session: AsyncSession, *, severity: str) -> None:
    row = await repository.get_policy(session, severity)
    if row is None:
        raise EscalationPolicyNotFound(f"no escalation policy for {severity}")
    await session.delete(row)
    await session.flush()


# ---------------------------------------------------------------- deliveries


async def list_deliveries(
    session: AsyncSession,
    *,
    status: str | None,
    channel: str | None,
    recipient_id: uuid.UUID | None,
    alert_id: uuid.UUID | None,
    cursor: str | None,
    limit: int,
) -> DeliveryPage:
    rows, total = await repository.list_deliveries(
        session,
        status=status,
        channel=channel,
        recipient_id=recipient_id,
        alert_id=alert_id,
        after_seq=_seq_after(cursor),
        limit=limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return DeliveryPage(
        items=[DeliveryOut.model_validate(row) for row in rows],
        next_cursor=encode_seq_cursor(rows[-1].seq) if more else None,
        **total.fields(),
    )


async def _details(
    session: AsyncSession, rows: Sequence[NotificationRow]
) -> list[DeliveryDetailOut]:
    attempts = await repository.attempts_of(session, [row.id for row in rows])
    return [
        DeliveryDetailOut.model_validate(
            {
                **DeliveryOut.model_validate(row).model_dump(),
                "attempt_log": [
                    DeliveryAttemptOut.model_validate(a) for a in attempts.get(row.id, [])
                ],
            }
        )
        for row in rows
    ]


async def get_delivery(session: AsyncSession, *, notification_id: uuid.UUID) -> DeliveryDetailOut:
    row = await repository.get_delivery(session, notification_id)
    if row is None:
        raise DeliveryNotFound(f"no delivery {notification_id}")
    return (await _details(session, [row]))[0]


async def redrive_delivery(
    session: AsyncSession, *, notification_id: uuid.UUID
) -> DeliveryDetailOut:
    row = await repository.get_delivery(session, notification_id)
    if row is None:
        raise DeliveryNotFound(f"no delivery {notification_id}")
    if not await repository.redrive(session, notification_id, utcnow()):
        raise NotRedrivable(f"delivery {notification_id} is {row.status}, not dead")
    await queue.wake_workers(session)
    await session.refresh(row)
    return (await _details(session, [row]))[0]


TEST_SUBJECT = "RiskWatch test message"
TEST_TEXT = (
    "This is a test message from RiskWatch, sent by a manager to check that this channel "
    "reaches you. Nothing needs doing."
)


async def test_send(
    session: AsyncSession, *, recipient_id: uuid.UUID, channel: str, policy: OutboundPolicy
) -> DeliveryOut:
    """Queue one test message to a recipient on one channel, through the same queue, worker,
    retries and delivery log as an alert's (quiet hours do not hold it: someone asked for it
    now). A webhook URL is checked against the outbound guard now (and again when sent)."""
    row = await session.get(RecipientRow, recipient_id)
    if row is None:
        raise RecipientNotFound(f"no recipient {recipient_id}")
    address = {"email": row.email, "sms": row.phone, "webhook": row.webhook_url,
               "in_app": str(row.id) if row.user_subject else None}[channel]  # fmt: skip
    if not address:
        raise NoAddressForChannel(f"{row.name} has no {channel} address")
    if channel == "webhook":
        try:
            await check_outbound_url(address, policy)
        except DestinationRefused as exc:
            raise RefusedWebhookUrl(exc.reason, field="webhook_url") from None
    now = utcnow()
    notification_id = uuid.uuid4()
    payload: dict[str, Any] | None = None
    if channel == "webhook":
        payload = {"type": "riskwatch.test", "id": str(notification_id),
                   "created_at": now.isoformat(), "message": TEST_TEXT}  # fmt: skip
    elif channel == "in_app":
        payload = {"link": ""}
    await queue.insert_notifications(session, [{
        "id": notification_id, "dedup_key": f"test:{notification_id}", "kind": "test",
        "alert_id": None, "bundled_alert_ids": [], "escalation_step": None,
        "recipient_id": row.id, "channel": channel, "address": address, "severity": "low",
        "subject": TEST_SUBJECT, "body_text": TEST_TEXT, "body_html": None, "payload": payload,
        "status": "queued", "attempts": 0, "next_attempt_at": now, "held_until": None,
        "created_at": now, "updated_at": now, "trace_id": None,
    }])  # fmt: skip
    await queue.wake_workers(session)
    delivery = await repository.get_delivery(session, notification_id)
    assert delivery is not None
    return DeliveryOut.model_validate(delivery)


async def alert_notifications(
    session: AsyncSession, *, alert_id: uuid.UUID, identity: Identity
) -> AlertNotificationsOut:
    """Every notification of an alert; a relationship manager's own customers' alerts only
    (another's, like an alert notify never heard of, is 404 for them)."""
    if owner_scope(identity) is not None:
        require_visible(identity, await repository.alert_owner(session, alert_id), "such alert")
    rows = await repository.notifications_of_alert(session, alert_id)
    return AlertNotificationsOut(
        alert_id=alert_id,
        planning_error=await repository.planning_error_of(session, alert_id),
        notifications=await _details(session, rows),
    )


# ---------------------------------------------------------------- inbox


async def inbox_owner(session: AsyncSession, *, subject: str) -> RecipientRow:
    row = await repository.recipient_by_subject(session, subject)
    if row is None:
        raise NoInbox(f"no recipient is mapped to user {subject!r}")
    return row


async def inbox(
    session: AsyncSession, *, identity: Identity, cursor: str | None, unread_only: bool, limit: int
) -> InboxPage:
    """The caller's inbox; a relationship manager's holds only their own customers' alerts."""
    owner = await inbox_owner(session, subject=identity.subject)
    confined_to = owner_scope(identity)
    rows, total = await repository.inbox_page(
        session,
        owner.id,
        before_seq=_seq_after(cursor),
        unread_only=unread_only,
        limit=limit + 1,
        owner=confined_to,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return InboxPage(
        items=[InboxMessageOut.model_validate(row) for row in rows],
        unread_count=await repository.unread_count(session, owner.id, confined_to),
        next_cursor=encode_seq_cursor(rows[-1].seq) if more else None,
        **total.fields(),
    )


async def mark_read(
    session: AsyncSession, *, identity: Identity, message_id: uuid.UUID | None
) -> MarkedRead:
    owner = await inbox_owner(session, subject=identity.subject)
    confined_to = owner_scope(identity)
    if (
        message_id is not None
        and await repository.inbox_message(session, owner.id, message_id, confined_to) is None
    ):
        raise InboxMessageNotFound(f"no message {message_id} in this inbox")
    ids = [message_id] if message_id is not None else None
    marked = await repository.mark_read(session, owner.id, ids, utcnow(), confined_to)
    unread = await repository.unread_count(session, owner.id, confined_to)
    return MarkedRead(marked=marked, unread_count=unread)
