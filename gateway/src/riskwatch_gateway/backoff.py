"""Sign-in back-off (pure): wrong passwords make the next attempt wait, exponentially, instead
of locking the account. A success resets; a quiet spell forgets."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Failures:
    count: int
    next_allowed_at: float
    last_failed_at: float


class Backoff:
    """Per key (an account, a client, an account from a client): after `free_failures`
    consecutive failures each attempt must wait `base_seconds * 2**(n - free_failures)`, at
    most `max_seconds`. Failures older than `forget_after_seconds` no longer count."""

    def __init__(
        self,
        *,
        free_failures: int,
        base_seconds: float,
        max_seconds: float,
        forget_after_seconds: float | None = None,
        capacity: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free_failures = free_failures
        self.base_seconds = base_seconds
        self.max_seconds = max_seconds
        self.forget_after_seconds = forget_after_seconds or max(max_seconds * 2, 60.0)
        self.capacity = capacity
        self.clock = clock
        self._failures: dict[str, Failures] = {}

    def wait(self, key: str) -> float:
        """Seconds until `key` may try again (0.0: now)."""
        entry = self._current(key)
        return 0.0 if entry is None else max(0.0, entry.next_allowed_at - self.clock())

    def failed(self, key: str) -> None:
        now = self.clock()
        entry = self._current(key)
        count = 1 if entry is None else entry.count + 1
        excess = count - self.free_failures
        delay = 0.0 if excess < 0 else min(self.max_seconds, self.base_seconds * 2.0**excess)
        if len(self._failures) >= self.capacity:
            self._forget_old(now)
        self._failures[key] = Failures(count, now + delay, now)

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)

    def _current(self, key: str) -> Failures | None:
        entry = self._failures.get(key)
        if entry is not None and self.clock() - entry.last_failed_at > self.forget_after_seconds:
            del self._failures[key]
            return None
        return entry

    def _forget_old(self, now: float) -> None:
        cutoff = now - self.forget_after_seconds
        for key in [k for k, e in self._failures.items() if e.last_failed_at < cutoff]:
            del self._failures[key]
        if len(self._failures) >= self.capacity:  # a flood of distinct keys: start afresh
            self._failures.clear()
