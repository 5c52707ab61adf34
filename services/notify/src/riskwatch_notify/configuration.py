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
from dataclasses import dataclass
from datetime import time
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_notify import policy_governance, repository, service
from riskwatch_notify.errors import ImportConflict
from riskwatch_notify.models import ConfigAuditEntry, RecipientRow, SubscriptionRow, TeamRow
from riskwatch_notify.schemas import (
    Body,
    EscalationPolicyIn,
    RecipientIn,
    SubscriptionIn,
    TeamIn,
)
from riskwatch_shared.config_bundle import (
    ImportMode,
    ObjectDiff,
    diff_collection,
    field_changes,
)
from riskwatch_shared.governance import Approver, audit_step
from riskwatch_shared.netguard import OutboundPolicy
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


# --- import ------------------------------------------------------------------------------

KINDS = ("team", "recipient", "subscription", "escalation_policy")


@dataclass
class Plan:
    """Per kind, the bundle's objects (by key) and their diffs."""

    wanted: dict[str, dict[str, Body]]
    diffs: dict[str, list[ObjectDiff]]

    def all(self) -> list[ObjectDiff]:
        return [diff for kind in KINDS for diff in self.diffs[kind]]


def _unique_conflicts(
    diffs: list[ObjectDiff],
    current: dict[str, dict[str, Any]],
    wanted: dict[str, dict[str, Any]],
    fields: tuple[str, ...],
) -> None:
    """A value that must be unique (a team's name, a recipient's staff id) held by another
    object of this install: a conflict the apply refuses (409)."""
    for name in fields:
        holders = {r[name]: key for key, r in current.items() if r.get(name) is not None}
        for diff in diffs:
            value = wanted.get(diff.key, {}).get(name)
            holder = holders.get(value) if value is not None else None
            if holder is not None and holder != diff.key:
                diff.note = f"conflict: {diff.kind} {holder} of this install has {name} {value!r}"


def _compare_recipient(wanted: dict[str, Any], found: dict[str, Any] | None) -> dict[str, Any]:
    """A URL withheld from the bundle is this install's to keep: not a difference."""
    if wanted["webhook_url_withheld"] and found is not None:
        return {
            **wanted,
            "webhook_url": found["webhook_url"],
            "webhook_url_withheld": found["webhook_url_withheld"],
        }
    return wanted


async def plan(session: AsyncSession, section: NotifySection) -> Plan:
    current = {
        "team": await current_teams(session),
        "recipient": await current_recipients(session),
        "subscription": await current_subscriptions(session),
        "escalation_policy": await current_policies(session),
    }
    objects: dict[str, dict[str, Body]] = {
        "team": {str(t.id): t for t in section.teams},
        "recipient": {str(r.id): r for r in section.recipients},
        "subscription": {str(s.id): s for s in section.subscriptions},
        "escalation_policy": {p.severity: p for p in section.escalation_policies},
    }
    diffs: dict[str, list[ObjectDiff]] = {}
    for kind in KINDS:
        wanted = {key: wanted_record(config) for key, config in objects[kind].items()}
        if kind == "recipient":
            wanted = {
                key: _compare_recipient(record, current[kind].get(key))
                for key, record in wanted.items()
            }
        name_of = "severity" if kind == "escalation_policy" else "name"
        diffs[kind] = diff_collection(kind, current[kind], wanted, name_of=name_of)
        for diff in diffs[kind]:
            if diff.action == "create":
                fields = {k: v for k, v in wanted[diff.key].items() if k != "id"}
                diff.changes = field_changes({}, fields)
    _unique_conflicts(diffs["team"], current["team"], _records(objects["team"]), ("name",))
    _unique_conflicts(
        diffs["recipient"],
        current["recipient"],
        _records(objects["recipient"]),
        ("staff_id", "user_subject"),
    )
    return Plan(objects, diffs)


def _records(objects: dict[str, Body]) -> dict[str, dict[str, Any]]:
    return {key: record(config) for key, config in objects.items()}


async def import_section(
    session: AsyncSession,
    section: NotifySection,
    *,
    mode: ImportMode,
    approver: Approver,
    policy: OutboundPolicy,
) -> list[ObjectDiff]:
    """Dry-run: the diff, nothing stored. Apply, in one transaction (all of it or nothing):
    teams, then recipients (in their teams) and subscriptions, each created or replaced
    directly and audited (`config_audit`); escalation policies as proposals a second person
    approves (maker-checker, `policy_governance`)."""
    found = await plan(session, section)
    if mode == "dry-run":
        return found.all()
    conflicts = [d.note for d in found.all() if d.note and d.note.startswith("conflict")]
    if conflicts:
        raise ImportConflict(str(conflicts[0]))
    for kind in KINDS:
        for diff in found.diffs[kind]:
            if diff.action not in ("create", "change"):
                continue
            config = found.wanted[kind][diff.key]
            if isinstance(config, EscalationPolicyConfig):
                # Maker-checker: the live policy keeps paging until a second person approves.
                body = EscalationPolicyIn.model_validate(config.model_dump(exclude={"severity"}))
                proposal = await policy_governance.propose_put(
                    session, config.severity, body, approver
                )
                diff.applied, diff.proposal_id = "proposal", str(proposal.id)
                diff.note = (
                    "awaits a second person's approval (GET /v1/escalation-policy-proposals)"
                )
                continue
            await _apply(session, kind, diff, config, policy)
            diff.applied = "direct"
            step = audit_step(
                "import_created" if diff.action == "create" else "import_changed",
                actor=approver.subject,
                roles=approver.roles,
                comment="configuration import",
                detail={"name": diff.name, "changes": [c.to_json() for c in diff.changes]},
            )
            session.add(ConfigAuditEntry(subject=f"{kind}:{diff.key}", **step))
    await session.flush()
    return found.all()


async def _apply(
    session: AsyncSession, kind: str, diff: ObjectDiff, config: Body, policy: OutboundPolicy
) -> None:
    create = diff.action == "create"
    if isinstance(config, TeamConfig):
        team = TeamIn.model_validate(config.model_dump(exclude={"id"}))
        if create:
            await service.create_team(session, body=team, team_id=config.id)
        else:
            await service.replace_team(session, team_id=config.id, body=team)
    elif isinstance(config, RecipientConfig):
        body = RecipientIn.model_validate(config.model_dump(exclude={"id", "webhook_url_withheld"}))
        if config.webhook_url_withheld:
            row = await repository.get_recipient(session, config.id)
            body.webhook_url = None if row is None else row.webhook_url
            if row is None or row.webhook_url is None:
                diff.note = "its webhook URL was withheld from the bundle: set it here"
        if create:
            await service.create_recipient(
                session, body=body, policy=policy, recipient_id=config.id
            )
        else:
            await service.replace_recipient(
                session, recipient_id=config.id, body=body, policy=policy
            )
    elif isinstance(config, SubscriptionConfig):
        subscription = SubscriptionIn.model_validate(config.model_dump(exclude={"id"}))
        if create:
            await service.create_subscription(session, body=subscription, subscription_id=config.id)
        else:
            await service.replace_subscription(
                session, subscription_id=config.id, body=subscription
            )
