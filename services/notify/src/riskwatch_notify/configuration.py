"""Configuration as code, notify's section: teams, recipients (with their quiet hours),
subscriptions and escalation policies.

Never exported: secrets. The webhook signing secret, SMTP and SMS credentials are settings of
the install, not rows; a webhook URL carrying credentials of its own (a user and password, a
query string or a fragment, where a token usually sits) is withheld (`webhook_url_withheld`)
and an import leaves the receiving install's URL as it is. Not exported either: when a row was
created (a timestamp of this install, not configuration).
"""

from __future__ import annotations

import uuid
from datetime import time
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_notify import repository
from riskwatch_notify.models import RecipientRow, SubscriptionRow, TeamRow
from riskwatch_notify.schemas import (
    Body,
    EscalationPolicyIn,
    RecipientIn,
    SubscriptionIn,
    TeamIn,
)
from riskwatch_shared.risk import RiskLevelName

SERVICE = "notify"
MAX_OBJECTS = 10_000


class TeamConfig(TeamIn):
    id: uuid.UUID


class RecipientConfig(RecipientIn):
    id: uuid.UUID
    webhook_url_withheld: bool = Field(
        default=False, description="The install's URL carries credentials; not in the bundle"
    )


class SubscriptionConfig(SubscriptionIn):
    id: uuid.UUID


class EscalationPolicyConfig(EscalationPolicyIn):
    severity: RiskLevelName


class NotifySection(Body):
    teams: list[TeamConfig] = Field(default_factory=list, max_length=MAX_OBJECTS)
    recipients: list[RecipientConfig] = Field(default_factory=list, max_length=MAX_OBJECTS)
    subscriptions: list[SubscriptionConfig] = Field(default_factory=list, max_length=MAX_OBJECTS)
    escalation_policies: list[EscalationPolicyConfig] = Field(default_factory=list, max_length=5)


def carries_credentials(url: str) -> bool:
    """A user, a password, a query or a fragment: where a webhook's token usually sits."""
    parts = urlsplit(url)
    return bool(parts.username or parts.password or parts.query or parts.fragment)


def record(config: Body) -> dict[str, Any]:
    """One object as the bundle holds it (the same shape whether read from the database or
    from an uploaded bundle, so the two compare field by field)."""
    return config.model_dump(mode="json")


def _clock(value: time | None) -> str | None:
    return None if value is None else value.isoformat()


def recipient_record(row: RecipientRow, team_ids: list[uuid.UUID]) -> dict[str, Any]:
    """The keys and JSON shapes of `record(RecipientConfig)`, read from a row as stored."""
    withheld = row.webhook_url is not None and carries_credentials(row.webhook_url)
    return {
        "id": str(row.id),
        "name": row.name,
        "email": row.email,
        "phone": row.phone,
        "webhook_url": None if withheld else row.webhook_url,
        "webhook_url_withheld": withheld,
        "locale": row.locale,
        "time_zone": row.time_zone,
        "quiet_start": _clock(row.quiet_start),
        "quiet_end": _clock(row.quiet_end),
        "team_ids": sorted(str(team_id) for team_id in team_ids),
        "staff_id": row.staff_id,
        "user_subject": row.user_subject,
        "active": row.active,
    }


def subscription_record(row: SubscriptionRow) -> dict[str, Any]:
    """The keys and JSON shapes of `record(SubscriptionConfig)`."""
    return {
        "id": str(row.id),
        "team_id": None if row.team_id is None else str(row.team_id),
        "recipient_id": None if row.recipient_id is None else str(row.recipient_id),
        "channels": list(row.channels),
        "alert_types": list(row.alert_types),
        "min_severity": row.min_severity,
        "include_relationship_manager": row.include_relationship_manager,
        "watchlist_events": list(row.watchlist_events),
        "alerts": row.alerts,
    }


def wanted_record(config: Body) -> dict[str, Any]:
    """A bundle's object in the exported shape: team ids in order, as the export writes them."""
    found = record(config)
    if isinstance(config, RecipientConfig):
        found["team_ids"] = sorted(found["team_ids"])
    return found


async def current_teams(session: AsyncSession) -> dict[str, dict[str, Any]]:
    rows = sorted((await session.scalars(select(TeamRow))).all(), key=lambda r: r.name)
    return {
        str(row.id): record(TeamConfig(id=row.id, name=row.name, description=row.description))
        for row in rows
    }


async def current_recipients(session: AsyncSession) -> dict[str, dict[str, Any]]:
    rows = sorted(
        (await session.scalars(select(RecipientRow))).all(), key=lambda r: (r.name, str(r.id))
    )
    teams = await repository.team_ids_of(session, [row.id for row in rows])
    return {str(row.id): recipient_record(row, list(teams.get(row.id, []))) for row in rows}


async def current_subscriptions(session: AsyncSession) -> dict[str, dict[str, Any]]:
    rows = sorted((await session.scalars(select(SubscriptionRow))).all(), key=lambda r: str(r.id))
    return {str(row.id): subscription_record(row) for row in rows}


async def current_policies(session: AsyncSession) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for row in await repository.list_policies(session):
        config = EscalationPolicyConfig.model_validate(
            {
                "severity": row.severity,
                "levels": row.levels,
                "repeat": row.repeat,
                "cycle_seconds": row.cycle_seconds,
            }
        )
        found[row.severity] = record(config)
    return dict(sorted(found.items()))


async def export_section(session: AsyncSession) -> dict[str, Any]:
    return {
        "teams": list((await current_teams(session)).values()),
        "recipients": list((await current_recipients(session)).values()),
        "subscriptions": list((await current_subscriptions(session)).values()),
        "escalation_policies": list((await current_policies(session)).values()),
    }
