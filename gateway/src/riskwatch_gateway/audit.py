"""The audit log. Changes to users, roles and API keys are written in the transaction of the
change itself (`audit_change`): both are stored or neither is. Access events (sign-ins,
refusals, key use) go off the request path through a bounded queue flushed in batches; when it
is full a request waits for room (and is refused with 503 if none comes) — nothing is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from riskwatch_gateway.errors import AuditUnavailable
from riskwatch_gateway.models import ApiKey, AuditEntry
from riskwatch_shared.logging import get_logger, request_id_var

log = get_logger(__name__)


def _clean(value: str | None, limit: int) -> str | None:
    """What a caller sent may hold NUL and other control characters PostgreSQL refuses."""
    if value is None:
        return None
    return "".join(ch if ch.isprintable() else "?" for ch in value[:limit])


def audit_entry(
    action: str,
    *,
    subject: str | None = None,
    method: str | None = None,
    path: str | None = None,
    status: int | None = None,
    client_ip: str | None = None,
    **detail: Any,
) -> dict[str, Any]:
    return {
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


def audit_change(session: AsyncSession, action: str, *, actor: str, **detail: Any) -> None:
    """Audit a change to users, roles or API keys in the change's own transaction (the caller
    commits both). Never pass a secret or a password in `detail`."""
    session.add(AuditEntry(**audit_entry(action, subject=actor, **detail)))


class AuditLog:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        flush_interval_seconds: float = 0.5,
        batch_size: int = 500,
        queue_size: int = 10_000,
        put_timeout_seconds: float = 5.0,
    ) -> None:
        self.session_factory = session_factory
        self.flush_interval_seconds = flush_interval_seconds
        self.batch_size = batch_size
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=queue_size)
        self._task: asyncio.Task[None] | None = None
        self._key_use_logged: dict[str, int] = {}
        self.put_timeout_seconds = put_timeout_seconds
        # How often a request had to wait for room in the queue (it is never dropped).
        self.waited = 0
        self.healthy = True

    async def record(
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
        """Queue an access event. Never dropped: with the queue full the caller waits for
        room, and gets AuditUnavailable (503) when none comes in time."""
        entry = audit_entry(action, subject=subject, method=method, path=path, status=status,
                            client_ip=client_ip, **detail)  # fmt: skip
        try:
            self._queue.put_nowait(entry)
            return
        except asyncio.QueueFull:
            self.waited += 1
        try:
            async with asyncio.timeout(self.put_timeout_seconds):
                await self._queue.put(entry)
        except TimeoutError:
            log.error("audit.backlog_full", action=action, queued=self._queue.qsize())
            raise AuditUnavailable("the audit log cannot keep up; try again shortly") from None

    async def record_key_use(self, key_id: str, **fields: Any) -> None:
        """The first use of a key in each minute, not every request."""
        minute = int(datetime.now(UTC).timestamp() // 60)
        if self._key_use_logged.get(key_id) == minute:
            return
        self._key_use_logged[key_id] = minute
        await self.record("api_key.used", subject=f"api_key:{key_id}", **fields)

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
