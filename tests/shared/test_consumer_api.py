"""The consumer runner's typed API: a handler per event class, or one batch handler."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from riskwatch_shared.events.base import Event
from riskwatch_shared.messaging.bus import MessageBus
from riskwatch_shared.messaging.consumer import Batched, ConsumerRunner, ConsumerSpec, PerEvent
from riskwatch_shared.testing import wait_until

from .conftest import HANDLED, TEST_STREAM, Pinged
from .test_messaging import CustomerPinged, _equals, handled_count


async def _ignore(event: Pinged, session: AsyncSession) -> None:
    """Handles by doing nothing: the tests count what the runner dispatched."""


def test_an_event_class_gets_one_handler_only() -> None:
    with pytest.raises(ValueError, match="Pinged has two handlers"):
        PerEvent().on(Pinged, _ignore).on(Pinged, _ignore)


def test_a_batch_handler_names_the_classes_it_handles() -> None:
    async def handle(events: Sequence[Event], session: AsyncSession) -> None:
        """Only its declared classes matter here."""

    with pytest.raises(ValueError, match="event classes"):
        Batched((), handle)
    assert Batched((Pinged, CustomerPinged), handle).event_classes == {Pinged, CustomerPinged}


async def _publish(bus: MessageBus, *events: Pinged | CustomerPinged) -> None:
    for event in events:
        await bus.js.publish(
            event.type, event.to_json_bytes(), headers={"Nats-Msg-Id": str(event.id)}
        )


async def test_each_event_reaches_the_handler_of_its_class_decoded_and_others_are_only_acked(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession], bus: MessageBus
) -> None:
    seen: list[tuple[str, int]] = []

    async def on_ping(event: Pinged, session: AsyncSession) -> None:
        seen.append(("ping", event.n))
        await session.execute(insert(HANDLED).values(event_id=event.id, consumer="api", n=event.n))

    customer = uuid.uuid4()
    await _publish(bus, Pinged(n=1), CustomerPinged(customer_id=customer, n=2), Pinged(n=3))
    spec = ConsumerSpec(
        durable=f"api-{uuid.uuid4().hex[:6]}",
        stream=TEST_STREAM.name,
        subjects=["rwtest.>"],
        handling=PerEvent().on(Pinged, on_ping),
        fetch_timeout=0.2,
    )
    runner = ConsumerRunner(spec, bus=bus, session_factory=session_factory)
    await runner.start()
    try:
        await wait_until(lambda: _equals(handled_count(engine), 2), message="2 pings handled")
        await wait_until(
            lambda: _acked_all(bus, spec.durable), message="the CustomerPinged acked too"
        )
    finally:
        await runner.stop()
    assert seen == [("ping", 1), ("ping", 3)]
    # The event of a class the consumer does not handle was acked, not dead-lettered.
    assert runner.stats.dead_lettered == 0
    assert runner.stats.handled == 2


async def _acked_all(bus: MessageBus, durable: str) -> bool:
    info = await bus.js.consumer_info(TEST_STREAM.name, durable)
    return bool(info.num_ack_pending == 0 and info.num_pending == 0)
