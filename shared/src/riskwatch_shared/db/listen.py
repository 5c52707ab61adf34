"""One PostgreSQL LISTEN loop for the whole kit, for wake-ups across replicas (the outbox
relay's, notify's deliveries and inbox, the alert desk's stream).

A writer NOTIFYs a channel in its transaction (PostgreSQL delivers it at commit); every
replica's listener hears it and calls the channel's handler, which wakes whatever waits in
that process (a worker, SSE streams). After a reconnect every handler is called once with an
empty payload: anything committed while nobody listened is due.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator, Mapping

import asyncpg

from riskwatch_shared.logging import get_logger

log = get_logger(__name__)


class WakeHub:
    """Open waiters of one channel (SSE streams, say); `wake` sets every one of them."""

    def __init__(self) -> None:
        self._waiters: set[asyncio.Event] = set()

    @contextlib.contextmanager
    def subscribe(self) -> Iterator[asyncio.Event]:
        event = asyncio.Event()
        self._waiters.add(event)
        try:
            yield event
        finally:
            self._waiters.discard(event)

    def wake(self, _payload: str = "") -> None:
        for event in self._waiters:
            event.set()

    @property
    def open_waiters(self) -> int:
        return len(self._waiters)


class PgListener:
    """One LISTEN connection for several channels, reconnecting when it drops."""

    def __init__(
        self,
        dsn: str,
        handlers: Mapping[str, Callable[[str], None]],
        *,
        name: str = "pg-listener",
        retry_seconds: float = 1.0,
    ) -> None:
        self._dsn = dsn
        self._handlers = dict(handlers)
        self._name = name
        self._retry_seconds = retry_seconds
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    def _dispatch(self, _conn: object, _pid: int, channel: str, payload: str) -> None:
        handler = self._handlers.get(channel)
        if handler is not None:
            handler(payload)

    async def _run(self) -> None:
        while True:
            conn: asyncpg.Connection | None = None
            lost = asyncio.Event()
            try:
                conn = await asyncpg.connect(self._dsn)
                conn.add_termination_listener(lambda *_, lost=lost: lost.set())
                for channel in self._handlers:
                    await conn.add_listener(channel, self._dispatch)
                self.listening.set()
                # Wake everyone once: anything committed while we were not listening is due.
                for handler in self._handlers.values():
                    handler("")
                await lost.wait()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("db.listen_failed", listener=self._name, error=repr(exc))
                await asyncio.sleep(self._retry_seconds)
            finally:
                self.listening.clear()
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await conn.close(timeout=2)
