"""The delivery worker: claims due deliveries, sends them, records the outcome (the scheduler
is `scheduler`, the claim loops `lanes`).

Safe on several replicas: deliveries are claimed with FOR UPDATE SKIP LOCKED under a lease,
and an outcome is written only while that lease is still held.

Under faults: a claim that fails on an unavailable database is retried by the loop (capped
backoff, never counted against a delivery). Outcomes of messages already SENT whose recording
fails on an unavailable database are kept and recorded again, while the lease still holds,
once the database answers: otherwise the lease would expire and the message go out twice.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from riskwatch_notify import queue
from riskwatch_notify.channels.base import ChannelAdapter, DeliveryResult
from riskwatch_notify.config import Settings
from riskwatch_notify.domain.models import Channel, OutboundMessage
from riskwatch_notify.domain.retry import (
    BackoffPolicy,
    DeliveryState,
    next_attempt_at,
    state_after_attempt,
)
from riskwatch_notify.domain.storm import ProviderRateLimiter
from riskwatch_notify.lanes import RETRY_CAP, Lanes
from riskwatch_shared.events.base import Event, utcnow
from riskwatch_shared.events.notify import DeliveryFailed, NotificationSent
from riskwatch_shared.logging import get_logger
from riskwatch_shared.messaging.faults import describe, is_transient
from riskwatch_shared.messaging.outbox import add_events

log = get_logger(__name__)


@dataclass
class WorkerStats:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    batches: int = 0
    last_error: str | None = None


def backoff_policy(settings: Settings) -> BackoffPolicy:
    return BackoffPolicy(
        base_seconds=settings.retry_base_seconds,
        cap_seconds=settings.retry_cap_seconds,
        max_attempts=settings.retry_max_attempts,
    )


class DeliveryWorker:
    """Claims due deliveries, sends them through the channel adapters, records the outcome."""

    def __init__(
        self,
        *,
        session_factory: async_sessionmaker[AsyncSession],
        adapters: Mapping[Channel, ChannelAdapter],
        settings: Settings,
        rng: random.Random | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.adapters = dict(adapters)
        self.settings = settings
        self.policy = backoff_policy(settings)
        self.rng = rng or random.Random()
        self.limiter = ProviderRateLimiter(
            settings.provider_rate_burst, settings.provider_rate_per_second
        )
        self.stats = WorkerStats()
        self._lanes = Lanes(
            "notify.delivery", settings.delivery_lanes, settings.delivery_poll_seconds
        )
        self._send_slots = asyncio.Semaphore(settings.delivery_concurrency)

    def wake(self, payload: str = "") -> None:
        self._lanes.wake(payload)

    async def start(self) -> None:
        self._lanes.start(self.deliver_due, self.settings.delivery_batch_size)

    async def stop(self) -> None:
        await self._lanes.stop()
        for adapter in self.adapters.values():
            close = getattr(adapter, "aclose", None)
            if close is not None:
                await close()  # persistent SMTP sessions say QUIT

    @property
    def healthy(self) -> bool:
        return self._lanes.healthy

    @property
    def live(self) -> bool:
        return self._lanes.live

    async def deliver_due(self) -> int:
        """One claim-send-record cycle; returns how many deliveries it handled."""
        lease_id = uuid.uuid4()
        async with self.session_factory() as session, session.begin():
            claimed = await queue.claim_due(
                session,
                lease_id=lease_id,
                lease_seconds=self.settings.delivery_lease_seconds,
                limit=self.settings.delivery_batch_size,
            )
        if not claimed:
            return 0
        leased_until = time.monotonic() + self.settings.delivery_lease_seconds
        results = await asyncio.gather(*(self._timed_send(d) for d in claimed))
        outcomes = list(zip(claimed, results, strict=True))
        failures = 0
        while True:
            try:
                async with self.session_factory() as session, session.begin():
                    await self._record(session, lease_id, outcomes)
                break
            except Exception as exc:
                # Sent but not recorded: keep the outcome while the lease holds (a reclaim
                # after it expires would send again); past it, the next claim decides.
                failures += 1
                delay = min(RETRY_CAP, 0.05 * 2**failures)
                if not is_transient(exc) or time.monotonic() + delay >= leased_until - 1:
                    raise
                self.stats.last_error = describe(exc)
                log.warning("notify.record_retrying", error=describe(exc), failures=failures)
                await asyncio.sleep(delay)
                self._lanes.last_cycle = time.monotonic()
        self.stats.batches += 1
        return len(claimed)

    async def _timed_send(
        self, delivery: queue.ClaimedDelivery
    ) -> tuple[DeliveryResult, datetime, int]:
        async with self._send_slots:
            started = utcnow()
            clock = time.perf_counter()
            result = await self._send(delivery)
            return result, started, int((time.perf_counter() - clock) * 1000)

    async def _send(self, delivery: queue.ClaimedDelivery) -> DeliveryResult:
        adapter = self.adapters.get(Channel(delivery.channel))
        if adapter is None:
            return DeliveryResult.permanent("none", f"no {delivery.channel} provider configured")
        await self._rate_limit(adapter.provider)
        message = OutboundMessage(
            message_id=delivery.id,
            channel=Channel(delivery.channel),
            to=delivery.address,
            subject=delivery.subject,
            text=delivery.body_text,
            html=delivery.body_html,
            payload=delivery.payload,
        )
        try:
            return await adapter.send(message)
        except Exception as exc:  # an adapter bug must not lose the delivery: retry it
            log.exception("notify.adapter_crashed", provider=adapter.provider)
            return DeliveryResult.transient(adapter.provider, f"adapter error: {exc!r}")

    async def _rate_limit(self, provider: str) -> None:
        wait = self.limiter.try_acquire(provider, utcnow())
        while wait > 0:  # a token bucket refills with time: there is nothing to wait on
            await asyncio.sleep(wait)
            wait = self.limiter.try_acquire(provider, utcnow())

    async def _record(
        self,
        session: AsyncSession,
        lease_id: uuid.UUID,
        outcomes: list[tuple[queue.ClaimedDelivery, tuple[DeliveryResult, datetime, int]]],
    ) -> None:
        now = utcnow()
        updates: list[dict[str, Any]] = []
        attempts: list[dict[str, Any]] = []
        inbox: list[dict[str, Any]] = []
        events: list[Event] = []
        for delivery, (result, started, duration_ms) in outcomes:
            state = state_after_attempt(result.status, delivery.attempts, self.policy)
            retry_at = self._retry_at(state, delivery.attempts, result, now)
            updates.append(_outcome_row(delivery, lease_id, state, result, retry_at, now))
            attempts.append(_attempt_row(delivery, state, result, started, duration_ms))
            events.extend(self._events_for(delivery, state, result))
            if state is DeliveryState.SENT and delivery.channel == Channel.IN_APP:
                inbox.append(_inbox_row(delivery, now))
        await queue.finish_deliveries(session, updates, attempts)
        await queue.insert_inbox_messages(session, inbox)
        await add_events(session, *events)

    def _retry_at(
        self, state: DeliveryState, attempt: int, result: DeliveryResult, now: datetime
    ) -> datetime:
        if state is not DeliveryState.FAILED:
            return now
        at = next_attempt_at(self.policy, attempt, now, self.rng, result.retry_after_seconds)
        return at or now

    def _events_for(
        self, delivery: queue.ClaimedDelivery, state: DeliveryState, result: DeliveryResult
    ) -> list[Event]:
        channel: Any = delivery.channel
        if state is DeliveryState.SENT:
            self.stats.sent += 1
            return [
                NotificationSent(
                    notification_id=delivery.id,
                    alert_id=delivery.alert_id,
                    recipient_id=delivery.recipient_id,
                    channel=channel,
                    provider=result.provider,
                    kind=delivery.kind,
                    trace_id=delivery.trace_id,
                )
            ]
        if state is DeliveryState.DEAD:
            self.stats.dead += 1
            return [
                DeliveryFailed(
                    notification_id=delivery.id,
                    alert_id=delivery.alert_id,
                    recipient_id=delivery.recipient_id,
                    channel=channel,
                    attempts=delivery.attempts,
                    detail=result.detail,
                    kind=delivery.kind,
                    trace_id=delivery.trace_id,
                )
            ]
        self.stats.failed += 1
        return []


def _outcome_row(
    delivery: queue.ClaimedDelivery,
    lease_id: uuid.UUID,
    state: DeliveryState,
    result: DeliveryResult,
    retry_at: datetime,
    now: datetime,
) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "lease_id": lease_id,
        "status": state.value,
        "next_attempt_at": retry_at,
        "provider": result.provider,
        "provider_message_id": result.provider_message_id,
        "last_error": None if result.is_sent else result.detail,
        "sent_at": now if state is DeliveryState.SENT else None,
    }


def _attempt_row(
    delivery: queue.ClaimedDelivery,
    state: DeliveryState,
    result: DeliveryResult,
    started: datetime,
    duration_ms: int,
) -> dict[str, Any]:
    return {
        "notification_id": delivery.id,
        "attempt": delivery.attempts,
        "status": state.value,
        "provider": result.provider,
        "provider_message_id": result.provider_message_id,
        "detail": result.detail or ("accepted" if result.is_sent else ""),
        "remote_status": result.remote_status,
        "started_at": started,
        "duration_ms": duration_ms,
    }


def _payload_customer(payload: dict[str, Any] | None) -> uuid.UUID | None:
    """The customer a message without an alert names in its payload (the planner's)."""
    value = (payload or {}).get("customer_id")
    try:
        return uuid.UUID(str(value)) if value is not None else None
    except ValueError:
        return None


def _inbox_row(delivery: queue.ClaimedDelivery, now: datetime) -> dict[str, Any]:
    link = (delivery.payload or {}).get("link", "")
    return {
        "customer_id": _payload_customer(delivery.payload),
        "id": uuid.uuid4(),
        "recipient_id": delivery.recipient_id,
        "notification_id": delivery.id,
        "alert_id": delivery.alert_id,
        "title": delivery.subject,
        "body": delivery.body_text,
        "severity": delivery.severity,
        "link": str(link),
        "created_at": now,
    }
