"""Retry timing (exponential backoff, full jitter) and the delivery state machine."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from riskwatch_notify.domain.models import DeliveryStatus


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    base_seconds: float = 2.0
    cap_seconds: float = 600.0
    max_attempts: int = 8
    # A provider's Retry-After is honoured, but never beyond this (a bogus header
    # must not park an alert for a day).
    max_retry_after_seconds: float = 3600.0

    def __post_init__(self) -> None:
        if self.base_seconds <= 0 or self.cap_seconds < self.base_seconds:
            raise ValueError("need 0 < base_seconds <= cap_seconds")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")


def backoff_delay(
    policy: BackoffPolicy,
    attempt: int,
    rng: random.Random,
    retry_after_seconds: float | None = None,
) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based).

    Full jitter: uniform in [0, min(cap, base * 2**(attempt-1))], so retries from many
    workers spread out instead of arriving together; never sooner than Retry-After.
    """
    if attempt < 1:
        raise ValueError("attempt is 1-based")
    exponent = min(attempt - 1, 62)  # 2**62 * base already exceeds any sane cap
    ceiling = min(policy.cap_seconds, policy.base_seconds * 2.0**exponent)
    delay = rng.uniform(0.0, ceiling)
    if retry_after_seconds is not None and retry_after_seconds > 0:
        delay = max(delay, min(retry_after_seconds, policy.max_retry_after_seconds))
    return delay


def next_attempt_at(
    policy: BackoffPolicy,
    attempt: int,
    now: datetime,
    rng: random.Random,
    retry_after_seconds: float | None = None,
) -> datetime | None:
    """When to try again after failed attempt `attempt`, or None once attempts are spent."""
    if attempt >= policy.max_attempts:
        return None
    delay = backoff_delay(policy, attempt, rng, retry_after_seconds)
    return now + timedelta(seconds=delay)


class DeliveryState(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # transient failure; another attempt is scheduled
    DEAD = "dead"  # permanent failure, attempts spent, or cancelled before sending

    @property
    def is_final(self) -> bool:
        return not ALLOWED_TRANSITIONS[self]


ALLOWED_TRANSITIONS: dict[DeliveryState, frozenset[DeliveryState]] = {
    DeliveryState.QUEUED: frozenset({DeliveryState.SENDING, DeliveryState.DEAD}),
    DeliveryState.SENDING: frozenset(
        {DeliveryState.SENT, DeliveryState.FAILED, DeliveryState.DEAD}
    ),
    DeliveryState.FAILED: frozenset({DeliveryState.SENDING, DeliveryState.DEAD}),
    DeliveryState.SENT: frozenset(),
    DeliveryState.DEAD: frozenset(),
}


class InvalidDeliveryTransition(ValueError):
    def __init__(self, current: DeliveryState, target: DeliveryState) -> None:
        super().__init__(f"delivery cannot go from {current} to {target}")
        self.current = current
        self.target = target


def transition(current: DeliveryState, target: DeliveryState) -> DeliveryState:
    """`target` if the move is allowed, else InvalidDeliveryTransition."""
    if target not in ALLOWED_TRANSITIONS[current]:
        raise InvalidDeliveryTransition(current, target)
    return target


def state_after_attempt(
    status: DeliveryStatus, attempt: int, policy: BackoffPolicy
) -> DeliveryState:
    """Where a delivery in SENDING goes after attempt number `attempt` ended with `status`."""
    if status is DeliveryStatus.SENT:
        return DeliveryState.SENT
    if status is DeliveryStatus.PERMANENT_FAILURE or attempt >= policy.max_attempts:
        return DeliveryState.DEAD
    return DeliveryState.FAILED
