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


class _WatchedEvent(asyncio.Event):
    """An event that says when somebody has started waiting on it."""

    def __init__(self) -> None:
        super().__init__()
        self.awaited = asyncio.Event()

    async def wait(self) -> bool:
        self.awaited.set()
        return await super().wait()


async def test_a_cancel_landing_as_the_event_fires_is_not_lost() -> None:
    event = _WatchedEvent()
    waiting = asyncio.create_task(wait_event(event, 10))
    async with asyncio.timeout(5):
        await event.awaited.wait()  # the task is now suspended in the event's wait
    # Both in one loop iteration: the consumer stopping just as a message wakes it.
    event.set()
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
