"""The outbox and the consumer runner against real PostgreSQL and real JetStream."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal

import msgspec
import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from riskwatch_shared.events.base import Event, register
from riskwatch_shared.messaging.bus import MessageBus
from riskwatch_shared.messaging.consumer import (
    Batched,
    ConsumerRunner,
    ConsumerSpec,
    PerEvent,
    customer_key,
    lock_keys,
)
from riskwatch_shared.messaging.outbox import add_events
from riskwatch_shared.messaging.relay import OutboxRelay
from riskwatch_shared.settings import to_asyncpg_dsn
from riskwatch_shared.testing import wait_until
from riskwatch_shared.testing.fixtures import Infra

from .conftest import HANDLED, TEST_STREAM, Pinged


def make_relay(engine: AsyncEngine, bus: MessageBus) -> OutboxRelay:
    return OutboxRelay(
        service="rwtest",
        engine=engine,
        bus=bus,
        listen_dsn=to_asyncpg_dsn(engine.url.render_as_string(hide_password=False)),
        poll_interval=0.2,
    )


def recording_handler(consumer: str) -> Callable[[Any, AsyncSession], Awaitable[None]]:
    async def handle(event: Pinged, session: AsyncSession) -> None:
        # The primary key makes a second handling of the same event fail loudly.
        await session.execute(
            insert(HANDLED).values(event_id=event.id, consumer=consumer, n=event.n)
        )

    return handle


def make_runner(
    bus: MessageBus,
    session_factory: async_sessionmaker[AsyncSession],
    durable: str,
    handler: Callable[[Any, AsyncSession], Awaitable[None]] | None = None,
    **overrides: Any,
) -> ConsumerRunner:
    spec = ConsumerSpec(
        durable=durable,
        stream=TEST_STREAM.name,
        subjects=["rwtest.>"],
        handling=PerEvent().on(Pinged, handler or recording_handler(durable)),
        fetch_timeout=0.2,
        **overrides,
    )
    return ConsumerRunner(spec, bus=bus, session_factory=session_factory)


async def stream_count(bus: MessageBus, subject: str = "rwtest.>") -> int:
    info = await bus.js.stream_info(TEST_STREAM.name, subjects_filter=subject)
    return sum((info.state.subjects or {}).values())


async def handled_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(HANDLED)) or 0)


async def test_rolled_back_event_is_never_published(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession], bus: MessageBus
) -> None:
    relay = make_relay(engine, bus)
    await relay.start()
    try:
        async with session_factory() as session:
            await add_events(session, Pinged(n=1))
            await session.rollback()
        committed = Pinged(n=2)
        async with session_factory() as session:
            await add_events(session, committed)
            await session.commit()
        await wait_until(lambda: stream_count(bus), message="committed event published")
        msg = await bus.js.get_last_msg(TEST_STREAM.name, "rwtest.pinged.v1")
        assert msgspec.json.decode(msg.data or b"", type=Pinged).n == 2
        assert await stream_count(bus) == 1
    finally:
        await relay.stop()


async def test_outbox_rows_belong_to_the_callers_transaction(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    kept, dropped = [Pinged(n=1), Pinged(n=2)], Pinged(n=3)
    async with session_factory() as session:
        await session.execute(insert(HANDLED).values(event_id=dropped.id, consumer="x", n=3))
        await add_events(session, dropped)
        await session.rollback()
    async with session_factory() as session:
        await add_events(session, *kept)
        await session.execute(insert(HANDLED).values(event_id=kept[0].id, consumer="x", n=1))
        await session.commit()
    async with engine.connect() as conn:
        rows = (
            await conn.execute(text("SELECT id, subject, payload FROM outbox ORDER BY seq"))
        ).all()
    assert [(row.id, row.subject, bytes(row.payload)) for row in rows] == [
        (e.id, e.type, e.to_json_bytes()) for e in kept
    ]
    assert await handled_count(engine) == 1


async def test_event_committed_before_a_crash_is_published_after_restart(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession], bus: MessageBus
) -> None:
    # Committed while no relay runs (the process died between commit and publish).
    async with session_factory() as session:
        await add_events(session, *[Pinged(n=i) for i in range(3)])
        await session.commit()
    assert await stream_count(bus) == 0
    relay = make_relay(engine, bus)  # the restarted process
    await relay.start()
    try:
        await wait_until(lambda: _equals(stream_count(bus), 3), message="3 published")
        # The relay deletes the rows in the transaction it commits once JetStream acked them.
        await wait_until(lambda: _equals(outbox_count(engine), 0), message="deleted as sent")
        assert await stream_count(bus) == 3
    finally:
        await relay.stop()


async def test_republished_outbox_rows_are_deduplicated_by_jetstream(
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    bus: MessageBus,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    event = Pinged(n=7)
    async with session_factory() as session:
        await add_events(session, event)
        await session.commit()
    relay = make_relay(engine, bus)
    publish_batch = bus.publish_batch

    async def publish_then_crash(*args: Any, **kwargs: Any) -> None:
        await publish_batch(*args, **kwargs)
        raise ConnectionResetError("died between the publish and the commit")

    # A crash after publishing, before the commit: the row stays and is published again.
    monkeypatch.setattr(bus, "publish_batch", publish_then_crash)
    with pytest.raises(ConnectionResetError):
        await relay.publish_pending()
    assert (await stream_count(bus), await outbox_count(engine)) == (1, 1)
    monkeypatch.undo()
    assert await relay.publish_pending() == 1
    assert (await stream_count(bus), await outbox_count(engine)) == (1, 0)


async def test_a_failed_publish_leaves_the_rows_for_the_next_round(
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    bus: MessageBus,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with session_factory() as session:
        await add_events(session, *[Pinged(n=i) for i in range(3)])
        await session.commit()

    async def unreachable(*args: Any, **kwargs: Any) -> None:
        raise TimeoutError("no JetStream ack")

    relay = make_relay(engine, bus)
    monkeypatch.setattr(bus, "publish_batch", unreachable)
    with pytest.raises(TimeoutError):
        await relay.publish_pending()
    assert await outbox_count(engine) == 3
    monkeypatch.undo()
    assert await relay.publish_pending() == 3
    assert (await stream_count(bus), await outbox_count(engine)) == (3, 0)


async def test_concurrent_relays_publish_each_row_once_in_commit_order(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession], bus: MessageBus
) -> None:
    for start in range(0, 60, 20):
        async with session_factory() as session:
            await add_events(session, *[Pinged(n=n) for n in range(start, start + 20)])
            await session.commit()
    relays = [make_relay(engine, bus) for _ in range(3)]
    for relay in relays:
        relay.batch_size = 7
    while await outbox_count(engine):
        await asyncio.gather(*(relay.publish_pending() for relay in relays))
    assert await stream_count(bus) == 60
    sub = await bus.js.pull_subscribe("rwtest.>", stream=TEST_STREAM.name)
    msgs = await sub.fetch(60, timeout=5)
    assert [msgspec.json.decode(m.data, type=Pinged).n for m in msgs] == list(range(60))
    await sub.unsubscribe()


async def test_relays_without_the_advisory_lock_never_claim_one_row_twice(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession], bus: MessageBus
) -> None:
    """Other lock keys, so nothing serialises them: SKIP LOCKED alone keeps claims apart."""
    async with session_factory() as session:
        await add_events(session, *[Pinged(n=n) for n in range(90)])
        await session.commit()
    relays = [make_relay(engine, bus) for _ in range(3)]
    for key, relay in enumerate(relays):
        relay.lock_key, relay.batch_size = key, 5
    published = 0
    while await outbox_count(engine):
        published += sum(await asyncio.gather(*(relay.publish_pending() for relay in relays)))
    assert (published, await stream_count(bus)) == (90, 90)


async def outbox_count(engine: AsyncEngine) -> int:
    """Rows still in the outbox: those not published yet."""
    async with engine.connect() as conn:
        return int(await conn.scalar(text("SELECT count(*) FROM outbox")) or 0)


async def _equals(value: Awaitable[int], expected: int) -> bool:
    return await value == expected


async def test_event_redelivered_five_times_is_handled_once(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession], bus: MessageBus
) -> None:
    event = Pinged(n=5)
    for attempt in range(5):
        # Distinct Nats-Msg-Ids get past JetStream's dedup: five real deliveries of one event.
        await bus.js.publish(
            event.type, event.to_json_bytes(), headers={"Nats-Msg-Id": f"{event.id}-{attempt}"}
        )
    runner = make_runner(bus, session_factory, f"once-{uuid.uuid4().hex[:6]}", batch_size=2)
    await runner.start()
    try:
        await wait_until(lambda: _stat(runner, "duplicates", 4), message="4 duplicates skipped")
        assert runner.stats.handled == 1
        assert await handled_count(engine) == 1
    finally:
        await runner.stop()


async def _stat(runner: ConsumerRunner, name: str, expected: int) -> bool:
    return bool(getattr(runner.stats, name) >= expected)


async def test_failing_handler_ends_in_dead_letter_after_max_deliver(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession], bus: MessageBus
) -> None:
    attempts: list[int] = []

    async def always_fails(event: Pinged, session: AsyncSession) -> None:
        attempts.append(event.n)
        raise RuntimeError("downstream is broken")

    durable = f"dlq-{uuid.uuid4().hex[:6]}"
    runner = make_runner(
        bus, session_factory, durable, handler=always_fails, max_deliver=3, backoff_base=0.05
    )
    good = make_runner(bus, session_factory, f"good-{uuid.uuid4().hex[:6]}")
    bad_event = Pinged(n=99)
    await bus.js.publish(bad_event.type, bad_event.to_json_bytes())
    await bus.js.publish("rwtest.pinged.v1", b"{not json")
    await runner.start()
    await good.start()
    try:
        await wait_until(lambda: _stat(runner, "dead_lettered", 2), timeout=15)
        # Three tries of the failing event (batch + alone on the first delivery), then the DLQ.
        assert runner.stats.failed == 3
        dead = await bus.js.get_last_msg("DEADLETTER", f"dlq.{durable}.rwtest.pinged.v1")
        assert dead.headers is not None
        assert "downstream is broken" in dead.headers["RiskWatch-Dead-Letter-Reason"]
        assert msgspec.json.decode(dead.data or b"", type=Pinged).id == bad_event.id
        # The other consumer handled the good message; the unparseable one went to its DLQ too.
        await wait_until(lambda: _stat(good, "handled", 1))
        await wait_until(lambda: _stat(good, "dead_lettered", 1))
    finally:
        await runner.stop()
        await good.stop()


async def test_consumer_keeps_working_after_nats_restart(
    infra: Infra,
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    bus: MessageBus,
) -> None:
    if infra.nats is None:
        pytest.fail("this test restarts the embedded NATS server; unset NATS_URL to run it")
    runner = make_runner(bus, session_factory, f"restart-{uuid.uuid4().hex[:6]}")
    relay = make_relay(engine, bus)
    await runner.start()
    await relay.start()
    try:
        async with session_factory() as session:
            await add_events(session, Pinged(n=1))
            await session.commit()
        await wait_until(lambda: _stat(runner, "handled", 1))
        await asyncio.to_thread(infra.nats.restart)
        async with session_factory() as session:
            await add_events(session, Pinged(n=2))
            await session.commit()
        await wait_until(lambda: _stat(runner, "handled", 2), timeout=30)
        await wait_until(lambda: _healthy(runner), timeout=15)
        assert await handled_count(engine) == 2
    finally:
        await relay.stop()
        await runner.stop()


async def _healthy(runner: ConsumerRunner) -> bool:
    return runner.healthy


async def test_two_replicas_share_the_work_and_handle_each_event_once(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession], bus: MessageBus
) -> None:
    durable = f"shared-{uuid.uuid4().hex[:6]}"
    replicas = [make_runner(bus, session_factory, durable, batch_size=20) for _ in range(2)]
    relays = [make_relay(engine, bus) for _ in range(2)]  # every replica runs a relay too
    parts: list[ConsumerRunner | OutboxRelay] = [*replicas, *relays]
    for part in parts:
        await part.start()
    try:
        for chunk in range(10):
            async with session_factory() as session:
                await add_events(session, *[Pinged(n=chunk * 50 + i) for i in range(50)])
                await session.commit()
        await wait_until(lambda: _equals(handled_count(engine), 500), timeout=30)
        assert await stream_count(bus) == 500
        assert sum(r.stats.handled for r in replicas) == 500
        assert all(r.stats.handled > 0 for r in replicas), [r.stats for r in replicas]
        async with engine.connect() as conn:
            numbers = (await conn.execute(select(HANDLED.c.n))).scalars().all()
        assert sorted(numbers) == list(range(500))
    finally:
        for part in parts:
            await part.stop()


async def test_batch_handler_gets_each_claimed_event_once_in_one_call(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession], bus: MessageBus
) -> None:
    events = [Pinged(n=i) for i in range(6)]
    for event in [*events, events[0]]:  # the first one twice: a redelivery
        await bus.js.publish(
            event.type, event.to_json_bytes(), headers={"Nats-Msg-Id": uuid.uuid4().hex}
        )
    calls: list[list[int]] = []

    async def handle_batch(batch: Sequence[Pinged], session: AsyncSession) -> None:
        calls.append([event.n for event in batch])
        rows = [{"event_id": e.id, "consumer": "batch", "n": e.n} for e in batch]
        await session.execute(insert(HANDLED), rows)

    durable = f"batch-{uuid.uuid4().hex[:6]}"
    spec = ConsumerSpec(
        durable=durable,
        stream=TEST_STREAM.name,
        subjects=["rwtest.>"],
        handling=Batched((Pinged,), handle_batch),
        batch_size=50,
        fetch_timeout=0.2,
    )
    runner = ConsumerRunner(spec, bus=bus, session_factory=session_factory)
    await runner.start()
    try:
        await wait_until(lambda: _equals(handled_count(engine), 6), message="6 events handled")
        await wait_until(lambda: _stat(runner, "duplicates", 1), message="1 duplicate skipped")
        assert sorted(n for call in calls for n in call) == list(range(6))
        assert all(call == sorted(call) for call in calls)  # stream order within a batch
        assert runner.stats.handled == 6
    finally:
        await runner.stop()


@register
class CustomerPinged(Event, frozen=True, kw_only=True):
    type: Literal["rwtest.customer_pinged.v1"] = "rwtest.customer_pinged.v1"
    source: str = "tests"
    customer_id: uuid.UUID
    n: int = 0


async def test_replicas_never_handle_one_customer_at_the_same_time(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession], bus: MessageBus
) -> None:
    customers = [uuid.uuid4() for _ in range(4)]
    active: dict[uuid.UUID, int] = dict.fromkeys(customers, 0)
    overlaps: list[uuid.UUID] = []

    async def handle_batch(batch: Sequence[CustomerPinged], session: AsyncSession) -> None:
        mine = {event.customer_id for event in batch}
        for customer in mine:
            active[customer] += 1
            if active[customer] > 1:
                overlaps.append(customer)
        try:
            await session.execute(text("SELECT pg_sleep(0.02)"))  # slow per-customer work
            rows = [{"event_id": e.id, "consumer": "lock", "n": e.n} for e in batch]
            await session.execute(insert(HANDLED), rows)
        finally:
            for customer in mine:
                active[customer] -= 1

    durable = f"locks-{uuid.uuid4().hex[:6]}"
    spec = ConsumerSpec(
        durable=durable,
        stream=TEST_STREAM.name,
        subjects=["rwtest.>"],
        handling=Batched((CustomerPinged,), handle_batch),
        batch_size=3,
        fetch_timeout=0.2,
        serialize_by=customer_key,
    )
    replicas = [ConsumerRunner(spec, bus=bus, session_factory=session_factory) for _ in range(3)]
    for replica in replicas:
        await replica.start()
    try:
        async with session_factory() as session:
            pings = [CustomerPinged(customer_id=customers[i % 4], n=i) for i in range(60)]
            await add_events(session, *pings)
            await session.commit()
        relay = make_relay(engine, bus)
        await relay.start()
        await wait_until(lambda: _equals(handled_count(engine), 60), timeout=30)
        await relay.stop()
        assert overlaps == []
        assert sum(1 for r in replicas if r.stats.handled > 0) >= 2, [r.stats for r in replicas]
    finally:
        for replica in replicas:
            await replica.stop()


def test_lock_keys_are_stable_sorted_and_skip_events_without_a_customer() -> None:
    customer = uuid.uuid4()
    events: list[Event] = [CustomerPinged(customer_id=customer), Pinged(n=1)]
    keys = lock_keys([*events, CustomerPinged(customer_id=customer)], customer_key)
    assert len(keys) == 1
    assert keys == lock_keys(events, customer_key)
    many = lock_keys([CustomerPinged(customer_id=uuid.uuid4()) for _ in range(50)], customer_key)
    assert many == sorted(many)
    assert len(set(many)) == 50
    assert all(-(2**63) <= key < 2**63 for key in many)
