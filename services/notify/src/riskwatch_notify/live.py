"""The in-process inbox fan-out, woken across replicas over PostgreSQL LISTEN/NOTIFY.

A worker that writes an inbox message NOTIFYs with the recipient's id at commit; every
replica's listener (`riskwatch_shared.db.listen.PgListener`) hears it and wakes that
recipient's open SSE streams, wherever they are.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

from riskwatch_shared.logging import get_logger

log = get_logger(__name__)


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
