"""Writing events to the transactional outbox: same transaction as the change they describe."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import msgspec
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_shared.db.base import outbox_table
from riskwatch_shared.db.session import transaction_connection
from riskwatch_shared.events.base import Event
from riskwatch_shared.logging import trace_id_var
from riskwatch_shared.tracing import traceparent_for

OUTBOX_CHANNEL = "riskwatch_outbox"
OUTBOX = outbox_table(MetaData())
# All of a transaction's events and the relay's wake-up in one statement (one round trip),
# the columns as four arrays (encoded by asyncpg in C): no per-row parameter processing, one
# prepared statement for any count. A data-modifying CTE runs whether or not it is read.
_INSERT = (
    "WITH staged AS (INSERT INTO outbox (id, subject, payload, traceparent) "
    "SELECT * FROM unnest($1::uuid[], $2::text[], $3::bytea[], $4::text[])) "
    f"SELECT pg_notify('{OUTBOX_CHANNEL}', '')"
)


OutboxRow = tuple[uuid.UUID, str, bytes, str | None]
"""(event id, subject, encoded event, W3C `traceparent` the relay sends in the headers)."""


async def add_payloads(session: AsyncSession, rows: Sequence[OutboxRow]) -> None:
    """Stage already-encoded events (id, subject, payload, traceparent) in the caller's
    transaction, in order (their `seq` is the publication order); the relay publishes them
    after commit. `riskwatch_shared.tracing.traceparent_for(event's trace id)` gives the last.

    NOTIFY is transactional too: the relay is woken at commit, never for a rolled-back change.
    """
    if not rows:
        return
    db = await transaction_connection(session)
    ids, subjects, payloads, traceparents = zip(*rows, strict=True)
    await db.execute(_INSERT, list(ids), list(subjects), list(payloads), list(traceparents))


async def add_events(session: AsyncSession, *events: Event) -> None:
    """Stage events in the caller's transaction (`add_payloads`), each stamped with the
    request's trace id when it has none, and stored with the `traceparent` of that trace."""
    trace_id = trace_id_var.get()
    staged = [
        msgspec.structs.replace(e, trace_id=trace_id) if trace_id and e.trace_id is None else e
        for e in events
    ]
    await add_payloads(
        session,
        [(e.id, e.type, e.to_json_bytes(), traceparent_for(e.trace_id)) for e in staged],
    )
