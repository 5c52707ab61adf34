"""Pruning the inbox: the consumer runner's record of every event it has handled.

The inbox row of an event is what makes a redelivery or a replay of it change nothing, so a
row must outlive every copy of its event a consumer could still be given: the stream keeps a
message for its `max_age` (30 days), so by default a row is kept for that plus a day
(`inbox_retention_seconds`). Older rows go in chunks of `chunk_size`, each in its own short
transaction, so a prune never holds many row locks or one long snapshot. Every replica runs
the loop; a round takes a transaction-level advisory lock first and a replica that does not
get it skips the round, so replicas never delete the same rows twice over.
"""

from __future__ import annotations

import asyncio
import time
import zlib

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from riskwatch_shared.events.streams import ALL_STREAMS, DEADLETTER_STREAM
from riskwatch_shared.logging import get_logger
from riskwatch_shared.metrics import INBOX_PRUNED
from riskwatch_shared.settings import DEFAULT_INBOX_RETENTION, DEFAULT_PRUNE_INTERVAL

log = get_logger(__name__)

# Consumers read every stream but the dead-letter one (a dead-lettered event has no inbox row).
LONGEST_STREAM_AGE = max(s.max_age_seconds for s in ALL_STREAMS if s is not DEADLETTER_STREAM)
DEFAULT_PRUNE_CHUNK = 5_000

# The lock first, in a statement of its own: under READ COMMITTED the DELETE's snapshot is
# then taken after the lock, so it sees every chunk the previous holder committed. (In one
# statement the snapshot came first, and a replica taking over the round could pick rows just
# deleted, delete none, and end the round early.)
_TAKE_ROUND = text("SELECT pg_try_advisory_xact_lock(:lock)")
_PRUNE_CHUNK = text(
    "WITH doomed AS (SELECT consumer, event_id FROM inbox "
    "WHERE processed_at < now() - make_interval(secs => :retention) LIMIT :chunk), "
    "deleted AS (DELETE FROM inbox USING doomed WHERE inbox.consumer = doomed.consumer "
    "AND inbox.event_id = doomed.event_id RETURNING 1) "
    "SELECT count(*) FROM deleted"
)


async def prune_once(
    engine: AsyncEngine,
    *,
    retention_seconds: float = DEFAULT_INBOX_RETENTION,
    chunk_size: int = DEFAULT_PRUNE_CHUNK,
    service: str = "riskwatch",
) -> int:
    """Delete the inbox rows older than the retention; returns how many this call deleted
    (0 when another replica holds the round)."""
    lock_key = zlib.crc32(f"riskwatch-inbox-prune-{service}".encode())  # as the relay's
    total = 0
    while True:
        async with engine.begin() as conn:
            if not await conn.scalar(_TAKE_ROUND, {"lock": lock_key}):
                return total  # another replica holds the round
            params = {"retention": retention_seconds, "chunk": chunk_size}
            deleted = int(await conn.scalar(_PRUNE_CHUNK, params) or 0)
        total += deleted
        INBOX_PRUNED.labels(service=service).inc(deleted)
        if deleted < chunk_size:
            return total


class InboxPruner:
    """`prune_once` every `interval_seconds`, from the service's start; a failed round is
    logged and the next one tries again."""

    def __init__(
        self,
        *,
        service: str,
        engine: AsyncEngine,
        retention_seconds: float = DEFAULT_INBOX_RETENTION,
        interval_seconds: float = DEFAULT_PRUNE_INTERVAL,
        chunk_size: int = DEFAULT_PRUNE_CHUNK,
    ) -> None:
        self.service = service
        self.engine = engine
        self.retention_seconds = retention_seconds
        self.interval_seconds = interval_seconds
        self.chunk_size = chunk_size
        self._task: asyncio.Task[None] | None = None
        self.round_finished = asyncio.Event()  # set after every round, failed or not
        self.last_round = time.monotonic()

    @property
    def live(self) -> bool:
        """Liveness: the loop runs and a round ended within two intervals (plus slack)."""
        if self._task is None:
            return True
        bound = 2 * self.interval_seconds + 300
        return not self._task.done() and time.monotonic() - self.last_round < bound

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"inbox-pruner-{self.service}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                deleted = await prune_once(
                    self.engine,
                    retention_seconds=self.retention_seconds,
                    chunk_size=self.chunk_size,
                    service=self.service,
                )
                if deleted:
                    log.info("inbox.pruned", rows=deleted)
            except Exception as exc:  # a failed round must not end the loop
                log.warning("inbox.prune_failed", error=repr(exc))
            self.round_finished.set()
            self.last_round = time.monotonic()
            await asyncio.sleep(self.interval_seconds)
