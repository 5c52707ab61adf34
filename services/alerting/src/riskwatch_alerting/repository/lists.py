"""SQL of managed lists and their entries. Functions only flush; the caller owns the
transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import (
    delete,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_alerting.models import (
    ListEntry,
    ManagedList,
)
from riskwatch_shared.db.base import table_of
from riskwatch_shared.db.totals import Total, total_of


async def list_lists(session: AsyncSession) -> Sequence[tuple[ManagedList, int]]:
    counts = (
        select(ListEntry.list_id, func.count().label("n")).group_by(ListEntry.list_id).subquery()
    )
    statement = (
        select(ManagedList, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.list_id == ManagedList.id)
        .order_by(ManagedList.name)
    )
    return [(row[0], int(row[1])) for row in (await session.execute(statement)).all()]


async def get_list(session: AsyncSession, list_id: uuid.UUID) -> ManagedList | None:
    return await session.get(ManagedList, list_id)


async def get_list_by_name(session: AsyncSession, name: str) -> ManagedList | None:
    statement = select(ManagedList).where(ManagedList.name == name)
    return (await session.execute(statement)).scalar_one_or_none()


async def count_entries(session: AsyncSession, list_id: uuid.UUID) -> int:
    statement = select(func.count()).select_from(ListEntry).where(ListEntry.list_id == list_id)
    return int(await session.scalar(statement) or 0)


async def list_entries(
    session: AsyncSession, list_id: uuid.UUID, *, after: str | None, limit: int
) -> Sequence[ListEntry]:
    statement = select(ListEntry).where(ListEntry.list_id == list_id)
    if after is not None:
        statement = statement.where(ListEntry.value > after)
    statement = statement.order_by(ListEntry.value).limit(limit)
    return (await session.execute(statement)).scalars().all()


async def upsert_entries(
    session: AsyncSession, list_id: uuid.UUID, entries: Sequence[tuple[str, str | None]], actor: str
) -> None:
    if not entries:
        return
    rows = [
        {"list_id": list_id, "value": value, "note": note, "added_by": actor}
        for value, note in entries
    ]
    statement = pg_insert(table_of(ListEntry))
    statement = statement.on_conflict_do_update(
        index_elements=[ListEntry.list_id, ListEntry.value],
        set_={"note": statement.excluded.note},
    )
    await session.execute(statement, rows)


async def delete_entries(
    session: AsyncSession, list_id: uuid.UUID, values: Sequence[str] | None = None
) -> int:
    statement = delete(ListEntry).where(ListEntry.list_id == list_id)
    if values is not None:
        statement = statement.where(ListEntry.value.in_(values))
    result = await session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)


async def all_list_values(session: AsyncSession) -> dict[str, frozenset[str]]:
    statement = select(ManagedList.name, ListEntry.value).outerjoin(
        ListEntry, ListEntry.list_id == ManagedList.id
    )
    values: dict[str, set[str]] = {}
    for name, value in (await session.execute(statement)).all():
        entries = values.setdefault(name, set())
        if value is not None:
            entries.add(value)
    return {name: frozenset(entries) for name, entries in values.items()}


async def total_entries(session: AsyncSession, list_id: uuid.UUID) -> Total:
    return await total_of(session, select(ListEntry).where(ListEntry.list_id == list_id))
