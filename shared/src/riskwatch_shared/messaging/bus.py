"""NATS connection and idempotent stream set-up."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from riskwatch_shared.events.streams import ALL_STREAMS, StreamSpec
from riskwatch_shared.logging import get_logger

log = get_logger(__name__)


class MessageBus:
    """One NATS connection per process; reconnects forever and counts reconnects."""

    def __init__(self, url: str, *, name: str) -> None:
        self.url = url
        self.name = name
        self.nc: Client | None = None
        self.reconnects = 0

    @property
    def connected(self) -> bool:
        return self.nc is not None and self.nc.is_connected

    @property
    def js(self) -> JetStreamContext:
        if self.nc is None:
            raise RuntimeError("message bus not connected")
        return self.nc.jetstream(timeout=10)

    async def connect(self) -> None:
        async def on_reconnected() -> None:
            self.reconnects += 1
            log.info("nats.reconnected", count=self.reconnects)

        async def on_disconnected() -> None:
            log.warning("nats.disconnected")

        async def on_error(exc: Exception) -> None:
            log.warning("nats.error", error=str(exc))

        self.nc = await nats.connect(
            servers=[u.strip() for u in self.url.split(",") if u.strip()],
            name=self.name,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            connect_timeout=5,
            allow_reconnect=True,
            reconnected_cb=on_reconnected,
            disconnected_cb=on_disconnected,
            error_cb=on_error,
            pending_size=64 * 1024 * 1024,
        )

    async def close(self) -> None:
        if self.nc is not None and not self.nc.is_closed:
            try:
                await asyncio.wait_for(self.nc.drain(), timeout=5)
            except Exception:  # drain can fail when the server is gone; close anyway
                await self.nc.close()
        self.nc = None


def stream_config(spec: StreamSpec, *, replicas: int) -> StreamConfig:
    return StreamConfig(
        name=spec.name,
        subjects=list(spec.subjects),
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        max_age=spec.max_age_seconds,
        duplicate_window=spec.duplicate_window_seconds,
        discard=DiscardPolicy.OLD,
        num_replicas=replicas,
    )


async def ensure_streams(
    js: JetStreamContext, *, replicas: int = 1, specs: Iterable[StreamSpec] = ALL_STREAMS
) -> None:
    """Create or update every stream; safe to run from every replica at once."""
    for spec in specs:
        config = stream_config(spec, replicas=replicas)
        try:
            await js.stream_info(spec.name)
        except NotFoundError:
            try:
                await js.add_stream(config)
                continue
            except BadRequestError:
                pass  # another replica created it first
        await js.update_stream(config)
