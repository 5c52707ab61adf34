"""The consumer's batch linger: a fetch its first messages do not fill waits a little for more
(until the batch is full or the linger has passed since the first arrival), never on an idle
stream, and what it collected is handed back when the consumer stops."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence

import msgspec
import pytest
from nats.aio.msg import Msg
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from riskwatch_shared.messaging.bus import MessageBus
from riskwatch_shared.messaging.consumer import Batched, ConsumerRunner, ConsumerSpec
from riskwatch_shared.settings import DEFAULT_BATCH_LINGER, ServiceSettings
from riskwatch_shared.testing import wait_until

from .conftest import TEST_STREAM, Pinged
from .test_bus_fast_paths import _ack_pending, _durable, _fetcher, _pull_request_open, outgoing
from .test_messaging import _equals, handled_count, recording_handler


def numbers(msgs: list[Msg]) -> list[int]:
    return [msgspec.json.decode(m.data, type=Pinged).n for m in msgs]


async def publish_spaced(bus: MessageBus, first: int, count: int, gap: float) -> None:
    """The input under test, not a wait: messages that arrive `gap` apart."""
    for n in range(first, first + count):
        await asyncio.sleep(gap)
        await bus.publish_batch(outgoing(Pinged(n=n)))


async def test_a_batch_fills_across_deliveries_within_the_linger(bus: MessageBus) -> None:
    durable = await _durable(bus)
    fetcher = await _fetcher(bus, durable)
    try:
        waiting = asyncio.create_task(fetcher.fetch(6, timeout=20, linger=10))
        await _pull_request_open(bus, durable)
        await bus.publish_batch(outgoing(Pinged(n=0)))
        await publish_spaced(bus, 1, 5, gap=0.05)
        published = time.monotonic()
        msgs = await asyncio.wait_for(waiting, timeout=15)
        # All six in one batch, returned once it was full: long before the 10 s linger.
        assert numbers(msgs) == list(range(6))
        assert time.monotonic() - published < 3
        for msg in msgs:
            await msg.ack()
    finally:
        await fetcher.stop()


async def test_lingering_goes_on_after_the_stored_messages_are_taken(bus: MessageBus) -> None:
    # The no_wait request takes what is stored and is over; lingering opens a waiting one.
    await bus.publish_batch(outgoing(*(Pinged(n=n) for n in range(3))))
    durable = await _durable(bus)
    fetcher = await _fetcher(bus, durable)
    try:
        waiting = asyncio.create_task(fetcher.fetch(6, timeout=20, linger=10))
        await _pull_request_open(bus, durable)
        await publish_spaced(bus, 3, 3, gap=0.05)
        msgs = await asyncio.wait_for(waiting, timeout=5)
        assert numbers(msgs) == list(range(6))
        assert [m.metadata.num_delivered for m in msgs] == [1] * 6
    finally:
        await fetcher.stop()


async def test_a_full_first_delivery_is_returned_without_lingering(bus: MessageBus) -> None:
    await bus.publish_batch(outgoing(*(Pinged(n=n) for n in range(8))))
    fetcher = await _fetcher(bus, await _durable(bus))
    try:
        started = time.monotonic()
        first = await fetcher.fetch(5, timeout=20, linger=10)
        assert numbers(first) == list(range(5))
        assert time.monotonic() - started < 3
    finally:
        await fetcher.stop()


async def test_a_lone_message_is_returned_once_the_linger_has_passed(bus: MessageBus) -> None:
    durable = await _durable(bus)
    fetcher = await _fetcher(bus, durable)
    try:
        waiting = asyncio.create_task(fetcher.fetch(100, timeout=20, linger=0.4))
        await _pull_request_open(bus, durable)
        published = time.monotonic()
        await bus.publish_batch(outgoing(Pinged(n=1)))
        msgs = await asyncio.wait_for(waiting, timeout=10)
        waited = time.monotonic() - published
        assert numbers(msgs) == [1]
        # It waited for company for about the linger, not for the 20 s timeout.
        assert 0.3 < waited < 2.0
    finally:
        await fetcher.stop()


async def test_an_idle_stream_times_out_without_lingering_or_spinning(bus: MessageBus) -> None:
    durable = await _durable(bus)
    fetcher = await _fetcher(bus, durable)
    assert bus.nc is not None
    requests: list[bytes] = []

    async def count(msg: Msg) -> None:
        requests.append(msg.data)

    # The pull requests the fetcher sends, as the server sees them.
    spy = await bus.nc.subscribe(
        f"$JS.API.CONSUMER.MSG.NEXT.{TEST_STREAM.name}.{durable}", cb=count
    )
    try:
        cpu, started = time.process_time(), time.monotonic()
        for _ in range(3):
            with pytest.raises(TimeoutError):
                await fetcher.fetch(10, timeout=0.4, linger=0.1)
        elapsed = time.monotonic() - started
        cpu = time.process_time() - cpu
        # Each fetch waits out its request (which the server expires 50 ms before the
        # timeout), not a linger...
        assert 3 * 0.3 < elapsed < 3
        await bus.nc.flush()
        # ...after at most one no_wait probe: no request per linger, no busy loop.
        assert len(requests) <= 6
        assert cpu < elapsed / 2
    finally:
        await spy.unsubscribe()
        await fetcher.stop()


async def test_what_a_cancelled_linger_collected_is_handed_back_on_stop(bus: MessageBus) -> None:
    durable = await _durable(bus)
    fetcher = await _fetcher(bus, durable)
    waiting = asyncio.create_task(fetcher.fetch(10, timeout=20, linger=10))
    await _pull_request_open(bus, durable)
    await bus.publish_batch(outgoing(Pinged(n=1), Pinged(n=2)))
    await wait_until(lambda: _ack_pending(bus, durable, 2), message="both delivered")
    waiting.cancel()  # the consumer stopping mid-linger
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await fetcher.stop()
    replacement = await _fetcher(bus, durable)
    try:
        started = time.monotonic()
        # The two redeliveries may come in one fetch or, on a busy machine, in two.
        again = await replacement.fetch(10, timeout=5)
        if len(again) < 2:
            again += await replacement.fetch(10, timeout=5)
        # Nak'd by stop(): redelivered at once, not after ack_wait (30 s).
        assert sorted(numbers(again)) == [1, 2]
        assert all(m.metadata.num_delivered == 2 for m in again)
        assert time.monotonic() - started < 10
    finally:
        await replacement.stop()


def linger_runner(
    bus: MessageBus,
    session_factory: async_sessionmaker[AsyncSession],
    sizes: list[int],
    batch_linger: float | None = None,
) -> ConsumerRunner:
    durable = f"linger-{uuid.uuid4().hex[:6]}"
    record = recording_handler(durable)

    async def handle_batch(events: Sequence[Pinged], session: AsyncSession) -> None:
        sizes.append(len(events))
        for event in events:
            await record(event, session)

    spec = ConsumerSpec(
        durable=durable,
        stream=TEST_STREAM.name,
        subjects=["rwtest.>"],
        handling=Batched((Pinged,), handle_batch),
        batch_size=10,
        fetch_timeout=5.0,
        batch_linger=batch_linger,
    )
    return ConsumerRunner(spec, bus=bus, session_factory=session_factory)


@pytest.mark.parametrize(("linger", "one_batch"), [(3.0, True), (0.0, False)])
async def test_the_runner_handles_a_spread_out_burst_in_one_batch_when_lingering(
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    bus: MessageBus,
    linger: float,
    one_batch: bool,
) -> None:
    sizes: list[int] = []
    runner = linger_runner(bus, session_factory, sizes, batch_linger=linger)
    await runner.start()
    try:
        await _runner_waiting(bus, runner)
        await publish_spaced(bus, 0, 10, gap=0.08)
        await wait_until(lambda: _equals(handled_count(engine), 10), timeout=10)
        assert sum(sizes) == 10
        assert (sizes == [10]) is one_batch
    finally:
        await runner.stop()


async def _runner_waiting(bus: MessageBus, runner: ConsumerRunner) -> None:
    """Until the runner has bound its durable and its pull request waits on the server."""

    async def healthy() -> bool:
        return runner.healthy

    await wait_until(healthy, message="the runner is bound")
    await _pull_request_open(bus, runner.name)


async def test_the_runner_handles_a_lone_event_within_about_its_linger(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession], bus: MessageBus
) -> None:
    sizes: list[int] = []
    runner = linger_runner(bus, session_factory, sizes, batch_linger=0.3)
    await runner.start()
    try:
        await _runner_waiting(bus, runner)
        published = time.monotonic()
        await bus.publish_batch(outgoing(Pinged(n=7)))
        await wait_until(lambda: _equals(handled_count(engine), 1), timeout=10, interval=0.01)
        assert time.monotonic() - published < 0.3 + 1.0
        assert sizes == [1]
    finally:
        await runner.stop()


def test_the_linger_comes_from_the_spec_or_else_the_runner_default(bus: MessageBus) -> None:
    sizes: list[int] = []
    factory = async_sessionmaker[AsyncSession]()
    assert linger_runner(bus, factory, sizes).batch_linger == DEFAULT_BATCH_LINGER
    assert linger_runner(bus, factory, sizes, batch_linger=0.0).batch_linger == 0.0
    spec = linger_runner(bus, factory, sizes).spec
    runner = ConsumerRunner(spec, bus=bus, session_factory=factory, default_batch_linger=0.05)
    assert runner.batch_linger == 0.05
    # Lingering deliveries are not in progress yet: a linger near ack_wait is refused.
    with pytest.raises(ValueError, match="ack_wait"):
        linger_runner(bus, factory, sizes, batch_linger=20.0)
    with pytest.raises(ValueError, match=">= 0"):
        linger_runner(bus, factory, sizes, batch_linger=-0.1)


def test_services_set_their_linger_through_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ServiceSettings().consumer_batch_linger == DEFAULT_BATCH_LINGER
    monkeypatch.setenv("CONSUMER_BATCH_LINGER", "0.05")
    assert ServiceSettings().consumer_batch_linger == 0.05
    monkeypatch.setenv("CONSUMER_BATCH_LINGER", "-1")
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        ServiceSettings()
