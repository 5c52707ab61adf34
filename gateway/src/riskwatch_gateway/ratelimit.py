"""Token buckets per principal, in this process's memory (pure)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Bucket:
    tokens: float
    updated_at: float


class RateLimiter:
    """`per_minute` refills continuously; a bucket holds `burst_seconds` of it (at least 1).

    Each gateway replica keeps its own buckets: with N replicas a caller may get N x the limit.
    """

    def __init__(
        self, *, burst_seconds: float = 10.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.burst_seconds = burst_seconds
        self.clock = clock
        self._buckets: dict[str, Bucket] = {}

    def take(self, principal: str, per_minute: int) -> float:
        """Spend one token. Returns 0.0 when allowed, else the seconds until one is available."""
        rate = per_minute / 60.0
        if rate <= 0:
            return math.inf
        capacity = max(1.0, rate * self.burst_seconds)
        now = self.clock()
        bucket = self._buckets.get(principal)
        if bucket is None:
            bucket = self._buckets[principal] = Bucket(capacity, now)
        else:
            bucket.tokens = min(capacity, bucket.tokens + (now - bucket.updated_at) * rate)
            bucket.updated_at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / rate

    def forget_idle(self, idle_seconds: float = 600.0) -> None:
        cutoff = self.clock() - idle_seconds
        for principal in [p for p, b in self._buckets.items() if b.updated_at < cutoff]:
            del self._buckets[principal]
