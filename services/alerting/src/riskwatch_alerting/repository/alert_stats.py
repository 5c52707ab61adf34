"""SQL of alert statistics: counts by a column and by day, time to acknowledge, false-positive
rates, the dispositioned alerts of a backtest."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    case,
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_alerting.models import (
    Alert,
)
from riskwatch_alerting.repository.alerts import AlertFilters, filtered, sla_state_of


async def count_by(session: AsyncSession, filters: AlertFilters, column: Any) -> dict[str, int]:
    statement = filtered(select(column, func.count()).group_by(column), filters)
    return {str(key): int(count) for key, count in (await session.execute(statement)).all()}


async def count_by_day(session: AsyncSession, filters: AlertFilters) -> dict[str, int]:
    day = func.to_char(func.timezone("UTC", Alert.raised_at), "YYYY-MM-DD")
    return await count_by(session, filters, day)


async def acknowledge_seconds(
    session: AsyncSession, filters: AlertFilters
) -> tuple[float | None, float | None, int]:
    """(mean, median, how many) of acknowledged_at - raised_at, in seconds."""
    seconds = func.extract("epoch", Alert.acknowledged_at - Alert.raised_at)
    statement = filtered(
        select(
            func.avg(seconds),
            func.percentile_cont(0.5).within_group(seconds),
            func.count(Alert.acknowledged_at),
        ).where(Alert.acknowledged_at.is_not(None)),
        filters,
    )
    mean, median, count = (await session.execute(statement)).one()
    return (
        None if mean is None else float(mean),
        None if median is None else float(median),
        int(count),
    )


async def false_positive_rates(
    session: AsyncSession, filters: AlertFilters
) -> Sequence[tuple[uuid.UUID, str, int, int]]:
    """Per rule: (rule id, name, resolved alerts, false positives)."""
    false_positive = func.sum(case((Alert.outcome == "false_positive", 1), else_=0))
    statement = filtered(
        select(Alert.rule_id, func.max(Alert.rule_name), func.count(), false_positive)
        .where(Alert.status == "resolved", Alert.outcome.is_not(None))
        .group_by(Alert.rule_id),
        filters,
    )
    return [
        (row[0], str(row[1]), int(row[2]), int(row[3] or 0))
        for row in (await session.execute(statement)).all()
    ]


async def dispositioned_alerts(
    session: AsyncSession, start: datetime, end: datetime
) -> Sequence[tuple[uuid.UUID | None, uuid.UUID | None, datetime, str]]:
    statement = select(
        Alert.trigger_event_id, Alert.customer_id, Alert.first_seen_at, Alert.outcome
    ).where(
        Alert.outcome.is_not(None),
        Alert.first_seen_at >= start,
        Alert.first_seen_at < end,
    )
    return [(row[0], row[1], row[2], str(row[3])) for row in (await session.execute(statement))]


async def count_alerts_by_sla(
    session: AsyncSession, filters: AlertFilters, now: datetime
) -> dict[str, int]:
    """How many of the filtered alerts wear each SLA badge at `now`."""
    state = sla_state_of(
        now, started=Alert.raised_at, due=Alert.sla_due_at, closed=Alert.resolved_at
    )
    return await count_by(session, filters, state)
