"""Writing events to the transactional outbox: same transaction as the change they describe."""

from __future__ import annotations

from sqlalchemy import MetaData, insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_shared.db.base import outbox_table
from riskwatch_shared.events.base import Event
from riskwatch_shared.logging import trace_id_var

OUTBOX_CHANNEL = "riskwatch_outbox"
OUTBOX = outbox_table(MetaData())
_NOTIFY = text(f"SELECT pg_notify('{OUTBOX_CHANNEL}', '')")


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
    await session.execute(insert(OUTBOX), outbox_rows(staged))
    await session.execute(_NOTIFY)
