"""HTTP routes of the notify service."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import StreamingResponse

from riskwatch_notify import repository, service
from riskwatch_notify.config import Settings
from riskwatch_notify.errors import NotAllowed
from riskwatch_notify.runtime import notify_runtime
from riskwatch_notify.schemas import (
    AlertNotificationsOut,
    ChannelName,
    DeliveryDetailOut,
    DeliveryPage,
    DeliveryStatusName,
    EscalationPolicyIn,
    EscalationPolicyOut,
    InboxMessageOut,
    InboxPage,
    MarkedRead,
    RecipientIn,
    RecipientOut,
    SeverityName,
    SubscriptionIn,
    SubscriptionOut,
    TeamIn,
    TeamOut,
)
from riskwatch_shared.app import IdentityDep, RuntimeDep, SessionDep
from riskwatch_shared.errors import PROBLEM_RESPONSES
from riskwatch_shared.security import Identity

router = APIRouter(prefix="/v1", tags=["notify"])

MANAGERS = ("admin", "risk_manager", "system")
READERS = (*MANAGERS, "analyst", "viewer")
Limit = Annotated[int, Query(ge=1, le=500, description="Page size")]
Cursor = Annotated[str | None, Query(description="`next_cursor` of the previous page")]


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    responses: dict[int | str, dict[str, Any]] = dict(PROBLEM_RESPONSES)
    for code in (401, 403, *codes):
        responses[code] = {"description": "problem+json"}
    return responses


def require(identity: Identity, roles: tuple[str, ...]) -> None:
    if not identity.has_role(*roles):
        raise NotAllowed(f"needs one of the roles {', '.join(roles)}")


# ---------------------------------------------------------------- recipients


@router.post(
    "/recipients",
    operation_id="notify-recipients-create",
    response_model=RecipientOut,
    status_code=201,
    responses=_errors(404, 409),
)
async def create_recipient(
    body: RecipientIn, session: SessionDep, identity: IdentityDep
) -> RecipientOut:
    """Add a recipient."""
    require(identity, MANAGERS)
    out = await service.create_recipient(session, body=body)
    await session.commit()
    return out


@router.get(
    "/recipients",
    operation_id="notify-recipients-list",
    response_model=list[RecipientOut],
    responses=_errors(),
)
async def list_recipients(
    session: SessionDep,
    identity: IdentityDep,
    team_id: Annotated[uuid.UUID | None, Query(description="Only members of this team")] = None,
    after: Annotated[uuid.UUID | None, Query(description="Last id of the previous page")] = None,
    limit: Limit = 100,
) -> list[RecipientOut]:
    """List recipients, by id."""
    require(identity, READERS)
    return await service.list_recipients(session, team_id=team_id, after=after, limit=limit)


@router.get(
    "/recipients/{recipient_id}",
    operation_id="notify-recipients-get",
    response_model=RecipientOut,
    responses=_errors(404),
)
async def get_recipient(
    recipient_id: uuid.UUID, session: SessionDep, identity: IdentityDep
) -> RecipientOut:
    """One recipient."""
    require(identity, READERS)
    return await service.get_recipient(session, recipient_id=recipient_id)


@router.put(
    "/recipients/{recipient_id}",
    operation_id="notify-recipients-replace",
    response_model=RecipientOut,
    responses=_errors(404, 409),
)
async def replace_recipient(
    recipient_id: uuid.UUID, body: RecipientIn, session: SessionDep, identity: IdentityDep
) -> RecipientOut:
    """Replace a recipient."""
    require(identity, MANAGERS)
    out = await service.replace_recipient(session, recipient_id=recipient_id, body=body)
    await session.commit()
    return out


@router.delete(
    "/recipients/{recipient_id}",
    operation_id="notify-recipients-delete",
    status_code=204,
    responses=_errors(404),
)
async def delete_recipient(
    recipient_id: uuid.UUID, session: SessionDep, identity: IdentityDep
) -> Response:
    """Remove a recipient."""
    require(identity, MANAGERS)
    await service.delete_recipient(session, recipient_id=recipient_id)
    await session.commit()
    return Response(status_code=204)


# ---------------------------------------------------------------- teams


@router.post(
    "/teams",
    operation_id="notify-teams-create",
    response_model=TeamOut,
    status_code=201,
    responses=_errors(409),
)
async def create_team(body: TeamIn, session: SessionDep, identity: IdentityDep) -> TeamOut:
    """Add a team."""
    require(identity, MANAGERS)
    out = await service.create_team(session, body=body)
    await session.commit()
    return out


@router.get(
    "/teams", operation_id="notify-teams-list", response_model=list[TeamOut], responses=_errors()
)
async def list_teams(session: SessionDep, identity: IdentityDep) -> list[TeamOut]:
    """List teams with their members."""
    require(identity, READERS)
    return await service.list_teams(session)


@router.get(
    "/teams/{team_id}",
    operation_id="notify-teams-get",
    response_model=TeamOut,
    responses=_errors(404),
)
async def get_team(team_id: uuid.UUID, session: SessionDep, identity: IdentityDep) -> TeamOut:
    """One team."""
    require(identity, READERS)
    return await service.get_team(session, team_id=team_id)


@router.put(
    "/teams/{team_id}",
    operation_id="notify-teams-replace",
    response_model=TeamOut,
    responses=_errors(404, 409),
)
async def replace_team(
    team_id: uuid.UUID, body: TeamIn, session: SessionDep, identity: IdentityDep
) -> TeamOut:
    """Rename or describe a team."""
    require(identity, MANAGERS)
    out = await service.replace_team(session, team_id=team_id, body=body)
    await session.commit()
    return out


@router.delete(
    "/teams/{team_id}", operation_id="notify-teams-delete", status_code=204, responses=_errors(404)
)
async def delete_team(team_id: uuid.UUID, session: SessionDep, identity: IdentityDep) -> Response:
    """Remove a team (its subscriptions go with it)."""
    require(identity, MANAGERS)
    await service.delete_team(session, team_id=team_id)
    await session.commit()
    return Response(status_code=204)


# ---------------------------------------------------------------- subscriptions


@router.post(
    "/subscriptions",
    operation_id="notify-subscriptions-create",
    response_model=SubscriptionOut,
    status_code=201,
    responses=_errors(404),
)
async def create_subscription(
    body: SubscriptionIn, session: SessionDep, identity: IdentityDep
) -> SubscriptionOut:
    """Route alert types from a minimum severity to a team or a person."""
    require(identity, MANAGERS)
    row = await service.create_subscription(session, body=body)
    await session.commit()
    return SubscriptionOut.model_validate(row)


@router.get(
    "/subscriptions",
    operation_id="notify-subscriptions-list",
    response_model=list[SubscriptionOut],
    responses=_errors(),
)
async def list_subscriptions(
    session: SessionDep,
    identity: IdentityDep,
    team_id: Annotated[uuid.UUID | None, Query(description="Only this team's")] = None,
    recipient_id: Annotated[uuid.UUID | None, Query(description="Only this person's")] = None,
) -> list[SubscriptionOut]:
    """List subscriptions."""
    require(identity, READERS)
    rows = await repository.list_subscriptions(session, team_id=team_id, recipient_id=recipient_id)
    return [SubscriptionOut.model_validate(row) for row in rows]


@router.get(
    "/subscriptions/{subscription_id}",
    operation_id="notify-subscriptions-get",
    response_model=SubscriptionOut,
    responses=_errors(404),
)
async def get_subscription(
    subscription_id: uuid.UUID, session: SessionDep, identity: IdentityDep
) -> SubscriptionOut:
    """One subscription."""
    require(identity, READERS)
    return SubscriptionOut.model_validate(
        await service.get_subscription(session, subscription_id=subscription_id)
    )


@router.put(
    "/subscriptions/{subscription_id}",
    operation_id="notify-subscriptions-replace",
    response_model=SubscriptionOut,
    responses=_errors(404),
)
async def replace_subscription(
    subscription_id: uuid.UUID, body: SubscriptionIn, session: SessionDep, identity: IdentityDep
) -> SubscriptionOut:
    """Replace a subscription."""
    require(identity, MANAGERS)
    row = await service.replace_subscription(session, subscription_id=subscription_id, body=body)
    await session.commit()
    return SubscriptionOut.model_validate(row)


@router.delete(
    "/subscriptions/{subscription_id}",
    operation_id="notify-subscriptions-delete",
    status_code=204,
    responses=_errors(404),
)
async def delete_subscription(
    subscription_id: uuid.UUID, session: SessionDep, identity: IdentityDep
) -> Response:
    """Remove a subscription."""
    require(identity, MANAGERS)
    await service.delete_subscription(session, subscription_id=subscription_id)
    await session.commit()
    return Response(status_code=204)


# ---------------------------------------------------------------- escalation policies


@router.get(
    "/escalation-policies",
    operation_id="notify-escalation-policies-list",
    response_model=list[EscalationPolicyOut],
    responses=_errors(),
)
async def list_policies(session: SessionDep, identity: IdentityDep) -> list[EscalationPolicyOut]:
    """Escalation policies, one per severity."""
    require(identity, READERS)
    return await service.list_policies(session)


@router.put(
    "/escalation-policies/{severity}",
    operation_id="notify-escalation-policies-put",
    response_model=EscalationPolicyOut,
    responses=_errors(404),
)
async def put_policy(
    severity: SeverityName, body: EscalationPolicyIn, session: SessionDep, identity: IdentityDep
) -> EscalationPolicyOut:
    """Create or replace the policy of a severity (alerts raised later use it)."""
    require(identity, MANAGERS)
    out = await service.put_policy(session, severity=severity, body=body)
    await session.commit()
    return out


@router.get(
    "/escalation-policies/{severity}",
    operation_id="notify-escalation-policies-get",
    response_model=EscalationPolicyOut,
    responses=_errors(404),
)
async def get_policy(
    severity: SeverityName, session: SessionDep, identity: IdentityDep
) -> EscalationPolicyOut:
    """The policy of one severity."""
    require(identity, READERS)
    return await service.get_policy(session, severity=severity)


@router.delete(
    "/escalation-policies/{severity}",
    operation_id="notify-escalation-policies-delete",
    status_code=204,
    responses=_errors(404),
)
async def delete_policy(
    severity: SeverityName, session: SessionDep, identity: IdentityDep
) -> Response:
    """Remove the policy of one severity."""
    require(identity, MANAGERS)
    await service.delete_policy(session, severity=severity)
    await session.commit()
    return Response(status_code=204)


# ---------------------------------------------------------------- deliveries


@router.get(
    "/deliveries",
    operation_id="notify-deliveries-list",
    response_model=DeliveryPage,
    responses=_errors(422),
)
async def list_deliveries(
    session: SessionDep,
    identity: IdentityDep,
    status: Annotated[DeliveryStatusName | None, Query(description="e.g. `dead`")] = None,
    channel: Annotated[ChannelName | None, Query(description="Only this channel")] = None,
    recipient_id: Annotated[uuid.UUID | None, Query(description="Only to this recipient")] = None,
    alert_id: Annotated[uuid.UUID | None, Query(description="Only about this alert")] = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> DeliveryPage:
    """Deliveries, oldest first; `status=dead` lists those that exhausted their retries."""
    require(identity, READERS)
    return await service.list_deliveries(
        session,
        status=status,
        channel=channel,
        recipient_id=recipient_id,
        alert_id=alert_id,
        cursor=cursor,
        limit=limit,
    )


@router.get(
    "/deliveries/{delivery_id}",
    operation_id="notify-deliveries-get",
    response_model=DeliveryDetailOut,
    responses=_errors(404),
)
async def get_delivery(
    delivery_id: uuid.UUID, session: SessionDep, identity: IdentityDep
) -> DeliveryDetailOut:
    """One delivery with every attempt and the provider's answers."""
    require(identity, READERS)
    return await service.get_delivery(session, notification_id=delivery_id)


@router.post(
    "/deliveries/{delivery_id}/redrive",
    operation_id="notify-deliveries-redrive",
    response_model=DeliveryDetailOut,
    responses=_errors(404, 409),
)
async def redrive_delivery(
    delivery_id: uuid.UUID, session: SessionDep, identity: IdentityDep
) -> DeliveryDetailOut:
    """Queue a dead delivery again with a fresh set of attempts."""
    require(identity, MANAGERS)
    out = await service.redrive_delivery(session, notification_id=delivery_id)
    await session.commit()
    return out


@router.get(
    "/alerts/{alert_id}/notifications",
    operation_id="notify-alert-notifications-list",
    response_model=AlertNotificationsOut,
    responses=_errors(),
)
async def alert_notifications(
    alert_id: uuid.UUID, session: SessionDep, identity: IdentityDep
) -> AlertNotificationsOut:
    """What went where for one alert: every notification, escalation and digest, with attempts."""
    require(identity, READERS)
    return await service.alert_notifications(session, alert_id=alert_id)


# ---------------------------------------------------------------- inbox


@router.get(
    "/inbox", operation_id="notify-inbox-list", response_model=InboxPage, responses=_errors(404)
)
async def get_inbox(
    session: SessionDep,
    identity: IdentityDep,
    unread: Annotated[bool, Query(description="Only unread messages")] = False,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> InboxPage:
    """The caller's in-app messages, newest first, with the unread count."""
    return await service.inbox(
        session, subject=identity.subject, cursor=cursor, unread_only=unread, limit=limit
    )


@router.post(
    "/inbox/{message_id}/read",
    operation_id="notify-inbox-mark-read",
    response_model=MarkedRead,
    responses=_errors(404),
)
async def mark_read(
    message_id: uuid.UUID, session: SessionDep, identity: IdentityDep
) -> MarkedRead:
    """Mark one message read."""
    out = await service.mark_read(session, subject=identity.subject, message_id=message_id)
    await session.commit()
    return out


@router.post(
    "/inbox/read-all",
    operation_id="notify-inbox-mark-all-read",
    response_model=MarkedRead,
    responses=_errors(404),
)
async def mark_all_read(session: SessionDep, identity: IdentityDep) -> MarkedRead:
    """Mark every message read."""
    out = await service.mark_read(session, subject=identity.subject, message_id=None)
    await session.commit()
    return out


@router.get(
    "/inbox/stream",
    operation_id="notify-inbox-stream",
    responses={200: {"content": {"text/event-stream": {}}}, **_errors(404)},
    response_class=StreamingResponse,
)
async def inbox_stream(
    request: Request,
    identity: IdentityDep,
    runtime: RuntimeDep,
    last_event_id: Annotated[
        str | None, Header(description="Resume after this message seq")
    ] = None,
) -> StreamingResponse:
    """Server-Sent Events: each new in-app message as `event: message` (id = its seq)."""
    async with runtime.session_factory() as session:
        owner = await service.inbox_owner(session, subject=identity.subject)
    settings: Settings = runtime.settings  # type: ignore[assignment]
    stream = _sse(request, runtime, owner.id, last_event_id, settings.sse_heartbeat_seconds)
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _sse(
    request: Request,
    runtime: Any,
    recipient_id: uuid.UUID,
    last_event_id: str | None,
    heartbeat_seconds: float,
) -> AsyncIterator[str]:
    hub = notify_runtime(runtime).hub
    with hub.subscribe(str(recipient_id)) as woken:
        async with runtime.session_factory() as session:
            last_seq = (
                int(last_event_id)
                if last_event_id and last_event_id.isdigit()
                else await repository.inbox_last_seq(session, recipient_id)
            )
        yield ": connected\n\n"
        while not await request.is_disconnected():
            woken.clear()
            async with runtime.session_factory() as session:
                rows = await repository.inbox_since(session, recipient_id, last_seq)
            for row in rows:
                last_seq = row.seq
                data = InboxMessageOut.model_validate(row).model_dump_json()
                yield f"id: {row.seq}\nevent: message\ndata: {data}\n\n"
            if rows:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), timeout=heartbeat_seconds)
                continue
            yield ": ping\n\n"
