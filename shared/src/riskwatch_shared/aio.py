"""Waiting with a timeout that never swallows a cancel.

On Python 3.11 `asyncio.wait_for` returns normally when the task is cancelled in the same loop
iteration as the awaited thing completes: the cancel is lost, and a `stop()` that cancels the
task and waits for it waits forever. `asyncio.timeout` does not have that race.
"""

from __future__ import annotations

import asyncio


async def wait_event(event: asyncio.Event, timeout: float | None) -> bool:
    """Wait until `event` is set or `timeout` seconds pass (None: no limit); True if it was set."""
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        return event.is_set()
    return True
