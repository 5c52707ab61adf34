"""The outbox relay: publishes committed outbox rows to JetStream and deletes them.

Safe on every replica: each batch runs in a transaction that first takes a transaction-scoped
advisory lock (one relay publishes a service's outbox at a time, so publication keeps commit
order) and claims rows by deleting them, SKIP LOCKED, before it publishes them; it commits
only once JetStream has acknowledged every one. A failed publish rolls the deletion back, and a
crash after publishing but before the commit leaves the rows in place: they are published again
with the same `Nats-Msg-Id`, which JetStream drops as duplicates.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import zlib
from operator import itemgetter

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from riskwatch_shared.aio import wait_event
from riskwatch_shared.db.listen import PgListener
from riskwatch_shared.logging import get_logger
from riskwatch_shared.messaging.bus import MessageBus
from riskwatch_shared.messaging.faults import is_transient
from riskwatch_shared.messaging.outbox import OUTBOX_CHANNEL
from riskwatch_shared.metrics import OUTBOX_BACKLOG, OUTBOX_PUBLISHED

log = get_logger(__name__)

# Raw asyncpg statements on the hot path: one round trip each, rows as tuples, ids as text
# (the Nats-Msg-Id) and payloads as bytes, with no ORM or SQLAlchemy row processing.
_LOCK = "SELECT pg_try_advisory_xact_lock($1)"
# Claim and delete in one statement: the oldest rows no other relay holds. The rows stay
# until this transaction commits, after the publish; DELETE's RETURNING order is not
# guaranteed, so the batch is sorted by seq before publishing.
_CLAIM = (
    "DELETE FROM outbox WHERE seq = ANY(ARRAY("
    "SELECT seq FROM outbox ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED"
    ")) RETURNING seq, id::text, subject, payload, traceparent"
)
_BACKLOG = text("SELECT count(*) FROM outbox")  # every row in the outbox is unpublished
# A relay loop that has not cycled for this long is stuck (liveness fails).
LIVENESS_BOUND = 90.0
# Backoff cap while PostgreSQL or NATS is away: a returning one is noticed within this.
RETRY_CAP = 2.0


class OutboxRelay:
    def __init__(
        self,
        *,
        service: str,
        engine: AsyncEngine,
        bus: MessageBus,
        listen_dsn: str,
        batch_size: int = 500,
        poll_interval: float = 1.0,
    ) -> None:
        self.service = service
        self.engine = engine
        self.bus = bus
        self.listen_dsn = listen_dsn
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.lock_key = zlib.crc32(f"riskwatch-outbox-{service}".encode())
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # LISTEN so a commit wakes the relay at once; the poll is only the backstop.
        self._listener = PgListener(
            listen_dsn,
            {OUTBOX_CHANNEL: lambda _payload: self._wake.set()},
            name=f"outbox-listen-{service}",
        )
        self._stopping = False
        self.last_cycle = time.monotonic()

    @property
    def healthy(self) -> bool:
        alive = self._task is not None and not self._task.done()
        return alive and time.monotonic() - self.last_cycle < max(30.0, 10 * self.poll_interval)

    @property
    def live(self) -> bool:
        """Liveness: the loop runs and cycles (a publish waits at most 30 s for its acks)."""
        if self._task is None or self._stopping:
            return True
        fresh = time.monotonic() - self.last_cycle < max(LIVENESS_BOUND, 10 * self.poll_interval)
        return not self._task.done() and fresh

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self.service}")
        await self._listener.start()

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        await self._listener.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def publish_pending(self) -> int:
        """Publish one batch; returns how many rows it published (0 if another relay holds it)."""
        async with self.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            db: asyncpg.Connection = raw.driver_connection
            try:
                # asyncpg's own transaction: SQLAlchemy has begun nothing on this connection.
                async with db.transaction():
                    if not await db.fetchval(_LOCK, self.lock_key):
                        return 0
                    rows = await db.fetch(_CLAIM, self.batch_size)
                    if not rows:
                        return 0
                    rows.sort(key=itemgetter(0))  # already in seq order, as a rule: O(n)
                    await self.bus.publish_batch(
                        [(r[2], r[3], r[1], r[4]) for r in rows], timeout=30
                    )
            except BaseException:
                if db.is_closed():
                    await conn.invalidate()  # never hand a dead connection back to the pool
                raise
        OUTBOX_PUBLISHED.labels(self.service).inc(len(rows))
        return len(rows)

    async def _run(self) -> None:
        last_housekeeping = 0.0
        failures = 0
        while not self._stopping:
            self.last_cycle = time.monotonic()
            # Cleared before reading so a commit landing during this batch wakes the next one.
            self._wake.clear()
            try:
                published = await self.publish_pending()
                failures = 0
                if time.monotonic() - last_housekeeping > 30:
                    await self.housekeeping()
                    last_housekeeping = time.monotonic()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Every failure here is retried, never dropped (rows stay until published); a
                # transient one (PostgreSQL/NATS away) is expected and logged as such.
                failures += 1
                log.warning(
                    "outbox.relay_failed",
                    error=repr(exc),
                    failures=failures,
                    transient=is_transient(exc),
                )
                await asyncio.sleep(min(RETRY_CAP, 0.1 * 2**failures))
                continue
            if published >= self.batch_size:
                continue
            await wait_event(self._wake, self.poll_interval)

    async def housekeeping(self) -> None:
        """Report the backlog (published rows are deleted as they go: nothing to purge)."""
        async with self.engine.connect() as conn:
            backlog = await conn.scalar(_BACKLOG)
        OUTBOX_BACKLOG.labels(self.service).set(backlog or 0)
