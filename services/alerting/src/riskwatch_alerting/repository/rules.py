"""SQL of rules and their immutable versions. Functions only flush; the caller owns the
transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import (
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_alerting.models import (
    Alert,
    Rule,
    RuleVersion,
)


async def get_rule(
    session: AsyncSession, rule_id: uuid.UUID, *, for_update: bool = False
) -> Rule | None:
    statement = select(Rule).where(Rule.id == rule_id)
    if for_update:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def list_rules(
    session: AsyncSession, *, status: str | None, rule_type: str | None
) -> Sequence[Rule]:
    statement = select(Rule).order_by(Rule.created_at, Rule.id)
    if status is not None:
        statement = statement.where(Rule.status == status)
    if rule_type is not None:
        statement = statement.where(Rule.rule_type == rule_type)
    return (await session.execute(statement)).scalars().all()


async def active_rules(session: AsyncSession) -> Sequence[Rule]:
    return (await session.execute(select(Rule).where(Rule.status == "active"))).scalars().all()


async def rule_has_alerts(session: AsyncSession, rule_id: uuid.UUID) -> bool:
    statement = select(Alert.id).where(Alert.rule_id == rule_id).limit(1)
    return (await session.execute(statement)).first() is not None


async def list_versions(session: AsyncSession, rule_id: uuid.UUID) -> Sequence[RuleVersion]:
    statement = (
        select(RuleVersion).where(RuleVersion.rule_id == rule_id).order_by(RuleVersion.version)
    )
    return (await session.execute(statement)).scalars().all()


async def get_version(
    session: AsyncSession, rule_id: uuid.UUID, version: int
) -> RuleVersion | None:
    return await session.get(RuleVersion, (rule_id, version))


async def latest_version(session: AsyncSession, rule_id: uuid.UUID) -> int:
    """The highest version number of a rule, live or draft (0 when it has none)."""
    statement = select(func.max(RuleVersion.version)).where(RuleVersion.rule_id == rule_id)
    return int((await session.execute(statement)).scalar_one() or 0)
