"""One PostgreSQL LISTEN loop for the whole kit: a connection of its own that listens on some
channels, calls each channel's handler with the payload of every NOTIFY, and reconnects when the
connection drops (a database restart, a network cut).

On every (re)connection each handler is called once with an empty payload: what was committed
while nobody listened is due now. Handlers run on the event loop and must not block.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping

import asyncpg

from riskwatch_shared.logging import get_logger

log = get_logger(__name__)

NotifyHandler = Callable[[str], None]


class PgListener:
    def __init__(
        self,
        dsn: str,
        handlers: Mapping[str, NotifyHandler],
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
                for handler in self._handlers.values():
                    handler("")
                await lost.wait()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("pg.listen_failed", listener=self._name, error=repr(exc))
                await asyncio.sleep(self._retry_seconds)
            finally:
                self.listening.clear()
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await conn.close(timeout=2)
