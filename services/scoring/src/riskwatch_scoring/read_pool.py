"""A small set of asyncpg connections for the pre-authorisation hot path.

A read through the ORM session costs a pool pre-ping, the query and a rollback on close:
three round trips and ~1 ms of CPU. Pre-authorisation reads one row, outside any
transaction, in one round trip. asyncpg's own `Pool` adds a shielded release, a reset
and timeout bookkeeping per call (~a tenth of a pre-authorisation's CPU); these connections
only ever run that one SELECT, so a LIFO stack of them is enough.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg

_READ_STATE = (
    "SELECT version, CASE WHEN version = $2 THEN NULL ELSE state END AS state "
    "FROM customer_state WHERE customer_id = $1"
)


class ReadPool:
    """Up to `max_size` connections. A connection whose query failed or was cancelled is
    dropped (it may be mid-protocol); its slot returns as a None token that the next
    caller turns into a fresh connection, so waiters never wait on a slot that is gone."""

    def __init__(self, dsn: str, *, max_size: int = 8) -> None:
        self.dsn = dsn
        self.max_size = max_size
        self._idle: asyncio.LifoQueue[asyncpg.Connection | None] = asyncio.LifoQueue()
        self._slots = 0
        self._closed = False

    async def _take(self) -> asyncpg.Connection:
        if self._idle.empty() and self._slots < self.max_size:
            self._slots += 1
            connection: asyncpg.Connection | None = None
        else:
            connection = await self._idle.get()
        if connection is not None and not connection.is_closed():
            return connection
        try:
            return await asyncpg.connect(self.dsn)
        except BaseException:
            self._idle.put_nowait(None)  # the slot stays usable by the next caller
            raise

    def _give_back(self, connection: asyncpg.Connection | None) -> None:
        if self._closed and connection is not None:
            connection.terminate()
            return
        self._idle.put_nowait(connection)

    async def read_state(self, customer_id: uuid.UUID, cached_version: int) -> Any:
        """(version, state or None when `cached_version` is current), or None: no such row."""
        connection = await self._take()
        try:
            row = await connection.fetchrow(_READ_STATE, customer_id, cached_version)
        except BaseException:
            connection.terminate()
            self._give_back(None)
            raise
        self._give_back(connection)
        return row

    async def close(self) -> None:
        self._closed = True
        while not self._idle.empty():
            connection = self._idle.get_nowait()
            if connection is not None:
                await connection.close()
