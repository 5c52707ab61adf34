"""SQL of alerts as the API reads them: filters, the desk's SLA states, lists, one alert with
its occurrences and timeline. Functions only flush; the caller owns the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from sqlalchemy import (
    Float,
    Interval,
    Select,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    tuple_,
    type_coerce,
)
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_alerting.domain.desk import AMBER_REMAINING_SHARE
from riskwatch_alerting.models import (
    Alert,
    AlertOccurrence,
    AlertTimelineEntry,
    CustomerDirectoryEntry,
)
from riskwatch_shared.db.totals import Total, total_of

SelectT = TypeVar("SelectT", bound=Select[*tuple[Any, ...]])


# Newest first by raised_at or happened_at; `sla_due_at`: the soonest due first.
SortKey = Literal["raised_at", "happened_at", "sla_due_at"]


@dataclass(frozen=True)
class AlertFilters:
    raised_from: datetime | None = None
    raised_to: datetime | None = None
    happened_from: datetime | None = None
    happened_to: datetime | None = None
    # The order of lists and exports: newest first by this time, then id.
    sort: SortKey = "raised_at"
    rule_type: str | None = None
    severity: str | None = None
    status: str | None = None
    customer_id: uuid.UUID | None = None
    rule_id: uuid.UUID | None = None
    assignee: str | None = None
    # The desk's queues: assigned to one of these people (`me`), to nobody, to a team.
    assignee_in: tuple[str, ...] | None = None
    unassigned: bool = False
    team: str | None = None
    sla_state: str | None = None
    open_only: bool = False
    # A relationship manager's own customers only (`riskwatch_shared.ownership.owner_scope`).
    owner: str | None = None


def alert_owned_by(owner: str) -> Any:
    """SQL: the alert's customer is `owner`'s: as the directory says now (customers change
    hands), else as the alert recorded when raised (a customer the directory has not heard of).
    """
    entry = CustomerDirectoryEntry
    # `IN` an uncorrelated list of the RM's customers: PostgreSQL hashes it once per query
    # rather than probing the directory for every alert (a list's count reads them all).
    theirs = select(entry.customer_id).where(entry.relationship_manager == owner)
    listed = select(entry.customer_id).where(entry.customer_id == Alert.customer_id)
    return or_(
        Alert.customer_id.in_(theirs),
        and_(Alert.relationship_manager == owner, ~listed.exists()),
    )


async def alert_visible_to(session: AsyncSession, alert_id: uuid.UUID, owner: str) -> bool:
    statement = select(Alert.id).where(Alert.id == alert_id, alert_owned_by(owner))
    return (await session.execute(statement)).first() is not None


def filtered(statement: SelectT, filters: AlertFilters) -> SelectT:
    conditions = []
    if filters.owner is not None:
        conditions.append(alert_owned_by(filters.owner))
    if filters.raised_from is not None:
        conditions.append(Alert.raised_at >= filters.raised_from)
    if filters.raised_to is not None:
        conditions.append(Alert.raised_at < filters.raised_to)
    if filters.happened_from is not None:
        conditions.append(Alert.happened_at >= filters.happened_from)
    if filters.happened_to is not None:
        conditions.append(Alert.happened_at < filters.happened_to)
    for column, value in (
        (Alert.rule_type, filters.rule_type),
        (Alert.severity, filters.severity),
        (Alert.status, filters.status),
        (Alert.customer_id, filters.customer_id),
        (Alert.rule_id, filters.rule_id),
    ):
        if value is not None:
            conditions.append(column == value)
    if filters.assignee is not None:
        conditions.append(
            or_(Alert.assignee == filters.assignee, Alert.assignee_team == filters.assignee)
        )
    if filters.assignee_in is not None:
        conditions.append(Alert.assignee.in_(filters.assignee_in))
    if filters.unassigned:
        conditions.append(Alert.assignee.is_(None))
    if filters.team is not None:
        conditions.append(Alert.assignee_team == filters.team)
    if filters.open_only:
        conditions.append(Alert.status != "resolved")
    if filters.sla_state is not None:
        conditions.append(alert_in_sla_state(filters.sla_state, datetime.now(UTC)))
    return statement.where(and_(*conditions)) if conditions else statement


def in_sla_state(
    state: str,
    now: datetime,
    *,
    started: Any,
    due: Any,
    closed: Any,
) -> Any:
    """SQL: the item's SLA badge is `state` at `now` (`domain.desk.sla_state`)."""
    is_open = closed.is_(None)
    # interval * float8 in PostgreSQL; SQLAlchemy's Interval type declares no `*`.
    share = literal(AMBER_REMAINING_SHARE, Float)
    amber_at = due - type_coerce(type_coerce(due - started, Float) * share, Interval)
    red = or_(and_(is_open, due <= now), and_(~is_open, closed > due))
    amber = and_(is_open, due > now, amber_at <= now)
    if state == "red":
        return red
    if state == "amber":
        return amber
    return and_(~red, ~amber)


def sla_state_of(now: datetime, *, started: Any, due: Any, closed: Any) -> Any:
    """SQL: the item's SLA badge at `now`, as text."""
    columns = {"started": started, "due": due, "closed": closed}
    return case(
        (in_sla_state("red", now, **columns), "red"),
        (in_sla_state("amber", now, **columns), "amber"),
        else_="ok",
    )


def alert_in_sla_state(state: str, now: datetime) -> Any:
    return in_sla_state(
        state, now, started=Alert.raised_at, due=Alert.sla_due_at, closed=Alert.resolved_at
    )


async def list_alerts(
    session: AsyncSession,
    filters: AlertFilters,
    *,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[Alert]:
    """Newest first by `filters.sort`; `before` is the (that time, id) of the last row of the
    previous page."""
    statement = filtered(select(Alert), filters)
    if filters.sort == "sla_due_at":
        if before is not None:
            statement = statement.where(tuple_(Alert.sla_due_at, Alert.id) > tuple_(*before))
        statement = statement.order_by(Alert.sla_due_at, Alert.id).limit(limit)
        return (await session.execute(statement)).scalars().all()
    moment = Alert.happened_at if filters.sort == "happened_at" else Alert.raised_at
    if before is not None:
        statement = statement.where(tuple_(moment, Alert.id) < tuple_(*before))
    statement = statement.order_by(moment.desc(), Alert.id.desc()).limit(limit)
    return (await session.execute(statement)).scalars().all()


async def alerts_changed_after(
    session: AsyncSession, filters: AlertFilters, *, after_seq: int, limit: int
) -> Sequence[Alert]:
    """The filtered alerts inserted or updated after change `after_seq`, in change order."""
    statement = filtered(select(Alert), filters).where(Alert.change_seq > after_seq)
    statement = statement.order_by(Alert.change_seq).limit(limit)
    return (await session.execute(statement)).scalars().all()


async def last_change_seq(session: AsyncSession) -> int:
    """The newest change any alert carries (0 when there is none)."""
    return int(await session.scalar(select(func.max(Alert.change_seq))) or 0)


async def count_alerts(session: AsyncSession, filters: AlertFilters) -> Total:
    """How many alerts the filters select in all pages (exact, or estimated when many)."""
    return await total_of(session, filtered(select(Alert), filters))


async def get_alert(
    session: AsyncSession, alert_id: uuid.UUID, *, for_update: bool = False
) -> Alert | None:
    statement = select(Alert).where(Alert.id == alert_id)
    if for_update:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def occurrences_of(session: AsyncSession, alert_id: uuid.UUID) -> Sequence[AlertOccurrence]:
    statement = (
        select(AlertOccurrence)
        .where(AlertOccurrence.alert_id == alert_id)
        .order_by(AlertOccurrence.occurred_at, AlertOccurrence.id)
    )
    return (await session.execute(statement)).scalars().all()


async def timeline_of(session: AsyncSession, alert_id: uuid.UUID) -> Sequence[AlertTimelineEntry]:
    statement = (
        select(AlertTimelineEntry)
        .where(AlertTimelineEntry.alert_id == alert_id)
        .order_by(AlertTimelineEntry.at, AlertTimelineEntry.id)
    )
    return (await session.execute(statement)).scalars().all()
