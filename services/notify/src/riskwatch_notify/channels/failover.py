"""Primary/secondary provider failover behind a circuit breaker."""

from __future__ import annotations

import time
from collections.abc import Callable

from riskwatch_notify.channels.base import ChannelAdapter, DeliveryResult
from riskwatch_notify.domain.circuit_breaker import CircuitBreaker, CircuitState
from riskwatch_notify.domain.models import Channel, OutboundMessage


class FailoverAdapter:
    """Sends through `primary` until it fails transiently `failure_threshold` times in a
    row, then through `secondary` for `cooldown_seconds`, after which one message probes
    the primary again (success closes the circuit, failure re-opens it).

    The message whose failure opens the circuit goes straight to the secondary, so no
    alert waits a retry cycle for it. Permanent failures (a bad number) do not count:
    the secondary would refuse them too.
    """

    def __init__(
        self,
        primary: ChannelAdapter,
        secondary: ChannelAdapter,
        *,
        failure_threshold: int = 3,
        cooldown_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if primary.channel is not secondary.channel:
            raise ValueError("primary and secondary must serve the same channel")
        self._primary = primary
        self._secondary = secondary
        self._breaker = CircuitBreaker(failure_threshold, cooldown_seconds)
        self._clock = clock

    @property
    def channel(self) -> Channel:
        return self._primary.channel

    @property
    def provider(self) -> str:
        return f"{self._primary.provider}|{self._secondary.provider}"

    async def aclose(self) -> None:
        for adapter in (self._primary, self._secondary):
            close = getattr(adapter, "aclose", None)
            if close is not None:
                await close()

    @property
    def circuit_state(self) -> CircuitState:
        return self._breaker.state(self._clock())

    async def send(self, message: OutboundMessage) -> DeliveryResult:
        if not self._breaker.allows_primary(self._clock()):
            return await self._secondary.send(message)
        result = await self._primary.send(message)
        if result.is_transient:
            self._breaker.record_transient_failure(self._clock())
            if not self._breaker.allows_primary(self._clock()):
                return await self._secondary.send(message)
        elif result.is_sent:
            self._breaker.record_success()
        return result
