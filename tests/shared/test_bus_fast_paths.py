"""The kit's own JetStream fast paths: batched publishing with counted acks, and the pull
fetcher that replaces nats-py's `fetch`."""

from __future__ import annotations

import asyncio
import time
import uuid

import msgspec
import pytest
from nats.errors import MsgAlreadyAckdError
from nats.js.api import AckPolicy, ConsumerConfig
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from riskwatch_shared.messaging.acks import ack_all
from riskwatch_shared.messaging.bus import MessageBus, PublishFailed
from riskwatch_shared.messaging.consumer import ConsumerRunner, ConsumerSpec, PerEvent
from riskwatch_shared.messaging.pull import PullConsumerGone, PullFetcher
from riskwatch_shared.testing import wait_until

from .conftest import HANDLED, TEST_STREAM, Pinged
from .test_messaging import _equals, handled_count, recording_handler, stream_count


def outgoing(*events: Pinged) -> list[tuple[str, bytes, str]]:
    return [(e.type, e.to_json_bytes(), str(e.id)) for e in events]


async def test_publish_batch_stores_every_message_once_per_message_id(bus: MessageBus) -> None:
    events = [Pinged(n=n) for n in range(250)]
    assert await bus.publish_batch(outgoing(*events)) == 250
    assert await stream_count(bus) == 250
    # A relay that crashed before marking its rows sent publishes them again: all acked as
    # duplicates, nothing stored twice.
    assert await bus.publish_batch(outgoing(*events[:100])) == 100
    assert await stream_count(bus) == 250
    last = await bus.js.get_last_msg(TEST_STREAM.name, "rwtest.pinged.v1")
    assert last.headers is not None
    assert last.headers["Nats-Msg-Id"] == str(events[-1].id)
    assert await bus.publish_batch([]) == 0


async def test_publish_batch_fails_when_no_stream_takes_a_message(bus: MessageBus) -> None:
    good, lost = Pinged(n=1), Pinged(n=2)
    batch = [*outgoing(good), ("rwnowhere.pinged.v1", lost.to_json_bytes(), str(lost.id))]
    with pytest.raises(PublishFailed, match=r"refused the message: 503"):
        await bus.publish_batch(batch, timeout=5)
    # The bus keeps working for the next batch.
    assert await bus.publish_batch(outgoing(Pinged(n=3))) == 1


async def test_the_jetstream_context_is_made_once_per_connection(bus: MessageBus) -> None:
    # Each new context would subscribe a reply inbox of its own at its first publish_async.
    assert bus.js is bus.js


async def _durable(bus: MessageBus) -> str:
    durable = f"fetch-{uuid.uuid4().hex[:6]}"
    config = ConsumerConfig(durable_name=durable, ack_policy=AckPolicy.EXPLICIT, ack_wait=30)
    await bus.js.add_consumer(TEST_STREAM.name, config)
    return durable


async def _fetcher(bus: MessageBus, durable: str) -> PullFetcher:
    assert bus.nc is not None
    fetcher = PullFetcher(bus.nc, stream=TEST_STREAM.name, durable=durable)
    await fetcher.start()
    return fetcher


async def test_fetch_takes_stored_messages_in_batches_in_stream_order(bus: MessageBus) -> None:
    events = [Pinged(n=n) for n in range(7)]
    await bus.publish_batch(outgoing(*events))
    fetcher = await _fetcher(bus, await _durable(bus))
    try:
        first = await fetcher.fetch(5, timeout=2)
        second = await fetcher.fetch(5, timeout=2)
        got = [msgspec.json.decode(m.data, type=Pinged).n for m in [*first, *second]]
        assert (len(first), len(second), got) == (5, 2, list(range(7)))
        sequences = [m.metadata.sequence.stream for m in [*first, *second]]
        assert sequences == list(range(sequences[0], sequences[0] + 7))
        for msg in [*first, *second]:
            await msg.ack()
        with pytest.raises(TimeoutError):
            await fetcher.fetch(5, timeout=0.3)
    finally:
        await fetcher.stop()


async def test_ack_all_acks_each_message_it_is_given_and_no_other(bus: MessageBus) -> None:
    await bus.publish_batch(outgoing(*(Pinged(n=n) for n in range(6))))
    durable = await _durable(bus)
    fetcher = await _fetcher(bus, durable)
    try:
        msgs = await fetcher.fetch(6, timeout=2)
        assert len(msgs) == 6
        # Not the 2nd and the 5th: an ack of a later message must not ack an earlier one.
        await ack_all([msgs[0], msgs[2], msgs[3], msgs[5]])
        await wait_until(lambda: _ack_pending(bus, durable, 2), message="two left pending")
        assert [m.is_acked for m in msgs] == [True, False, True, True, False, True]
        with pytest.raises(MsgAlreadyAckdError):
            await ack_all([msgs[1], msgs[0]])
        assert not msgs[1].is_acked  # nothing sent when one of them cannot be acked
        await ack_all([msgs[1], msgs[4]])
        await wait_until(lambda: _ack_pending(bus, durable, 0), message="all acked")
        with pytest.raises(TimeoutError):
            await fetcher.fetch(6, timeout=0.3)
    finally:
        await fetcher.stop()


async def test_fetch_returns_a_trickle_at_once_instead_of_waiting_out_the_timeout(
    bus: MessageBus,
) -> None:
    durable = await _durable(bus)
    fetcher = await _fetcher(bus, durable)
    try:
        waiting = asyncio.create_task(fetcher.fetch(100, timeout=10))
        await _pull_request_open(bus, durable)
        started = time.monotonic()
        await bus.publish_batch(outgoing(Pinged(n=1)))
        msgs = await asyncio.wait_for(waiting, timeout=5)
        assert len(msgs) == 1
        assert time.monotonic() - started < 2
        await msgs[0].ack()
        # What the still-open request delivers later comes with the next fetch.
        await bus.publish_batch(outgoing(Pinged(n=2), Pinged(n=3)))
        later = await fetcher.fetch(100, timeout=5)
        assert [msgspec.json.decode(m.data, type=Pinged).n for m in later][:1] == [2]
    finally:
        await fetcher.stop()


async def test_stopping_hands_deliveries_not_yet_fetched_back_at_once(bus: MessageBus) -> None:
    durable = await _durable(bus)
    fetcher = await _fetcher(bus, durable)
    waiting = asyncio.create_task(fetcher.fetch(10, timeout=10))
    await _pull_request_open(bus, durable)
    await bus.publish_batch(outgoing(Pinged(n=1)))
    (first,) = await asyncio.wait_for(waiting, timeout=5)
    # The open request goes on delivering: these three wait in the fetcher for its next fetch.
    await bus.publish_batch(outgoing(Pinged(n=2), Pinged(n=3), Pinged(n=4)))
    await wait_until(lambda: _ack_pending(bus, durable, 4), message="all four delivered")
    await fetcher.stop()
    replacement = await _fetcher(bus, durable)
    try:
        started = time.monotonic()
        # A fetch returns what has arrived at once: the three redeliveries may come in pieces.
        again = await replacement.fetch(10, timeout=5)
        while len(again) < 3 and time.monotonic() - started < 3:
            again += await replacement.fetch(10 - len(again), timeout=5)
        # Nak'd by stop(): redelivered at once, not after ack_wait (30 s). The one fetched
        # (and never acked) is the handler's to settle; it waits for ack_wait.
        assert sorted(msgspec.json.decode(m.data, type=Pinged).n for m in again) == [2, 3, 4]
        assert all(m.metadata.num_delivered == 2 for m in again)
        assert time.monotonic() - started < 3
        assert msgspec.json.decode(first.data, type=Pinged).n == 1
    finally:
        await replacement.stop()


async def _pull_request_open(bus: MessageBus, durable: str) -> None:
    """Until the server holds the fetcher's pull request (what a publish is delivered to)."""

    async def waiting() -> bool:
        info = await bus.js.consumer_info(TEST_STREAM.name, durable)
        return bool(info.num_waiting)

    await wait_until(waiting, message="the pull request is open")


async def _ack_pending(bus: MessageBus, durable: str, expected: int) -> bool:
    info = await bus.js.consumer_info(TEST_STREAM.name, durable)
    return bool(info.num_ack_pending == expected)


async def test_fetch_raises_when_the_durable_is_deleted(bus: MessageBus) -> None:
    durable = await _durable(bus)
    fetcher = await _fetcher(bus, durable)
    try:
        waiting = asyncio.create_task(fetcher.fetch(10, timeout=10))
        await _pull_request_open(bus, durable)
        await bus.js.delete_consumer(TEST_STREAM.name, durable)
        with pytest.raises(PullConsumerGone):
            await asyncio.wait_for(waiting, timeout=5)
    finally:
        await fetcher.stop()


async def test_runner_recreates_its_durable_after_it_is_deleted(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession], bus: MessageBus
) -> None:
    durable = f"gone-{uuid.uuid4().hex[:6]}"
    spec = ConsumerSpec(
        durable=durable,
        stream=TEST_STREAM.name,
        subjects=["rwtest.>"],
        handling=PerEvent().on(Pinged, recording_handler(durable)),
        fetch_timeout=0.3,
    )
    runner = ConsumerRunner(spec, bus=bus, session_factory=session_factory)
    await runner.start()
    try:
        await bus.publish_batch(outgoing(Pinged(n=1)))
        await wait_until(lambda: _equals(handled_count(engine), 1), message="first handled")
        await bus.js.delete_consumer(TEST_STREAM.name, durable)
        await wait_until(lambda: _resubscribed(runner), timeout=15, message="re-subscribed")
        await bus.publish_batch(outgoing(Pinged(n=2)))
        # The re-created durable delivers everything again; the inbox drops the first event.
        await wait_until(lambda: _equals(handled_count(engine), 2), timeout=15)
        async with engine.connect() as conn:
            numbers = sorted((await conn.execute(select(HANDLED.c.n))).scalars().all())
        assert numbers == [1, 2]
    finally:
        await runner.stop()


async def _resubscribed(runner: ConsumerRunner) -> bool:
    return runner.stats.resubscribes >= 1 and runner.healthy
