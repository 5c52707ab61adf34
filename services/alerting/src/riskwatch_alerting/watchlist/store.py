"""All SQL of the watch list. Functions only flush; the caller owns the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_alerting.models import CustomerDirectoryEntry, WatchlistEntry, WatchlistReview
from riskwatch_shared.db.totals import Total, total_of


@dataclass(frozen=True)
class WatchlistFilters:
    status: str | None = None
    customer_id: uuid.UUID | None = None
    owners: tuple[str, ...] | None = None
    review_due_by: date | None = None  # active entries whose review is due on or before
    owner_scope: str | None = None  # a relationship manager's own customers only


def entry_owned_by(relationship_manager: str) -> Any:
    """SQL: the entry's customer is this RM's (the directory now, else as recorded)."""
    entry = CustomerDirectoryEntry
    # An uncorrelated `IN`, hashed once per query (as `repository.alert_owned_by`).
    theirs = select(entry.customer_id).where(entry.relationship_manager == relationship_manager)
    listed = select(entry.customer_id).where(entry.customer_id == WatchlistEntry.customer_id)
    return or_(
        WatchlistEntry.customer_id.in_(theirs),
        and_(WatchlistEntry.relationship_manager == relationship_manager, ~listed.exists()),
    )


def _filtered(statement: Any, filters: WatchlistFilters) -> Any:
    conditions = []
    if filters.owner_scope is not None:
        conditions.append(entry_owned_by(filters.owner_scope))
    if filters.status is not None:
        conditions.append(WatchlistEntry.status == filters.status)
    if filters.customer_id is not None:
        conditions.append(WatchlistEntry.customer_id == filters.customer_id)
    if filters.owners is not None:
        conditions.append(WatchlistEntry.owner.in_(filters.owners))
    if filters.review_due_by is not None:
        conditions.append(WatchlistEntry.status == "active")
        conditions.append(WatchlistEntry.review_due <= filters.review_due_by)
    return statement.where(and_(*conditions)) if conditions else statement


async def list_entries(
    session: AsyncSession,
    filters: WatchlistFilters,
    *,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[WatchlistEntry]:
    """Newest first; `before` is the (entered_at, id) of the previous page's last row."""
    statement = _filtered(select(WatchlistEntry), filters)
    if before is not None:
        statement = statement.where(
            tuple_(WatchlistEntry.entered_at, WatchlistEntry.id) < tuple_(*before)
        )
    statement = statement.order_by(
        WatchlistEntry.entered_at.desc(), WatchlistEntry.id.desc()
    ).limit(limit)
    return list((await session.execute(statement)).scalars().all())


async def count_entries(session: AsyncSession, filters: WatchlistFilters) -> Total:
    return await total_of(session, _filtered(select(WatchlistEntry), filters))


async def count_due(session: AsyncSession, filters: WatchlistFilters) -> int:
    statement = _filtered(select(func.count()).select_from(WatchlistEntry), filters)
    return int(await session.scalar(statement) or 0)


async def get_entry(
    session: AsyncSession, entry_id: uuid.UUID, *, for_update: bool = False
) -> WatchlistEntry | None:
    statement = select(WatchlistEntry).where(WatchlistEntry.id == entry_id)
    if for_update:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def entry_visible_to(session: AsyncSession, entry_id: uuid.UUID, owner: str) -> bool:
    statement = select(WatchlistEntry.id).where(
        WatchlistEntry.id == entry_id, entry_owned_by(owner)
    )
    return (await session.execute(statement)).first() is not None


async def active_entry_of(session: AsyncSession, customer_id: uuid.UUID) -> WatchlistEntry | None:
    statement = select(WatchlistEntry).where(
        WatchlistEntry.customer_id == customer_id, WatchlistEntry.status == "active"
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def reviews_of(session: AsyncSession, entry_id: uuid.UUID) -> Sequence[WatchlistReview]:
    statement = (
        select(WatchlistReview)
        .where(WatchlistReview.entry_id == entry_id)
        .order_by(WatchlistReview.at, WatchlistReview.id)
    )
    return list((await session.execute(statement)).scalars().all())


async def directory_entry(
    session: AsyncSession, customer_id: uuid.UUID
) -> CustomerDirectoryEntry | None:
    return await session.get(CustomerDirectoryEntry, customer_id)


async def reviews_due_unannounced(
    session: AsyncSession, today: date, limit: int
) -> Sequence[WatchlistEntry]:
    """Active entries due on or before `today` whose current review date was not announced
    (locked, skipping those another replica is announcing)."""
    statement = (
        select(WatchlistEntry)
        .where(
            WatchlistEntry.status == "active",
            WatchlistEntry.review_due <= today,
            or_(
                WatchlistEntry.review_due_notified.is_(None),
                WatchlistEntry.review_due_notified != WatchlistEntry.review_due,
            ),
        )
        .order_by(WatchlistEntry.review_due, WatchlistEntry.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(statement)).scalars().all())
