"""SQL of the dashboards: alerts per UTC day by type and severity, each day's time to
acknowledge and SLA breaches, the watch list's movements per day. Each is one aggregate over
the period's rows (the `raised_at` / `entered_at` indexes bound them); nothing is written."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import Date, and_, case, cast, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_alerting.models import Alert, Rule, WatchlistEntry, WatchlistReview
from riskwatch_alerting.repository.alerts import AlertFilters, filtered
from riskwatch_alerting.watchlist.store import entry_owned_by


def utc_day(column: Any) -> Any:
    """SQL: the UTC calendar day of a timestamptz."""
    return cast(func.timezone("UTC", column), Date)


class DayVolume(NamedTuple):
    day: date
    rule_type: str
    severity: str
    alerts: int


class DayResponse(NamedTuple):
    day: date
    acknowledged: int
    median_acknowledge_seconds: float | None
    p90_acknowledge_seconds: float | None
    sla_breaches: int


async def alert_volume_by_day(session: AsyncSession, filters: AlertFilters) -> list[DayVolume]:
    """How many alerts were raised on each day, per (type, severity)."""
    day = utc_day(Alert.raised_at)
    statement = filtered(
        select(day, Alert.rule_type, Alert.severity, func.count()).group_by(
            day, Alert.rule_type, Alert.severity
        ),
        filters,
    )
    rows = (await session.execute(statement)).all()
    return [DayVolume(row[0], str(row[1]), str(row[2]), int(row[3])) for row in rows]


async def alert_response_by_day(
    session: AsyncSession, filters: AlertFilters, now: datetime
) -> list[DayResponse]:
    """Per day raised: how many were acknowledged, the median and 90th percentile of the time
    to acknowledge, and how many breached their SLA (resolved after it was due, or still open
    past it at `now`)."""
    day = utc_day(Alert.raised_at)
    seconds = func.extract("epoch", Alert.acknowledged_at - Alert.raised_at)
    breached = func.coalesce(Alert.resolved_at, now) > Alert.sla_due_at
    statement = filtered(
        select(
            day,
            func.count(Alert.acknowledged_at),
            func.percentile_cont(0.5).within_group(seconds),
            func.percentile_cont(0.9).within_group(seconds),
            func.sum(case((breached, 1), else_=0)),
        ).group_by(day),
        filters,
    )
    return [
        DayResponse(
            row[0],
            int(row[1]),
            None if row[2] is None else float(row[2]),
            None if row[3] is None else float(row[3]),
            int(row[4] or 0),
        )
        for row in (await session.execute(statement)).all()
    ]


async def false_positives_by_rule(
    session: AsyncSession, filters: AlertFilters
) -> list[tuple[uuid.UUID, str, int, int]]:
    """Per rule: (rule id, its name now, resolved alerts with an outcome, false positives);
    grouped by rule id alone (the covering index has it), the names read after."""
    false_positive = func.sum(case((Alert.outcome == "false_positive", 1), else_=0))
    statement = filtered(
        select(Alert.rule_id, func.count(), false_positive)
        .where(Alert.status == "resolved", Alert.outcome.is_not(None))
        .group_by(Alert.rule_id),
        filters,
    )
    counts = (await session.execute(statement)).all()
    ids = [row[0] for row in counts]
    names = dict((await session.execute(select(Rule.id, Rule.name).where(Rule.id.in_(ids)))).all())
    return [(row[0], str(names.get(row[0], "")), int(row[1]), int(row[2] or 0)) for row in counts]


class WatchlistMovesByDay(NamedTuple):
    active_before: int
    active_now: int
    entered: dict[date, int]
    exited: dict[date, int]
    reviewed: dict[date, int]
    entered_by_origin: dict[str, int]


async def _count_by_day(session: AsyncSession, column: Any, *conditions: Any) -> dict[date, int]:
    day = utc_day(column)
    statement = select(day, func.count()).where(*conditions).group_by(day)
    return {row[0]: int(row[1]) for row in (await session.execute(statement)).all()}


async def watchlist_moves_by_day(
    session: AsyncSession, start: datetime, end: datetime, owner: str | None
) -> WatchlistMovesByDay:
    """Entries, exits and reviews per day in [start, end), what was on the list before `start`
    and what is on it now; an RM's own customers' entries only when `owner` is set."""
    owned = true() if owner is None else entry_owned_by(owner)
    entered_at, exited_at = WatchlistEntry.entered_at, WatchlistEntry.exited_at
    before = select(func.count()).where(
        owned, entered_at < start, or_(exited_at.is_(None), exited_at >= start)
    )
    now = select(func.count()).where(owned, WatchlistEntry.status == "active")
    origins = (
        select(WatchlistEntry.origin, func.count())
        .where(owned, entered_at >= start, entered_at < end)
        .group_by(WatchlistEntry.origin)
    )
    reviewed = await _count_by_day(
        session,
        WatchlistReview.at,
        WatchlistReview.at >= start,
        WatchlistReview.at < end,
        WatchlistReview.entry_id.in_(select(WatchlistEntry.id).where(owned)),
    )
    return WatchlistMovesByDay(
        active_before=int(await session.scalar(before.select_from(WatchlistEntry)) or 0),
        active_now=int(await session.scalar(now.select_from(WatchlistEntry)) or 0),
        entered=await _count_by_day(
            session, entered_at, owned, entered_at >= start, entered_at < end
        ),
        exited=await _count_by_day(
            session, exited_at, owned, and_(exited_at >= start, exited_at < end)
        ),
        reviewed=reviewed,
        entered_by_origin={
            str(row[0]): int(row[1]) for row in (await session.execute(origins)).all()
        },
    )
