"""Claim loops: a few identical lanes that share a queue's work (the delivery worker's and the
scheduler's), with their health and liveness."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

from riskwatch_shared.aio import wait_event
from riskwatch_shared.logging import get_logger
from riskwatch_shared.messaging.faults import is_transient

log = get_logger(__name__)

# A lane that has not cycled for this long (a send or statement hung) is stuck: liveness fails.
LIVENESS_BOUND = 120.0
# Backoff cap while the database is unavailable: a returning one is noticed within this.
RETRY_CAP = 2.0


class Lanes:
    """A few identical claim loops that share the work without all claiming at once.

    A wake-up starts one idle lane; a lane that gets a full batch brings in another, so a
    backlog spreads; only the first lane polls on the timer (retries coming due, missed
    NOTIFYs). Every other idle lane waits for a wake-up: an empty claim is a transaction.
    """

    def __init__(self, name: str, count: int, poll_seconds: float) -> None:
        self.name = name
        self.poll_seconds = poll_seconds
        self._events = [asyncio.Event() for _ in range(count)]
        self._idle: list[asyncio.Event] = []  # events of the lanes waiting for a wake-up
        # A wake-up came while no lane was idle: the first lane to finish loops again.
        self._rerun = False
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        # Shared by the lanes: the polling lane cycles every poll_seconds even when idle.
        self.last_cycle = time.monotonic()

    def wake(self, _payload: str = "") -> None:
        if not self._wake_idle():
            self._rerun = True

    def _wake_idle(self) -> bool:
        """Start an idle lane; True if some lane is now due to start a claim."""
        if any(event.is_set() for event in self._events):
            return True  # a woken lane has not started its claim yet: it will see this work
        if not self._idle:
            return False
        self._idle.pop().set()
        return True

    def start(self, once: Callable[[], Awaitable[int]], full: int) -> None:
        self._stopping = False
        self._rerun = False
        for index, event in enumerate(self._events):
            polls = index == 0
            self._tasks.append(
                asyncio.create_task(
                    self._loop(event, polls, once, full), name=f"{self.name}-{index}"
                )
            )

    async def stop(self) -> None:
        self._stopping = True
        for event in self._events:  # every lane, not one: each must see the flag
            event.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        self._idle.clear()

    @property
    def healthy(self) -> bool:
        alive = bool(self._tasks) and all(not task.done() for task in self._tasks)
        return alive and time.monotonic() - self.last_cycle < max(30.0, 10 * self.poll_seconds)

    @property
    def live(self) -> bool:
        """Liveness: every lane task runs and the lanes cycled within the bound."""
        if not self._tasks:
            return True  # not started, or stopped
        alive = all(not task.done() for task in self._tasks)
        bound = max(LIVENESS_BOUND, 3 * self.poll_seconds)
        return alive and time.monotonic() - self.last_cycle < bound

    async def _loop(
        self,
        event: asyncio.Event,
        polls: bool,
        once: Callable[[], Awaitable[int]],
        full: int,
    ) -> None:
        failures = 0
        # The flag ends the loop even if a cancellation is lost to a wake-up at the same moment.
        while not self._stopping:
            self.last_cycle = time.monotonic()
            event.clear()
            self._rerun = False  # this claim starts after every wake-up so far
            try:
                done = await once()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                log.warning(
                    f"{self.name}.failed",
                    error=repr(exc),
                    failures=failures,
                    transient=is_transient(exc),
                )
                await asyncio.sleep(min(RETRY_CAP, 0.05 * 2**failures))
                self.last_cycle = time.monotonic()  # retrying is not being stuck
                continue
            if done >= full:
                self._wake_idle()  # more is probably waiting: claim it in parallel
                continue
            if self._rerun:
                continue
            self._idle.append(event)
            try:
                await wait_event(event, self.poll_seconds if polls else None)
            finally:
                if event in self._idle:  # a timeout or a cancel, not a wake-up
                    self._idle.remove(event)
