"""Operational alerts (alerting's detection health) into notifications: the owners (by user
subject and owner team) and the teams subscribed to every alert (`domain.operational`).
A redelivered event creates nothing: the dedup key names the alert, recipient and channel."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_notify import queue
from riskwatch_notify.config import Settings
from riskwatch_notify.domain.models import Channel, Severity
from riskwatch_notify.domain.operational import OperationalMessage, recipients_for, render
from riskwatch_notify.domain.planning import notification_row
from riskwatch_notify.models import RecipientRow, TeamRow
from riskwatch_shared.events.alerting import OperationalAlertRaised


async def take_in(
    session: AsyncSession,
    events: Sequence[OperationalAlertRaised],
    *,
    settings: Settings,
    now: datetime,
) -> int:
    if not events:
        return 0
    snapshot = await queue.load_routing(session)
    subscriptions = [s for s, _ in snapshot.subscriptions]
    base = (settings.alert_url_base or "").rstrip("/")
    rows: list[dict[str, Any]] = []
    for event in events:
        owner_ids = [
            str(rid)
            for rid in await session.scalars(
                select(RecipientRow.id).where(RecipientRow.user_subject.in_(event.owners))
            )
        ]
        team_ids = (
            [
                str(tid)
                for tid in await session.scalars(
                    select(TeamRow.id).where(TeamRow.name == event.owner_team)
                )
            ]
            if event.owner_team
            else []
        )
        severity = Severity(event.severity)
        pairs = recipients_for(
            severity,
            subscriptions,
            snapshot.recipients.values(),
            snapshot.teams,
            owner_ids=owner_ids,
            owner_team_ids=team_ids,
        )
        alert_id = str(event.operational_alert_id)
        link = (
            f"{base}/operational-alerts/{alert_id}" if base else f"/operational-alerts/{alert_id}"
        )
        message = OperationalMessage(
            alert_id=alert_id,
            kind=event.kind,
            title=event.title,
            report=event.report,
            figures=tuple(sorted(event.figures.items())),
        )
        for recipient, channel in pairs:
            subject, text = render(message, recipient, link)
            content: dict[str, Any] = {"subject": subject, "body_text": text}
            if channel is Channel.IN_APP:
                content["payload"] = {"link": link, "operational_alert_id": alert_id}
            rows.append(
                notification_row(
                    notification_id=uuid.uuid4(),
                    key=f"operational:{alert_id}:{recipient.recipient_id}:{channel.value}",
                    kind="operational",
                    alert_id=None,
                    recipient=recipient,
                    channel=channel,
                    severity=severity,
                    content=content,
                    status="queued",
                    held=None,
                    now=now,
                    trace_id=event.trace_id,
                )
            )
    created = await queue.insert_notifications(session, rows)
    if created:
        await queue.wake_workers(session)
    return created
