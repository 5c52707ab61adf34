"""Routes: the dashboards' aggregates (read-only): alerts per day by type and severity with the
time to acknowledge, SLA breaches and false positives per rule; the watch list's size and
movements per day. An RM's figures cover their own customers only."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from riskwatch_alerting.api.common import INVALID
from riskwatch_alerting.domain.dashboards import InvalidPeriod, Period, period_of, sizes_by_day
from riskwatch_alerting.errors import InvalidQuery
from riskwatch_alerting.repository import AlertFilters
from riskwatch_alerting.repository.dashboards import (
    alert_response_by_day,
    alert_volume_by_day,
    false_positives_by_rule,
    watchlist_moves_by_day,
)
from riskwatch_shared.app import IdentityDep, SessionDep
from riskwatch_shared.ownership import owner_scope

router = APIRouter()

SinceQuery = Annotated[
    date | None, Query(description="First UTC day (default: 29 days before `until`)")
]
UntilQuery = Annotated[date | None, Query(description="Last UTC day, included (default: today)")]


class AlertDay(BaseModel):
    day: date
    total: int
    by_type: dict[str, int]
    by_severity: dict[str, int]
    acknowledged: int
    median_acknowledge_seconds: float | None
    p90_acknowledge_seconds: float | None
    sla_breaches: int = Field(description="Resolved after the SLA was due, or open past it")


class RuleFalsePositiveRate(BaseModel):
    rule_id: uuid.UUID
    rule_name: str
    resolved: int
    false_positives: int
    false_positive_rate: float


class AlertDailyStats(BaseModel):
    since: date
    until: date
    total: int
    sla_breaches: int
    days: list[AlertDay]
    false_positive_rate_by_rule: list[RuleFalsePositiveRate] = Field(
        description="Alerts raised in the period and resolved with an outcome, per rule"
    )


class WatchlistDay(BaseModel):
    day: date
    entered: int
    exited: int
    reviewed: int
    size: int = Field(description="Customers on the watch list at the end of the day")


class WatchlistStats(BaseModel):
    since: date
    until: date
    active_now: int
    entered_by_origin: dict[str, int]
    days: list[WatchlistDay]


def _period(since: date | None, until: date | None) -> Period:
    try:
        return period_of(since, until, today=datetime.now(UTC).date())
    except InvalidPeriod as invalid:
        raise InvalidQuery(str(invalid), parameter=invalid.parameter) from invalid


@router.get("/alerts/stats/daily", operation_id="alerting-alerts-stats-daily", responses=INVALID)
async def alert_daily_stats(
    session: SessionDep, identity: IdentityDep, since: SinceQuery = None, until: UntilQuery = None
) -> AlertDailyStats:
    """Alerts raised per UTC day by type and severity, each day's time to acknowledge and SLA
    breaches, and the false-positive rate of each rule over the period."""
    period = _period(since, until)
    filters = AlertFilters(
        raised_from=period.start, raised_to=period.end, owner=owner_scope(identity)
    )
    volumes = await alert_volume_by_day(session, filters)
    responses = {r.day: r for r in await alert_response_by_day(session, filters, datetime.now(UTC))}
    by_type: dict[date, dict[str, int]] = {}
    by_severity: dict[date, dict[str, int]] = {}
    for volume in volumes:
        types, severities = (
            by_type.setdefault(volume.day, {}),
            by_severity.setdefault(volume.day, {}),
        )
        types[volume.rule_type] = types.get(volume.rule_type, 0) + volume.alerts
        severities[volume.severity] = severities.get(volume.severity, 0) + volume.alerts
    days = []
    for day in period.days():
        response = responses.get(day)
        days.append(
            AlertDay(
                day=day,
                total=sum(by_type.get(day, {}).values()),
                by_type=by_type.get(day, {}),
                by_severity=by_severity.get(day, {}),
                acknowledged=response.acknowledged if response else 0,
                median_acknowledge_seconds=response.median_acknowledge_seconds
                if response
                else None,
                p90_acknowledge_seconds=response.p90_acknowledge_seconds if response else None,
                sla_breaches=response.sla_breaches if response else 0,
            )
        )
    rates = [
        RuleFalsePositiveRate(
            rule_id=rule_id,
            rule_name=name,
            resolved=resolved,
            false_positives=false_positives,
            false_positive_rate=false_positives / resolved if resolved else 0.0,
        )
        for rule_id, name, resolved, false_positives in await false_positives_by_rule(
            session, filters
        )
    ]
    rates.sort(key=lambda rate: (-rate.false_positive_rate, rate.rule_name))
    return AlertDailyStats(
        since=period.first,
        until=period.last,
        total=sum(day.total for day in days),
        sla_breaches=sum(day.sla_breaches for day in days),
        days=days,
        false_positive_rate_by_rule=rates,
    )


@router.get("/watchlist/stats", operation_id="alerting-watchlist-stats", responses=INVALID)
async def watchlist_stats(
    session: SessionDep, identity: IdentityDep, since: SinceQuery = None, until: UntilQuery = None
) -> WatchlistStats:
    """The watch list's size at the end of each UTC day, its entries, exits and reviews per
    day, and the period's entries by origin (an analyst, the early warning)."""
    period = _period(since, until)
    moves = await watchlist_moves_by_day(session, period.start, period.end, owner_scope(identity))
    days = period.days()
    sizes = sizes_by_day(moves.active_before, moves.entered, moves.exited, days)
    return WatchlistStats(
        since=period.first,
        until=period.last,
        active_now=moves.active_now,
        entered_by_origin=moves.entered_by_origin,
        days=[
            WatchlistDay(
                day=day,
                entered=moves.entered.get(day, 0),
                exited=moves.exited.get(day, 0),
                reviewed=moves.reviewed.get(day, 0),
                size=size,
            )
            for day, size in zip(days, sizes, strict=True)
        ],
    )
