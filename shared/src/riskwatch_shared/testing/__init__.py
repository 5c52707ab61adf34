"""Test kit: embedded servers once per session, condition waits, service app harness."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def wait_until(
    condition: Callable[[], Awaitable[T]], *, timeout: float = 10.0, interval: float = 0.02,
    message: str = "condition",
) -> T:
    """Poll an async condition until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = await condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{message} not met within {timeout}s (last value: {value!r})")
        await asyncio.sleep(interval)
