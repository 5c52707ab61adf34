"""SQL of detection health: per rule alert counts by 24-hour bucket, matches and dispositions
in a window, events evaluated by type, when each rule first went live."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import Integer, case, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_alerting.domain.health import FALSE_OUTCOMES, TRUE_OUTCOMES
from riskwatch_alerting.models import (
    Alert,
    AlertOccurrence,
    EvaluationRecord,
    OperationalAlert,
    RuleAuditEntry,
)


async def alerts_by_bucket(
    session: AsyncSession, *, now: datetime, buckets: int, rule_id: uuid.UUID | None = None
) -> dict[uuid.UUID, dict[int, int]]:
    """Per rule: alerts raised in each 24-hour bucket back from `now` (0 = the last 24 h)."""
    age_days = cast(func.floor(func.extract("epoch", now - Alert.raised_at) / 86_400), Integer)
    statement = (
        select(Alert.rule_id, age_days, func.count())
        .where(Alert.raised_at > now - timedelta(days=buckets), Alert.raised_at <= now)
        .group_by(Alert.rule_id, age_days)
    )
    if rule_id is not None:
        statement = statement.where(Alert.rule_id == rule_id)
    counts: dict[uuid.UUID, dict[int, int]] = defaultdict(dict)
    for rid, bucket, count in (await session.execute(statement)).all():
        counts[rid][int(bucket)] = int(count)
    return counts


async def matches_since(
    session: AsyncSession, since: datetime, rule_id: uuid.UUID | None = None
) -> dict[uuid.UUID, int]:
    """Per rule: its matches at event time since `since`, each alert's first occurrence and
    every repeat folded into it."""
    first = select(Alert.rule_id, func.count()).where(Alert.first_seen_at >= since)
    repeats = (
        select(Alert.rule_id, func.count())
        .join(AlertOccurrence, AlertOccurrence.alert_id == Alert.id)
        .where(AlertOccurrence.occurred_at >= since)
    )
    if rule_id is not None:
        first, repeats = (
            first.where(Alert.rule_id == rule_id),
            repeats.where(Alert.rule_id == rule_id),
        )
    counts: dict[uuid.UUID, int] = defaultdict(int)
    for statement in (first.group_by(Alert.rule_id), repeats.group_by(Alert.rule_id)):
        for rid, count in (await session.execute(statement)).all():
            counts[rid] += int(count)
    return counts


async def evaluated_by_type(session: AsyncSession, since: datetime) -> dict[str, int]:
    """Trigger events evaluated since `since`, by event type (each rule evaluates its types')."""
    statement = (
        select(EvaluationRecord.event_type, func.count())
        .where(EvaluationRecord.occurred_at >= since)
        .group_by(EvaluationRecord.event_type)
    )
    return {str(t): int(n) for t, n in (await session.execute(statement)).all()}


async def dispositions_since(
    session: AsyncSession, since: datetime, rule_id: uuid.UUID | None = None
) -> dict[uuid.UUID, tuple[int, int]]:
    """Per rule: (true positives, false positives) of its resolved alerts raised since."""
    true = func.sum(case((Alert.outcome.in_(TRUE_OUTCOMES), 1), else_=0))
    false = func.sum(case((Alert.outcome.in_(FALSE_OUTCOMES), 1), else_=0))
    statement = (
        select(Alert.rule_id, true, false)
        .where(Alert.status == "resolved", Alert.outcome.is_not(None), Alert.raised_at >= since)
        .group_by(Alert.rule_id)
    )
    if rule_id is not None:
        statement = statement.where(Alert.rule_id == rule_id)
    return {
        rid: (int(t or 0), int(f or 0)) for rid, t, f in (await session.execute(statement)).all()
    }


async def first_activations(session: AsyncSession) -> dict[uuid.UUID, datetime]:
    """When each rule first went live (its first approved version)."""
    statement = (
        select(RuleAuditEntry.rule_id, func.min(RuleAuditEntry.occurred_at))
        .where(RuleAuditEntry.action == "approved")
        .group_by(RuleAuditEntry.rule_id)
    )
    return {row[0]: row[1] for row in (await session.execute(statement)).all()}


async def open_spike_alerts(session: AsyncSession) -> dict[str, uuid.UUID]:
    """Rule id (text) -> its open (unacknowledged) spike alert."""
    statement = select(OperationalAlert.subject_id, OperationalAlert.id).where(
        OperationalAlert.kind == "rule_spike", OperationalAlert.status == "open"
    )
    return {row[0]: row[1] for row in (await session.execute(statement)).all()}
