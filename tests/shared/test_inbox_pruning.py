"""The inbox pruner: rows past the retention go, the rest stay, replicas never collide, and the
running service's loop prunes on its own."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from riskwatch_shared.events.streams import ALL_STREAMS, DEADLETTER_STREAM
from riskwatch_shared.messaging.inbox import InboxPruner, prune_once
from riskwatch_shared.settings import DEFAULT_INBOX_RETENTION, ServiceSettings

DAY = timedelta(days=1)


async def add_rows(engine: AsyncEngine, count: int, age: timedelta, consumer: str = "c1") -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO inbox (consumer, event_id, processed_at) "
                "SELECT :consumer, unnest(CAST(:ids AS uuid[])), now() - CAST(:age AS interval)"
            ),
            {"consumer": consumer, "ids": [uuid.uuid4() for _ in range(count)], "age": age},
        )


async def ages_left(engine: AsyncEngine) -> list[int]:
    """Whole days of age of every row left, oldest first."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT extract(day FROM now() - processed_at)::int FROM inbox "
                "ORDER BY processed_at"
            )
        )
        return [int(row[0]) for row in rows]


def test_default_retention_outlives_every_consumed_stream() -> None:
    consumed = [s.max_age_seconds for s in ALL_STREAMS if s is not DEADLETTER_STREAM]
    assert max(consumed) < DEFAULT_INBOX_RETENTION
    assert ServiceSettings().inbox_retention_seconds == DEFAULT_INBOX_RETENTION


async def test_rows_past_the_retention_go_in_chunks_and_the_rest_stay(engine: AsyncEngine) -> None:
    await add_rows(engine, 7, 40 * DAY)
    await add_rows(engine, 3, 32 * DAY, consumer="c2")
    await add_rows(engine, 4, 29 * DAY)
    await add_rows(engine, 5, timedelta(0))

    deleted = await prune_once(
        engine, retention_seconds=DEFAULT_INBOX_RETENTION, chunk_size=3, service="t"
    )

    assert deleted == 10
    assert await ages_left(engine) == [29] * 4 + [0] * 5
    assert await prune_once(engine, retention_seconds=DEFAULT_INBOX_RETENTION) == 0


async def test_two_replicas_pruning_at_once_delete_each_row_once(engine: AsyncEngine) -> None:
    await add_rows(engine, 2_000, 40 * DAY)
    await add_rows(engine, 10, DAY)

    results = await asyncio.gather(
        *(prune_once(engine, retention_seconds=2 * 86_400, chunk_size=100) for _ in range(3))
    )

    # A replica that finds the round taken returns; whoever holds it goes on to the end.
    assert sum(results) == 2_000
    assert await ages_left(engine) == [1] * 10


async def test_a_redelivered_event_whose_row_was_pruned_is_claimed_again(
    engine: AsyncEngine,
) -> None:
    """What the retention guards against: past it, the inbox no longer knows the event."""
    event_id = uuid.uuid4()
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO inbox (consumer, event_id, processed_at) "
                "VALUES ('c1', :id, now() - interval '40 days')"
            ),
            {"id": event_id},
        )
    await prune_once(engine, retention_seconds=DEFAULT_INBOX_RETENTION)
    async with engine.begin() as conn:
        claimed = await conn.execute(
            text(
                "INSERT INTO inbox (consumer, event_id) VALUES ('c1', :id) "
                "ON CONFLICT DO NOTHING RETURNING event_id"
            ),
            {"id": event_id},
        )
        assert claimed.scalar_one() == event_id


async def test_the_pruner_loop_prunes_from_its_start(engine: AsyncEngine) -> None:
    await add_rows(engine, 5, 40 * DAY)
    await add_rows(engine, 2, timedelta(0))
    pruner = InboxPruner(service="t", engine=engine, interval_seconds=3600)
    await pruner.start()
    try:
        await asyncio.wait_for(pruner.round_finished.wait(), timeout=10)
    finally:
        await pruner.stop()
    assert await ages_left(engine) == [0, 0]
