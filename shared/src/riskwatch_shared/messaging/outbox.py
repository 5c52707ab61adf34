"""Writing events to the transactional outbox: same transaction as the change they describe."""

from __future__ import annotations

import asyncpg
from sqlalchemy import MetaData, insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_shared.db.base import outbox_table
from riskwatch_shared.events.base import Event
from riskwatch_shared.logging import trace_id_var

OUTBOX_CHANNEL = "riskwatch_outbox"
OUTBOX = outbox_table(MetaData())
_NOTIFY = text(f"SELECT pg_notify('{OUTBOX_CHANNEL}', '')")
# All of a transaction's events in one statement, its columns as three arrays (encoded by
# asyncpg in C): no per-row parameter processing, one prepared statement for any count.
_INSERT = (
    "INSERT INTO outbox (id, subject, payload) "
    "SELECT * FROM unnest($1::uuid[], $2::text[], $3::bytea[])"
)


def outbox_rows(events: list[Event]) -> list[dict[str, object]]:
    return [{"id": e.id, "subject": e.type, "payload": e.to_json_bytes()} for e in events]


async def add_events(session: AsyncSession, *events: Event) -> None:
    """Stage events in the caller's transaction; the relay publishes them after commit.

    NOTIFY is transactional too: the relay is woken at commit, never for a rolled-back change.
    """
    if not events:
        return
    trace_id = trace_id_var.get()
    staged = [
        e.model_copy(update={"trace_id": trace_id}) if trace_id and e.trace_id is None else e
        for e in events
    ]
    # The NOTIFY first: it begins the session's transaction on its connection, so the rows
    # written next through that connection's asyncpg handle are in the same transaction.
    await session.execute(_NOTIFY)
    connection = await session.connection()
    db = (await connection.get_raw_connection()).driver_connection
    if not isinstance(db, asyncpg.Connection):  # another driver: the portable statement
        await session.execute(insert(OUTBOX), outbox_rows(staged))
        return
    await db.execute(
        _INSERT,
        [e.id for e in staged],
        [e.type for e in staged],
        [e.to_json_bytes() for e in staged],
    )
