"""The audit log, written off the request path: a bounded queue flushed in batches."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from riskwatch_gateway.models import ApiKey, AuditEntry
from riskwatch_shared.logging import get_logger, request_id_var

log = get_logger(__name__)


def _clean(value: str | None, limit: int) -> str | None:
    """What a caller sent may hold NUL and other control characters PostgreSQL refuses."""
    if value is None:
        return None
    return "".join(ch if ch.isprintable() else "?" for ch in value[:limit])


class AuditLog:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        flush_interval_seconds: float = 0.5,
        batch_size: int = 500,
        queue_size: int = 10_000,
    ) -> None:
        self.session_factory = session_factory
        self.flush_interval_seconds = flush_interval_seconds
        self.batch_size = batch_size
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=queue_size)
        self._task: asyncio.Task[None] | None = None
        self._key_use_logged: dict[str, int] = {}
        self.dropped = 0
        self.healthy = True

    def record(
        self,
        action: str,
        *,
        subject: str | None = None,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        client_ip: str | None = None,
        **detail: Any,
    ) -> None:
        entry = {
            "occurred_at": datetime.now(UTC),
            "action": action,
            "subject": _clean(subject, 200),
            "method": _clean(method, 10),
            "path": _clean(path, 500),
            "status": status,
            "request_id": _clean(request_id_var.get(), 128),
            "client_ip": _clean(client_ip, 64),
            "detail": {k: _clean(v, 500) if isinstance(v, str) else v for k, v in detail.items()},
        }
        try:
            self._queue.put_nowait(entry)
        except asyncio.QueueFull:
            # A flood of denials must not exhaust memory nor slow requests down.
            self.dropped += 1

    def record_key_use(self, key_id: str, **fields: Any) -> None:
        """The first use of a key in each minute, not every request."""
        minute = int(datetime.now(UTC).timestamp() // 60)
        if self._key_use_logged.get(key_id) == minute:
            return
        self._key_use_logged[key_id] = minute
        self.record("api_key.used", subject=f"api_key:{key_id}", **fields)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="gateway-audit")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        try:
            while await self.flush():
                pass
        except Exception:
            log.exception("audit.final_flush_failed", dropped=self._queue.qsize())

    async def flush(self) -> int:
        entries: list[dict[str, Any]] = []
        while not self._queue.empty() and len(entries) < self.batch_size:
            entries.append(self._queue.get_nowait())
        if not entries:
            return 0
        used_keys = {
            str(e["subject"]).removeprefix("api_key:")
            for e in entries
            if e["action"] == "api_key.used"
        }
        async with self.session_factory() as session:
            await session.execute(insert(AuditEntry), entries)
            if used_keys:
                await session.execute(
                    update(ApiKey)
                    .where(ApiKey.id.in_(used_keys))
                    .values(last_used_at=datetime.now(UTC))
                )
            await session.commit()
        return len(entries)

    async def _run(self) -> None:
        while True:
            try:
                while await self.flush() == self.batch_size:
                    pass
                self.healthy = True
            except Exception:
                self.healthy = False
                log.exception("audit.flush_failed")
            await asyncio.sleep(self.flush_interval_seconds)
