"""A circuit breaker over a provider's consecutive transient failures (time passed in)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CircuitState(StrEnum):
    CLOSED = "closed"  # primary in use
    OPEN = "open"  # primary skipped until the cool-down ends
    HALF_OPEN = "half_open"  # cool-down over: the next send probes the primary


@dataclass
class CircuitBreaker:
    failure_threshold: int = 3
    cooldown_seconds: float = 60.0
    consecutive_failures: int = 0
    opened_at: float | None = None

    def __post_init__(self) -> None:
        if self.failure_threshold < 1 or self.cooldown_seconds <= 0:
            raise ValueError("need failure_threshold >= 1 and cooldown_seconds > 0")

    def state(self, now: float) -> CircuitState:
        if self.opened_at is None:
            return CircuitState.CLOSED
        if now - self.opened_at >= self.cooldown_seconds:
            return CircuitState.HALF_OPEN
        return CircuitState.OPEN

    def allows_primary(self, now: float) -> bool:
        return self.state(now) is not CircuitState.OPEN

    def record_success(self) -> None:
        self.consecutive_failures = 0
        self.opened_at = None

    def record_transient_failure(self, now: float) -> None:
        """Count a failure; open (or, after a failed probe, re-open) at the threshold."""
        probing = self.state(now) is CircuitState.HALF_OPEN
        self.consecutive_failures += 1
        if probing or self.consecutive_failures >= self.failure_threshold:
            self.opened_at = now
