"""Routes tracking deliveries, re-driving dead ones, and the in-app inbox with its SSE stream."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from riskwatch_notify import repository, service
from riskwatch_notify.api.common import MANAGERS, READERS, Cursor, Limit, errors, require
from riskwatch_notify.config import Settings
from riskwatch_notify.runtime import notify_runtime
from riskwatch_notify.schemas import (
    AlertNotificationsOut,
    ChannelName,
    DeliveryDetailOut,
    DeliveryPage,
    DeliveryStatusName,
    InboxMessageOut,
    InboxPage,
    MarkedRead,
)
from riskwatch_shared.aio import wait_event
from riskwatch_shared.app import IdentityDep, RuntimeDep, ServiceRuntime, SessionDep
from riskwatch_shared.ownership import owner_scope
from riskwatch_shared.sse import resume_after

router = APIRouter()


# ---------------------------------------------------------------- deliveries


@router.get(
    "/deliveries",
    operation_id="notify-deliveries-list",
    response_model=DeliveryPage,
    responses=errors(422),
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
    responses=errors(404),
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
    responses=errors(404, 409),
)
async def redrive_delivery(
    delivery_id: uuid.UUID, session: SessionDep, identity: IdentityDep
) -> DeliveryDetailOut:
    """Queue a dead delivery again with a fresh set of attempts."""
    require(identity, MANAGERS)
    out = await service.redrive_delivery(session, notification_id=delivery_id)
    return out


@router.get(
    "/alerts/{alert_id}/notifications",
    operation_id="notify-alert-notifications-list",
    response_model=AlertNotificationsOut,
    responses=errors(),
)
async def alert_notifications(
    alert_id: uuid.UUID, session: SessionDep, identity: IdentityDep
) -> AlertNotificationsOut:
    """What went where for one alert: every notification, escalation and digest, with attempts.

    A relationship manager sees their own customers' alerts only."""
    require(identity, (*READERS, "relationship_manager"))
    return await service.alert_notifications(session, alert_id=alert_id, identity=identity)


# ---------------------------------------------------------------- inbox


@router.get(
    "/inbox", operation_id="notify-inbox-list", response_model=InboxPage, responses=errors(404)
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
        session, identity=identity, cursor=cursor, unread_only=unread, limit=limit
    )


@router.post(
    "/inbox/{message_id}/read",
    operation_id="notify-inbox-mark-read",
    response_model=MarkedRead,
    responses=errors(404),
)
async def mark_read(
    message_id: uuid.UUID, session: SessionDep, identity: IdentityDep
) -> MarkedRead:
    """Mark one message read."""
    out = await service.mark_read(session, identity=identity, message_id=message_id)
    return out


@router.post(
    "/inbox/read-all",
    operation_id="notify-inbox-mark-all-read",
    response_model=MarkedRead,
    responses=errors(404),
)
async def mark_all_read(session: SessionDep, identity: IdentityDep) -> MarkedRead:
    """Mark every message read."""
    out = await service.mark_read(session, identity=identity, message_id=None)
    return out


@router.get(
    "/inbox/stream",
    operation_id="notify-inbox-stream",
    responses={200: {"content": {"text/event-stream": {}}}, **errors(404)},
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
    resume_seq = resume_after(last_event_id, sent="a message seq")
    stream = _sse(
        request,
        runtime,
        owner.id,
        owner_scope(identity),
        resume_seq,
        settings.sse_heartbeat_seconds,
    )
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _sse(
    request: Request,
    runtime: ServiceRuntime,
    recipient_id: uuid.UUID,
    confined_to: str | None,
    resume_seq: int | None,
    heartbeat_seconds: float,
) -> AsyncIterator[str]:
    """A relationship manager's stream carries their own customers' alerts only."""
    hub = notify_runtime(runtime).hub
    with hub.subscribe(str(recipient_id)) as woken:
        async with runtime.session_factory() as session:
            last_seq = (
                resume_seq
                if resume_seq is not None
                else await repository.inbox_last_seq(session, recipient_id)
            )
        yield ": connected\n\n"
        while not await request.is_disconnected():
            woken.clear()
            async with runtime.session_factory() as session:
                rows = await repository.inbox_since(
                    session, recipient_id, last_seq, owner=confined_to
                )
            for row in rows:
                last_seq = row.seq
                data = InboxMessageOut.model_validate(row).model_dump_json()
                yield f"id: {row.seq}\nevent: message\ndata: {data}\n\n"
            if rows:
                continue
            if await wait_event(woken, heartbeat_seconds):
                continue
            yield ": ping\n\n"
