"""Cross-replica wake-ups over PostgreSQL LISTEN/NOTIFY, and the in-process inbox fan-out.

A worker that writes an inbox message NOTIFYs with the recipient's id at commit; every
replica's listener hears it and wakes that recipient's open SSE streams, wherever they are.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator, Mapping

import asyncpg

from riskwatch_shared.errors import InvalidInput
from riskwatch_shared.logging import get_logger
from riskwatch_shared.pagination import parse_int64

log = get_logger(__name__)


MAX_LAST_EVENT_ID_LENGTH = 19  # the digits of the largest BIGINT


class InvalidLastEventId(InvalidInput):
    title = "Invalid Last-Event-ID"
    type_slug = "invalid-last-event-id"


def resume_after(last_event_id: str | None) -> int | None:
    """The inbox seq a reconnecting stream resumes after (its `Last-Event-ID`), or None for
    none. Only an id this stream gave can come back: ASCII digits within a BIGINT."""
    if last_event_id is None or not last_event_id.strip():
        return None
    text = last_event_id.strip()
    seq = parse_int64(text) if len(text) <= MAX_LAST_EVENT_ID_LENGTH else None
    if seq is None:
        raise InvalidLastEventId("Last-Event-ID must be a message seq this stream sent")
    return seq


class InboxHub:
    """Open SSE streams by recipient; `publish` wakes every stream of one recipient."""

    def __init__(self) -> None:
        self._streams: dict[str, set[asyncio.Event]] = {}

    @contextlib.contextmanager
    def subscribe(self, recipient_id: str) -> Iterator[asyncio.Event]:
        event = asyncio.Event()
        self._streams.setdefault(recipient_id, set()).add(event)
        try:
            yield event
        finally:
            streams = self._streams.get(recipient_id)
            if streams is not None:
                streams.discard(event)
                if not streams:
                    del self._streams[recipient_id]

    def publish(self, recipient_id: str) -> None:
        """Wake the streams of `recipient_id`; an empty id (a reconnect) wakes them all."""
        groups = (
            self._streams.values() if not recipient_id else [self._streams.get(recipient_id, set())]
        )
        for streams in groups:
            for event in streams:
                event.set()

    @property
    def open_streams(self) -> int:
        return sum(len(streams) for streams in self._streams.values())


class PgListener:
    """One LISTEN connection for several channels, reconnecting when it drops."""

    def __init__(self, dsn: str, handlers: Mapping[str, Callable[[str], None]]) -> None:
        self._dsn = dsn
        self._handlers = dict(handlers)
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="notify-pg-listener")

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
                log.warning("notify.listen_failed", error=repr(exc))
                await asyncio.sleep(1)
            finally:
                self.listening.clear()
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await conn.close(timeout=2)
