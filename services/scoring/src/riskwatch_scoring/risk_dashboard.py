"""SQL of the customers-by-risk dashboard: how many customers hold each level per model kind
and segment (the `customer_risk_current` rollup), and this week's top risers (their current
score against their last one before the week, both kept by the rollup; "this week" is the
current UTC week, from Monday); the customer directory the customer events fill (name,
segment). Reads only, except `record_directory` (the consumer's)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_scoring.models import CUSTOMER_OWNERS, CustomerDirectoryRow, CustomerRiskCurrent
from riskwatch_shared.db.base import table_of
from riskwatch_shared.events.base import Event
from riskwatch_shared.events.customer import CustomerCreated, CustomerUpdated

NO_SEGMENT = ""


def directory_rows(events: Iterable[Event]) -> list[dict[str, Any]]:
    """The newest name and segment of each customer the events speak of (pure)."""
    newest: dict[uuid.UUID, dict[str, Any]] = {}
    for event in events:
        if not isinstance(event, CustomerCreated | CustomerUpdated):
            continue
        seen = newest.get(event.customer_id)
        if seen is None or seen["as_of"] <= event.occurred_at:
            newest[event.customer_id] = {
                "customer_id": event.customer_id,
                "name": (event.customer.name or "")[:300] or None,
                "segment": (event.customer.segment or "")[:80] or None,
                "as_of": event.occurred_at,
            }
    return list(newest.values())


async def record_directory(session: AsyncSession, events: Iterable[Event]) -> None:
    rows = directory_rows(events)
    if not rows:
        return
    table = table_of(CustomerDirectoryRow)
    statement = pg_insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.customer_id],
        set_={
            "name": statement.excluded.name,
            "segment": statement.excluded.segment,
            "as_of": statement.excluded.as_of,
        },
        where=table.c.as_of <= statement.excluded.as_of,
    )
    await session.execute(statement, rows)


def _owned(owner: str | None) -> Any:
    """SQL: the customer is `owner`'s (an RM's own), or anyone's when `owner` is None."""
    if owner is None:
        return None
    owners = CUSTOMER_OWNERS
    theirs = select(owners.c.customer_id).where(owners.c.relationship_manager == owner)
    return CustomerRiskCurrent.customer_id.in_(theirs)


async def level_counts(session: AsyncSession, owner: str | None) -> list[tuple[str, str, str, int]]:
    """(kind, level, segment, customers) of every current level."""
    current, directory = CustomerRiskCurrent, CustomerDirectoryRow
    segment = func.coalesce(directory.segment, NO_SEGMENT)
    statement = (
        select(current.kind, current.level, segment, func.count())
        .outerjoin(directory, directory.customer_id == current.customer_id)
        .group_by(current.kind, current.level, segment)
    )
    owned = _owned(owner)
    if owned is not None:
        statement = statement.where(owned)
    rows = (await session.execute(statement)).all()
    return [(str(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in rows]


class Riser(NamedTuple):
    customer_id: uuid.UUID
    name: str | None
    segment: str | None
    score_before: float
    level_before: str
    score: float
    level: str
    assessed_at: datetime


# The customers whose current score (assessed this UTC week) is above their last score before
# the week began, as the rollup keeps both: one scan of the kind's rows of this week.
RISERS = text(
    """
    SELECT c.customer_id, d.name, d.segment, c.week_score, c.week_level, c.score, c.level,
           c.assessed_at
    FROM customer_risk_current c
    LEFT JOIN customer_directory d ON d.customer_id = c.customer_id
    WHERE c.kind = :kind AND c.week_of = :week AND c.score > c.week_score
      AND (CAST(:owner AS text) IS NULL OR c.customer_id IN (
          SELECT o.customer_id FROM customer_owners o WHERE o.relationship_manager = :owner))
    ORDER BY c.score - c.week_score DESC, c.customer_id
    LIMIT :limit
    """
)


def week_of(moment: datetime) -> date:
    """The Monday (UTC) of the ISO week `moment` falls in."""
    day = moment.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


async def top_risers(
    session: AsyncSession, *, kind: str, week: date, owner: str | None, limit: int
) -> list[Riser]:
    result = await session.execute(
        RISERS, {"kind": kind, "week": week, "owner": owner, "limit": limit}
    )
    return [
        Riser(r[0], r[1], r[2], float(r[3]), str(r[4]), float(r[5]), str(r[6]), r[7])
        for r in result.all()
    ]
