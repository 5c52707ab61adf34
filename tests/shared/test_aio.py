"""wait_event: a timeout that keeps the caller's cancel (3.11's wait_for can lose it)."""

from __future__ import annotations

import asyncio

import pytest

from riskwatch_shared.aio import wait_event


async def test_a_set_event_returns_true_and_a_timeout_false() -> None:
    event = asyncio.Event()
    assert await wait_event(event, 0.01) is False
    event.set()
    assert await wait_event(event, 0.01) is True
    assert await wait_event(event, None) is True


async def test_a_cancel_landing_as_the_event_fires_is_not_lost() -> None:
    event = asyncio.Event()
    waiting = asyncio.create_task(wait_event(event, 10))
    await asyncio.sleep(0)  # the task is now waiting on the event
    # Both in one loop iteration: the consumer stopping just as a message wakes it.
    event.set()
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
