"""A pipelined consumer (`pipeline_depth` > 1) over real PostgreSQL and JetStream: batches
overlap, yet one key's events never run in two batches at once and keep their stream order."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from riskwatch_shared.messaging.bus import MessageBus
from riskwatch_shared.messaging.consumer import (
    Batched,
    ConsumerRunner,
    ConsumerSpec,
    PerEvent,
    customer_key,
)
from riskwatch_shared.testing import wait_until

from .conftest import HANDLED, TEST_STREAM
from .test_messaging import CustomerPinged, _equals, handled_count


class Recorder:
    """A batch handler that is slow in PostgreSQL and records who ran when."""

    def __init__(self, *, fail_first_batch_with: int | None = None) -> None:
        self.active_batches = 0
        self.most_active_batches = 0
        self.active_customers: set[uuid.UUID] = set()
        self.overlaps: list[uuid.UUID] = []
        self.order: dict[uuid.UUID, list[int]] = {}
        self.fail_first_batch_with = fail_first_batch_with
        self.failed = False

    async def handle_batch(self, batch: Sequence[CustomerPinged], session: AsyncSession) -> None:
        mine = {event.customer_id for event in batch}
        self.overlaps.extend(mine & self.active_customers)
        self.active_customers |= mine
        self.active_batches += 1
        self.most_active_batches = max(self.most_active_batches, self.active_batches)
        try:
            # The batch's slow work (input, not a wait): long enough for batches to overlap.
            await session.execute(text("SELECT pg_sleep(0.05)"))
            rows = [{"event_id": e.id, "consumer": "pipeline", "n": e.n} for e in batch]
            await session.execute(insert(HANDLED), rows)
            numbers = {event.n for event in batch}
            if self.fail_first_batch_with in numbers and len(batch) > 1 and not self.failed:
                self.failed = True
                raise RuntimeError("the batch fails once; its events are retried one by one")
            for event in batch:
                self.order.setdefault(event.customer_id, []).append(event.n)
        finally:
            self.active_batches -= 1
            self.active_customers -= mine


async def _publish(bus: MessageBus, events: list[CustomerPinged]) -> None:
    for event in events:
        await bus.js.publish(
            event.type, event.to_json_bytes(), headers={"Nats-Msg-Id": str(event.id)}
        )


def _runner(
    bus: MessageBus,
    session_factory: async_sessionmaker[AsyncSession],
    handler: Any,
    *,
    durable: str | None = None,
    **overrides: Any,
) -> ConsumerRunner:
    settings: dict[str, Any] = {"batch_size": 4, "batch_linger": 0.0, "pipeline_depth": 2}
    spec = ConsumerSpec(
        durable=durable or f"pipeline-{uuid.uuid4().hex[:6]}",
        stream=TEST_STREAM.name,
        subjects=["rwtest.>"],
        handling=Batched((CustomerPinged,), handler),
        fetch_timeout=0.2,
        pipeline_by=customer_key,
        **{**settings, **overrides},
    )
    return ConsumerRunner(spec, bus=bus, session_factory=session_factory)


async def test_pipelined_batches_overlap_but_never_share_a_customer_and_keep_its_order(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession], bus: MessageBus
) -> None:
    # Six customers, batches of four: consecutive batches share some customers, not all.
    customers = [uuid.uuid4() for _ in range(6)]
    events = [CustomerPinged(customer_id=customers[i % 6], n=i) for i in range(48)]
    await _publish(bus, events)
    recorder = Recorder()
    runner = _runner(bus, session_factory, recorder.handle_batch)
    await runner.start()
    try:
        await wait_until(lambda: _equals(handled_count(engine), 48), timeout=30)
    finally:
        await runner.stop()
    assert recorder.overlaps == []
    assert recorder.most_active_batches == 2  # the pipeline did run two batches at once
    for customer in customers:
        expected = [event.n for event in events if event.customer_id == customer]
        assert recorder.order[customer] == expected
    assert runner.stats.handled == 48


async def test_a_failed_pipelined_batch_is_retried_one_event_at_a_time_and_loses_nothing(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession], bus: MessageBus
) -> None:
    customers = [uuid.uuid4() for _ in range(6)]
    events = [CustomerPinged(customer_id=customers[i % 6], n=i) for i in range(24)]
    await _publish(bus, events)
    recorder = Recorder(fail_first_batch_with=9)
    runner = _runner(bus, session_factory, recorder.handle_batch)
    await runner.start()
    try:
        await wait_until(lambda: _equals(handled_count(engine), 24), timeout=30)
    finally:
        await runner.stop()
    assert recorder.failed
    assert recorder.overlaps == []
    assert sorted(n for numbers in recorder.order.values() for n in numbers) == list(range(24))
    assert runner.stats.handled == 24


async def _ignore(event: CustomerPinged, session: AsyncSession) -> None:
    """Handles by doing nothing: the test counts what the runner dispatched."""


def test_a_pipelined_consumer_needs_a_key() -> None:
    with pytest.raises(ValueError, match="pipeline_by"):
        ConsumerSpec(
            durable="no-key",
            stream=TEST_STREAM.name,
            subjects=["rwtest.>"],
            handling=PerEvent().on(CustomerPinged, _ignore),
            pipeline_depth=2,
        )


@pytest.mark.parametrize("depth", [1, 2])
async def test_a_consumer_stopped_mid_batch_hands_its_messages_back_at_once(
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    bus: MessageBus,
    depth: int,
) -> None:
    customers = [uuid.uuid4() for _ in range(3)]
    events = [CustomerPinged(customer_id=customers[i % 3], n=i) for i in range(6)]
    await _publish(bus, events)
    started = asyncio.Event()

    async def stuck(batch: list[Any], session: AsyncSession) -> None:
        started.set()
        await asyncio.Event().wait()  # until a deploy stops it, its inbox claims uncommitted

    # ack_wait 60 s: a redelivery that waited for it would miss the deadline below.
    durable = f"handback-{uuid.uuid4().hex[:6]}"
    options: dict[str, Any] = {"batch_size": 10, "ack_wait": 60.0, "pipeline_depth": depth}
    first = _runner(bus, session_factory, stuck, durable=durable, **options)
    await first.start()
    await asyncio.wait_for(started.wait(), timeout=10)
    await first.stop()

    recorder = Recorder()
    second = _runner(bus, session_factory, recorder.handle_batch, durable=durable, **options)
    await second.start()
    try:
        await wait_until(lambda: _equals(handled_count(engine), 6), timeout=10, message="6 handled")
    finally:
        await second.stop()
    assert sorted(n for numbers in recorder.order.values() for n in numbers) == list(range(6))
