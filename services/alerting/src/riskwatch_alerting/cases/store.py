"""All SQL of cases, suppressions and notify's deliveries. Functions only flush; the caller
owns the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import and_, func, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_alerting.domain.cases import CaseDraft, OpenCase
from riskwatch_alerting.domain.suppression import ActiveSuppression
from riskwatch_alerting.models import (
    Alert,
    AlertDelivery,
    AlertTimelineEntry,
    Case,
    CaseTimelineEntry,
    CustomerDirectoryEntry,
    Suppression,
)
from riskwatch_alerting.repository import bump_cache_version, sla_state_of
from riskwatch_shared.db.base import table_of
from riskwatch_shared.db.session import transaction_connection
from riskwatch_shared.db.totals import Total, total_of

SUPPRESSIONS_CACHE = "suppressions"


# --- cases written by the event path --------------------------------------------------------


async def load_open_cases(session: AsyncSession, keys: Iterable[str]) -> dict[str, OpenCase]:
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    rows = await (await transaction_connection(session)).fetch(
        "SELECT group_key, id, priority, sla_due_at FROM cases "
        "WHERE group_key = ANY($1::text[]) AND status <> 'closed'",
        wanted,
    )
    return {row[0]: OpenCase(uuid.UUID(int=row[1].int), row[2], row[3]) for row in rows}


async def write_drafts(session: AsyncSession, drafts: Sequence[CaseDraft], now: datetime) -> None:
    """New cases inserted, joined ones bumped, the alerts linked, a timeline entry each."""
    new = [d for d in drafts if d.is_new]
    if new:
        await session.execute(
            pg_insert(table_of(Case)).values(
                [
                    {
                        "id": d.case_id,
                        "group_key": d.group_key,
                        "customer_id": d.customer_id,
                        "customer_name": d.customer_name,
                        "relationship_manager": d.relationship_manager,
                        "status": "open",
                        "priority": d.priority,
                        "alert_count": len(d.alerts),
                        "opened_at": now,
                        "updated_at": now,
                        "sla_due_at": d.sla_due_at,
                    }
                    for d in new
                ]
            )
        )
    for d in drafts:
        if not d.is_new:
            await session.execute(
                update(Case)
                .where(Case.id == d.case_id)
                .values(
                    priority=d.priority,
                    sla_due_at=d.sla_due_at,
                    updated_at=now,
                    alert_count=Case.alert_count + len(d.alerts),
                )
            )
    links = [(a["id"], d.case_id) for d in drafts for a in d.alerts]
    await (await transaction_connection(session)).execute(
        "UPDATE alerts SET case_id = links.c FROM unnest($1::uuid[], $2::uuid[]) AS links(a, c) "
        "WHERE alerts.id = links.a",
        [a for a, _ in links],
        [c for _, c in links],
    )
    entries = []
    for d in drafts:
        for index, alert in enumerate(d.alerts):
            opened = d.is_new and index == 0
            entries.append(
                {
                    "case_id": d.case_id,
                    "at": now,
                    "actor": "system",
                    "change": "opened" if opened else "alert_added",
                    "detail": {
                        "alert_id": str(alert["id"]),
                        "title": alert.get("title"),
                        "severity": alert["severity"],
                        "priority": d.priority,
                    },
                }
            )
    session.add_all(CaseTimelineEntry(**entry) for entry in entries)
    await session.flush()


# --- cases read and changed through the API -------------------------------------------------


@dataclass(frozen=True)
class CaseFilters:
    status: str | None = None
    priority: str | None = None
    customer_id: uuid.UUID | None = None
    assignee: str | None = None
    opened_from: datetime | None = None
    opened_to: datetime | None = None
    owner: str | None = None  # a relationship manager's own customers only


def case_owned_by(owner: str) -> Any:
    """SQL: the case's customer is `owner`'s (the directory now, else as recorded)."""
    entry = CustomerDirectoryEntry
    # An uncorrelated `IN`, hashed once per query (as `repository.alert_owned_by`).
    theirs = select(entry.customer_id).where(entry.relationship_manager == owner)
    listed = select(entry.customer_id).where(entry.customer_id == Case.customer_id)
    return or_(
        Case.customer_id.in_(theirs),
        and_(Case.relationship_manager == owner, ~listed.exists()),
    )


def _filtered(statement: Any, filters: CaseFilters) -> Any:
    conditions = []
    if filters.owner is not None:
        conditions.append(case_owned_by(filters.owner))
    for column, value in (
        (Case.status, filters.status),
        (Case.priority, filters.priority),
        (Case.customer_id, filters.customer_id),
        (Case.assignee, filters.assignee),
    ):
        if value is not None:
            conditions.append(column == value)
    if filters.opened_from is not None:
        conditions.append(Case.opened_at >= filters.opened_from)
    if filters.opened_to is not None:
        conditions.append(Case.opened_at < filters.opened_to)
    return statement.where(and_(*conditions)) if conditions else statement


async def list_cases(
    session: AsyncSession,
    filters: CaseFilters,
    *,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[Case]:
    """Newest first; `before` is the (opened_at, id) of the previous page's last row."""
    statement = _filtered(select(Case), filters)
    if before is not None:
        statement = statement.where(tuple_(Case.opened_at, Case.id) < tuple_(*before))
    statement = statement.order_by(Case.opened_at.desc(), Case.id.desc()).limit(limit)
    return cast(Sequence[Case], (await session.execute(statement)).scalars().all())


async def count_open_cases_by_sla(
    session: AsyncSession, *, assignees: Sequence[str], owner: str | None, now: datetime
) -> dict[str, int]:
    """How many open cases of these assignees wear each SLA badge at `now`."""
    state = sla_state_of(now, started=Case.opened_at, due=Case.sla_due_at, closed=Case.closed_at)
    statement = _filtered(
        select(state, func.count())
        .where(Case.status != "closed", Case.assignee.in_(assignees))
        .group_by(state),
        CaseFilters(owner=owner),
    )
    return {str(key): int(count) for key, count in (await session.execute(statement)).all()}


async def count_cases(session: AsyncSession, filters: CaseFilters) -> Total:
    """How many cases the filters select (exact up to a bound, then PostgreSQL's estimate)."""
    return await total_of(session, _filtered(select(Case), filters))


async def get_case(
    session: AsyncSession, case_id: uuid.UUID, *, for_update: bool = False
) -> Case | None:
    statement = select(Case).where(Case.id == case_id)
    if for_update:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def case_visible_to(session: AsyncSession, case_id: uuid.UUID, owner: str) -> bool:
    statement = select(Case.id).where(Case.id == case_id, case_owned_by(owner))
    return (await session.execute(statement)).first() is not None


async def other_open_case(session: AsyncSession, case: Case) -> bool:
    statement = select(Case.id).where(
        Case.group_key == case.group_key, Case.status != "closed", Case.id != case.id
    )
    return (await session.execute(statement)).first() is not None


async def alerts_of(session: AsyncSession, case_ids: Sequence[uuid.UUID]) -> Sequence[Alert]:
    if not case_ids:
        return []
    statement = select(Alert).where(Alert.case_id.in_(case_ids)).order_by(Alert.raised_at, Alert.id)
    return (await session.execute(statement)).scalars().all()


async def case_entries(session: AsyncSession, case_id: uuid.UUID) -> Sequence[CaseTimelineEntry]:
    statement = (
        select(CaseTimelineEntry)
        .where(CaseTimelineEntry.case_id == case_id)
        .order_by(CaseTimelineEntry.at, CaseTimelineEntry.id)
    )
    return (await session.execute(statement)).scalars().all()


async def alert_entries(
    session: AsyncSession, alert_ids: Sequence[uuid.UUID]
) -> Sequence[AlertTimelineEntry]:
    if not alert_ids:
        return []
    statement = (
        select(AlertTimelineEntry)
        .where(AlertTimelineEntry.alert_id.in_(alert_ids))
        .order_by(AlertTimelineEntry.at, AlertTimelineEntry.id)
    )
    return (await session.execute(statement)).scalars().all()


async def deliveries_of(
    session: AsyncSession, alert_ids: Sequence[uuid.UUID]
) -> Sequence[AlertDelivery]:
    if not alert_ids:
        return []
    statement = (
        select(AlertDelivery)
        .where(AlertDelivery.alert_id.in_(alert_ids))
        .order_by(AlertDelivery.at, AlertDelivery.id)
    )
    return (await session.execute(statement)).scalars().all()


# --- notify's deliveries --------------------------------------------------------------------


async def record_deliveries(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """rows: event_id, alert_id, at, change, detail; a redelivered event is stored once."""
    if rows:
        statement = pg_insert(table_of(AlertDelivery)).values(rows)
        await session.execute(statement.on_conflict_do_nothing(index_elements=["event_id"]))


# --- suppressions ---------------------------------------------------------------------------


async def active_suppressions(session: AsyncSession, now: datetime) -> list[ActiveSuppression]:
    statement = select(
        Suppression.rule_id, Suppression.target_kind, Suppression.target_value, Suppression.until
    ).where(Suppression.lifted_at.is_(None), Suppression.until > now)
    return [ActiveSuppression(*row) for row in (await session.execute(statement)).all()]


async def suppressions_version(session: AsyncSession) -> int:
    db = await transaction_connection(session)
    value = await db.fetchval("SELECT version FROM cache_versions WHERE name = $1", "suppressions")
    return int(value or 0)


async def add_suppression(session: AsyncSession, suppression: Suppression) -> None:
    session.add(suppression)
    await bump_cache_version(session, SUPPRESSIONS_CACHE)
    await session.flush()


async def get_suppression(session: AsyncSession, suppression_id: uuid.UUID) -> Suppression | None:
    return await session.get(Suppression, suppression_id, with_for_update=True)


async def lifted(session: AsyncSession) -> None:
    await bump_cache_version(session, SUPPRESSIONS_CACHE)
    await session.flush()


async def suppressions_of_rule(session: AsyncSession, rule_id: uuid.UUID) -> Sequence[Suppression]:
    statement = (
        select(Suppression)
        .where(Suppression.rule_id == rule_id)
        .order_by(Suppression.created_at.desc(), Suppression.id)
    )
    return (await session.execute(statement)).scalars().all()


async def suppressions_of_case(session: AsyncSession, case: Case) -> Sequence[Suppression]:
    """Those created on the case, and any on the case's customer."""
    condition = Suppression.case_id == case.id
    if case.customer_id is not None:
        condition = or_(condition, Suppression.customer_id == case.customer_id)
    statement = select(Suppression).where(condition).order_by(Suppression.created_at)
    return (await session.execute(statement)).scalars().all()
