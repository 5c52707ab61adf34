"""SQL of managed lists and their entries. Functions only flush; the caller owns the
transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Select,
    delete,
    func,
    or_,
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

PRESENT_CHUNK = 5_000


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


def _entries_of(list_id: uuid.UUID, search: str | None) -> Select[Any]:
    """A list's entries; with `search`, those whose value or note contains it (any case; `%`
    and `_` in the search are literal characters)."""
    statement = select(ListEntry).where(ListEntry.list_id == list_id)
    if search:
        escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        statement = statement.where(
            or_(
                ListEntry.value.ilike(pattern, escape="\\"),
                ListEntry.note.ilike(pattern, escape="\\"),
            )
        )
    return statement


async def list_entries(
    session: AsyncSession,
    list_id: uuid.UUID,
    *,
    after: str | None,
    limit: int,
    search: str | None = None,
) -> Sequence[ListEntry]:
    statement = _entries_of(list_id, search)
    if after is not None:
        statement = statement.where(ListEntry.value > after)
    statement = statement.order_by(ListEntry.value).limit(limit)
    entries: Sequence[ListEntry] = (await session.execute(statement)).scalars().all()
    return entries


async def present_values(
    session: AsyncSession, list_id: uuid.UUID, values: Sequence[str]
) -> set[str]:
    """Which of `values` the list holds already (asked in chunks: a load may bring 100,000)."""
    present: set[str] = set()
    for start in range(0, len(values), PRESENT_CHUNK):
        chunk = values[start : start + PRESENT_CHUNK]
        statement = select(ListEntry.value).where(
            ListEntry.list_id == list_id, ListEntry.value.in_(chunk)
        )
        present.update((await session.execute(statement)).scalars().all())
    return present


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


async def total_entries(
    session: AsyncSession, list_id: uuid.UUID, *, search: str | None = None
) -> Total:
    return await total_of(session, _entries_of(list_id, search))
