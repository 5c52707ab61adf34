"""Reliability under faults: a real PostgreSQL outage (the consumer's connections go through a
proxy that cuts and refuses them) must never dead-letter good events; poison still is; a
pipelined batch cancelled before it ran releases its keys; a stuck loop fails liveness."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import nats.errors
import nats.js.errors
import pytest
import sqlalchemy.exc
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from riskwatch_shared.db.session import create_engine, create_session_factory
from riskwatch_shared.messaging import consumer as consumer_module
from riskwatch_shared.messaging.bus import MessageBus
from riskwatch_shared.messaging.consumer import (
    ConsumerRunner,
    ConsumerSpec,
    PerEvent,
    customer_key,
)
from riskwatch_shared.messaging.deadletters import DeadLetterNotFound, DeadLetters
from riskwatch_shared.messaging.faults import is_transient
from riskwatch_shared.testing import wait_until
from riskwatch_shared.testing.fixtures import Infra

from .conftest import HANDLED, TEST_STREAM, Pinged
from .faultproxy import FaultProxy
from .test_messaging import CustomerPinged, _equals, handled_count, recording_handler


@pytest.fixture
async def proxy(messaging_db: str) -> AsyncIterator[FaultProxy]:
    proxy = FaultProxy(messaging_db)
    await proxy.start()
    yield proxy
    await proxy.stop()


@pytest.fixture
async def proxied_sessions(
    proxy: FaultProxy, engine: AsyncEngine
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions whose connections go through the proxy (`engine` truncated the tables)."""
    proxied = create_engine(proxy.url)
    yield create_session_factory(proxied)
    await proxied.dispose()


def _runner(
    bus: MessageBus, sessions: async_sessionmaker[AsyncSession], **overrides: Any
) -> ConsumerRunner:
    durable = f"faults-{uuid.uuid4().hex[:6]}"
    settings: dict[str, Any] = {
        "durable": durable,
        "stream": TEST_STREAM.name,
        "subjects": ["rwtest.>"],
        "handling": PerEvent().on(Pinged, recording_handler(durable)),
        "fetch_timeout": 0.2,
        "batch_linger": 0.0,
        "max_deliver": 2,
        "backoff_base": 0.05,
    }
    return ConsumerRunner(
        ConsumerSpec(**{**settings, **overrides}), bus=bus, session_factory=sessions
    )


async def _publish(bus: MessageBus, events: list[Any]) -> None:
    for event in events:
        await bus.js.publish(
            event.type, event.to_json_bytes(), headers={"Nats-Msg-Id": str(event.id)}
        )


async def _true(value: bool) -> bool:
    return value


async def test_a_database_outage_dead_letters_nothing_and_each_event_is_handled_once(
    engine: AsyncEngine,
    proxy: FaultProxy,
    proxied_sessions: async_sessionmaker[AsyncSession],
    bus: MessageBus,
) -> None:
    runner = _runner(bus, proxied_sessions, batch_size=2)
    await runner.start()
    try:
        await wait_until(lambda: _true(runner.healthy), message="runner up")
        await proxy.down()
        events = [Pinged(n=i) for i in range(6)]
        await _publish(bus, events)
        # Far more failed tries than max_deliver (2) while PostgreSQL is away; the old runner
        # nak'd each and dead-lettered the events after the second delivery.
        await wait_until(lambda: _true(runner.stats.failed_probes >= 6), message="long outage")
        assert runner.paused
        assert not runner.healthy
        assert runner.live
        # Paused: only the held batch was fetched, nothing was redelivered.
        info = await bus.js.consumer_info(TEST_STREAM.name, runner.name)
        assert (info.num_ack_pending, info.num_redelivered) == (2, 0)
        assert info.config.max_deliver == -1
        await proxy.up()
        await wait_until(lambda: _equals(handled_count(engine), 6), message="all handled")
        await wait_until(lambda: _true(runner.healthy), message="resumed")
    finally:
        await runner.stop()
    assert runner.stats.dead_lettered == 0
    assert runner.stats.failed == 0
    assert runner.stats.handled == 6
    assert runner.stats.pauses >= 1


async def test_poison_is_still_dead_lettered_with_its_reason_while_the_database_is_fine(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession], bus: MessageBus
) -> None:
    async def buggy(event: Pinged, session: AsyncSession) -> None:
        if event.n == 13:
            raise KeyError("a handler bug that repeats")
        await session.execute(insert(HANDLED).values(event_id=event.id, consumer="x", n=event.n))

    runner = _runner(bus, session_factory, handling=PerEvent().on(Pinged, buggy), max_deliver=3)
    await _publish(bus, [Pinged(n=12), Pinged(n=13), Pinged(n=14)])
    await runner.start()
    try:
        await wait_until(lambda: _true(runner.stats.dead_lettered == 1), timeout=15)
        await wait_until(lambda: _equals(handled_count(engine), 2))
    finally:
        await runner.stop()
    assert runner.stats.failed == 3
    assert runner.stats.transient == 0
    dead = await bus.js.get_last_msg("DEADLETTER", f"dlq.{runner.name}.rwtest.pinged.v1")
    assert dead.headers is not None
    assert "KeyError" in dead.headers["RiskWatch-Dead-Letter-Reason"]
    assert dead.headers["RiskWatch-Dead-Letter-Consumer"] == runner.name


async def test_a_pipelined_batch_cancelled_before_it_ran_releases_its_keys(
    session_factory: async_sessionmaker[AsyncSession], bus: MessageBus
) -> None:
    customer = uuid.uuid4()
    await _publish(bus, [CustomerPinged(customer_id=customer, n=i) for i in range(2)])
    runner = _runner(
        bus,
        session_factory,
        handling=PerEvent().on(CustomerPinged, recording_handler("x")),
        pipeline_depth=2,
        pipeline_by=customer_key,
    )
    await runner.ensure_consumer()
    sub = await bus.js.pull_subscribe_bind(runner.name, stream=TEST_STREAM.name)
    try:
        msgs = await sub.fetch(2, timeout=5)
        # Two batches of one customer handed to tasks, cancelled before either first ran (what a
        # NATS reconnect did): the second waits on the first's done-event.
        await runner._start_pipelined(msgs[:1])
        await runner._start_pipelined(msgs[1:])
        first, second = runner._in_flight
        assert second.earlier == (first.done,)
        await runner._stop_batches()
        # The old runner left both in flight with `done` unset: every later batch of this
        # customer waited on them forever.
        assert runner._in_flight == []
        assert first.done.is_set()
        assert second.done.is_set()
        # And the messages were handed back at once (not after ack_wait): delivered again.
        again = await sub.fetch(2, timeout=5)
        assert sorted(m.metadata.sequence.stream for m in again) == sorted(
            m.metadata.sequence.stream for m in msgs
        )
    finally:
        await sub.unsubscribe()


async def test_a_stuck_batch_fails_liveness_but_waiting_for_the_database_does_not(
    proxy: FaultProxy, proxied_sessions: async_sessionmaker[AsyncSession], bus: MessageBus
) -> None:
    never = asyncio.Event()

    async def stuck(event: Pinged, session: AsyncSession) -> None:
        await never.wait()

    runner = _runner(
        bus, proxied_sessions, handling=PerEvent().on(Pinged, stuck), liveness_bound=1.0
    )
    await runner.start()
    try:
        await wait_until(lambda: _true(runner.healthy), message="runner up")
        # Waiting on an unavailable database for longer than the bound: alive.
        await proxy.down()
        await _publish(bus, [Pinged(n=1)])
        await wait_until(lambda: _true(runner.paused), message="paused")
        await wait_until(lambda: _true(runner.stats.failed_probes >= 5), timeout=15)
        assert runner.live
        # The database is back but the handler never returns: stuck, liveness fails.
        await proxy.up()
        await wait_until(lambda: _true(not runner.paused), message="resumed")
        await wait_until(lambda: _true(not runner.live), timeout=10, message="liveness fails")
    finally:
        never.set()
        await runner.stop()


async def test_what_counts_as_transient() -> None:
    assert is_transient(ConnectionResetError())
    assert is_transient(asyncpg.exceptions.CannotConnectNowError("starting up"))
    assert is_transient(asyncpg.exceptions.SerializationError("could not serialize"))
    assert is_transient(asyncpg.exceptions.LockNotAvailableError("lock timeout"))
    assert is_transient(asyncpg.exceptions.QueryCanceledError("statement timeout"))
    wrapped = sqlalchemy.exc.DBAPIError("SELECT 1", {}, ConnectionRefusedError(), False)
    assert is_transient(wrapped)
    assert is_transient(nats.js.errors.ServiceUnavailableError())
    assert is_transient(nats.errors.ConnectionClosedError())
    assert not is_transient(asyncpg.exceptions.UniqueViolationError("duplicate key"))
    assert not is_transient(ValueError("cannot parse"))
    assert not is_transient(KeyError("bug"))


async def test_a_dead_letter_re_driven_inside_the_duplicate_window_reaches_its_consumer_once(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession], bus: MessageBus
) -> None:
    broken = True

    async def flaky(event: Pinged, session: AsyncSession) -> None:
        if broken and event.n == 13:
            raise KeyError("a bug, fixed before the re-drive")
        await session.execute(insert(HANDLED).values(event_id=event.id, consumer="x", n=event.n))

    runner = _runner(bus, session_factory, handling=PerEvent().on(Pinged, flaky))
    bystander = _runner(bus, session_factory, handling=PerEvent().on(Pinged, _ignore))
    poison = Pinged(n=13)
    # Published with Nats-Msg-Id = event id, as the outbox relay does: a re-publish with the
    # same id inside the stream's 2-minute duplicate window would be dropped by JetStream.
    await _publish(bus, [poison])
    await runner.start()
    await bystander.start()
    try:
        await wait_until(lambda: _true(runner.stats.dead_lettered == 1), timeout=15)
        await wait_until(lambda: _true(bystander.stats.handled == 1))
        letters = DeadLetters(bus, [runner.name])
        [letter] = await letters.find()
        assert letter.event_id == str(poison.id)
        assert letter.consumer == runner.name
        assert "KeyError" in letter.reason
        assert (await letters.get(letter.sequence)).payload["n"] == 13
        broken = False
        record = await letters.redrive(letter.sequence, actor="admin-1")
        await wait_until(lambda: _equals(handled_count(engine), 1), message="re-driven")
        assert record["event_id"] == str(poison.id)
        assert record["actor"] == "admin-1"
        assert await letters.find() == []  # worked off the list
        with pytest.raises(DeadLetterNotFound):
            await letters.redrive(letter.sequence, actor="admin-1")
        assert [r["dead_letter_sequence"] for r in await letters.audit(runner.name)] == [
            letter.sequence
        ]
        # A second delivery of the same event id (published again by hand) is dropped by the
        # inbox: re-driving is idempotent.
        await bus.js.publish(
            poison.type,
            poison.to_json_bytes(),
            headers={"Nats-Msg-Id": "again", "RiskWatch-Redrive-For": runner.name},
        )
        await wait_until(lambda: _true(runner.stats.duplicates == 1))
    finally:
        await runner.stop()
        await bystander.stop()
    assert runner.stats.handled == 1
    # The other consumer of the subject never saw the re-drives (meant for the first one).
    assert (bystander.stats.handled, bystander.stats.duplicates) == (1, 0)


async def _ignore(event: Pinged, session: AsyncSession) -> None:
    return None


async def test_the_cli_lists_and_re_drives_dead_letters(
    infra: Infra, session_factory: async_sessionmaker[AsyncSession], bus: MessageBus
) -> None:
    async def always_fails(event: Pinged, session: AsyncSession) -> None:
        raise KeyError("poison")

    runner = _runner(bus, session_factory, handling=PerEvent().on(Pinged, always_fails))
    await _publish(bus, [Pinged(n=1)])
    await runner.start()
    try:
        await wait_until(lambda: _true(runner.stats.dead_lettered == 1), timeout=15)
    finally:
        await runner.stop()
    [letter] = await DeadLetters(bus, [runner.name]).find()
    base = [sys.executable, "-m", "riskwatch_simulator.cli", "dead-letters"]
    base += ["--nats-url", infra.nats_url]
    listed = await asyncio.to_thread(
        subprocess.run, [*base, "list", "--consumer", runner.name], capture_output=True, check=True
    )
    assert _json_lines(listed.stdout)[0]["sequence"] == letter.sequence
    redriven = await asyncio.to_thread(
        subprocess.run, [*base, "redrive", str(letter.sequence)], capture_output=True, check=True
    )
    assert _json_lines(redriven.stdout)[0]["actor"].startswith("cli:")
    assert await DeadLetters(bus, [runner.name]).find() == []


def _json_lines(output: bytes) -> list[dict[str, Any]]:
    """The command's JSON records (its log lines are not JSON)."""
    return [json.loads(line) for line in output.splitlines() if line.startswith(b"{")]


async def test_a_transient_error_that_repeats_while_the_database_answers_is_poison(
    session_factory: async_sessionmaker[AsyncSession],
    bus: MessageBus,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(consumer_module, "TRANSIENT_RETRIES_WHILE_UP", 2)

    async def times_out(event: Pinged, session: AsyncSession) -> None:
        # What a statement the event itself makes too slow raises, every time.
        raise asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout")

    runner = _runner(bus, session_factory, handling=PerEvent().on(Pinged, times_out))
    await _publish(bus, [Pinged(n=1)])
    await runner.start()
    try:
        await wait_until(lambda: _true(runner.stats.dead_lettered == 1), timeout=20)
    finally:
        await runner.stop()
    assert runner.stats.failed_probes == 0  # the database answered all along
