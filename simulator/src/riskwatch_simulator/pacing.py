"""Sending at a chosen rate, and a plain progress bar on stderr."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from typing import TextIO

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class Pacer:
    """Item k may leave at start + k / rate; `take(n)` waits until n more may leave."""

    def __init__(
        self, rate: float | None, *, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.rate = rate if rate and rate > 0 else None
        self._clock = clock
        self._sleep = sleep
        self._start: float | None = None
        self.sent = 0

    async def take(self, count: int) -> None:
        if self._start is None:
            self._start = self._clock()
        if self.rate is not None:
            due = self._start + self.sent / self.rate
            wait = due - self._clock()
            if wait > 0:
                await self._sleep(wait)
        self.sent += count


def _bar(fraction: float, width: int = 28) -> str:
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "#" * filled + "." * (width - filled)


class Progress:
    """`[#####.....]  42% 12,345/29,000 transactions  1,980/s  eta 8s`, redrawn in place on a
    terminal, one line every `every` seconds otherwise (logs stay readable)."""

    def __init__(
        self,
        total: int,
        what: str,
        *,
        stream: TextIO | None = None,
        clock: Clock = time.monotonic,
        every: float = 5.0,
    ) -> None:
        self.total = max(total, 1)
        self.what = what
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty()
        self._clock = clock
        self._every = 0.2 if self.tty else every
        self._started = clock()
        self._last_drawn = -1e9
        self.done = 0

    def line(self) -> str:
        elapsed = max(self._clock() - self._started, 1e-9)
        rate = self.done / elapsed
        remaining = (self.total - self.done) / rate if rate > 0 else float("inf")
        eta = f"{remaining:,.0f}s" if remaining != float("inf") else "?"
        return (
            f"[{_bar(self.done / self.total)}] {self.done / self.total:4.0%} "
            f"{self.done:,}/{self.total:,} {self.what}  {rate:,.0f}/s  eta {eta}"
        )

    def advance(self, count: int) -> None:
        self.done = min(self.total, self.done + count)
        now = self._clock()
        if now - self._last_drawn >= self._every or self.done == self.total:
            self._last_drawn = now
            self._draw()

    def _draw(self) -> None:
        if self.tty:
            self.stream.write("\r" + self.line())
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()

    def close(self) -> None:
        self._draw()
        if self.tty:
            self.stream.write("\n")
        self.stream.flush()
