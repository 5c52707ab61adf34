"""Alert-storm controls: one notification per key, digest bundling, provider rate limits."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from riskwatch_notify.domain.models import Channel, Severity


def dedup_key(alert_id: UUID, recipient_id: str, channel: Channel) -> str:
    """The unique key of the one notification of `alert_id` to a recipient on a channel."""
    return f"alert:{alert_id}:{recipient_id}:{channel.value}"


def digest_key(recipient_id: str, channel: Channel, window_opened_at: datetime) -> str:
    """Unique key of one digest; stable across retries of the same window."""
    raw = f"{recipient_id}|{channel.value}|{window_opened_at.isoformat()}"
    return "digest:" + hashlib.sha256(raw.encode()).hexdigest()[:32]


class DigestDecision(StrEnum):
    SEND_NOW = "send_now"
    HOLD = "hold"


@dataclass(frozen=True, slots=True)
class DigestWindow:
    """An open bundling window for one recipient and channel."""

    recipient_id: str
    channel: Channel
    opened_at: datetime
    closes_at: datetime
    held_alert_ids: tuple[UUID, ...] = ()

    def is_closed(self, now: datetime) -> bool:
        return now >= self.closes_at


def admit_to_digest(
    window: DigestWindow | None,
    *,
    recipient_id: str,
    channel: Channel,
    alert_id: UUID,
    severity: Severity,
    now: datetime,
    window_seconds: int,
) -> tuple[DigestDecision, DigestWindow | None]:
    """Decide whether an alert goes out alone or waits for the digest.

    The first alert in a window goes out at once and opens the window; later ones are
    held. Critical alerts always go out at once and leave the window as it is.
    """
    if severity is Severity.CRITICAL:
        return DigestDecision.SEND_NOW, window
    if window is None or window.is_closed(now):
        opened = DigestWindow(
            recipient_id=recipient_id,
            channel=channel,
            opened_at=now,
            closes_at=now + timedelta(seconds=window_seconds),
        )
        return DigestDecision.SEND_NOW, opened
    held = replace(window, held_alert_ids=(*window.held_alert_ids, alert_id))
    return DigestDecision.HOLD, held


def close_digest(window: DigestWindow, now: datetime) -> tuple[UUID, ...] | None:
    """The alerts to bundle once `window` has closed: None while it is open, () if none held."""
    if not window.is_closed(now):
        return None
    return window.held_alert_ids


@dataclass(frozen=True, slots=True)
class TokenBucket:
    """Rate limit state: `capacity` burst, refilled at `refill_per_second`."""

    capacity: float
    refill_per_second: float
    tokens: float
    updated_at: datetime

    @classmethod
    def full(cls, capacity: float, refill_per_second: float, now: datetime) -> TokenBucket:
        return cls(capacity, refill_per_second, capacity, now)

    def refilled(self, now: datetime) -> TokenBucket:
        elapsed = max((now - self.updated_at).total_seconds(), 0.0)
        tokens = min(self.capacity, self.tokens + elapsed * self.refill_per_second)
        return replace(self, tokens=tokens, updated_at=max(now, self.updated_at))


def take_token(
    bucket: TokenBucket, now: datetime, cost: float = 1.0
) -> tuple[bool, float, TokenBucket]:
    """(granted, seconds to wait if not, new state). Pure: time comes in, state goes out."""
    current = bucket.refilled(now)
    if current.tokens >= cost:
        return True, 0.0, replace(current, tokens=current.tokens - cost)
    wait_seconds = (cost - current.tokens) / current.refill_per_second
    return False, wait_seconds, current


@dataclass
class ProviderRateLimiter:
    """One token bucket per provider, created full on first use."""

    capacity: float
    refill_per_second: float
    buckets: dict[str, TokenBucket] = field(default_factory=dict)

    def try_acquire(self, provider: str, now: datetime, cost: float = 1.0) -> float:
        """0.0 when a send to `provider` may go now, else the seconds to wait."""
        bucket = self.buckets.get(provider) or TokenBucket.full(
            self.capacity, self.refill_per_second, now
        )
        granted, wait_seconds, self.buckets[provider] = take_token(bucket, now, cost)
        return 0.0 if granted else wait_seconds
