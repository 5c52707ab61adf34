"""Server-Sent Events, both ways (pure): reading the gateway's streams line by line, and
writing the console's own events for htmx's SSE extension."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass


@dataclass(frozen=True)
class ServerEvent:
    name: str
    data: str
    id: str | None = None


class EventReader:
    """Feeds lines, returns each event when its blank line comes; comments are skipped."""

    def __init__(self) -> None:
        self._name = "message"
        self._data: list[str] = []
        self._id: str | None = None

    def feed(self, line: str) -> ServerEvent | None:
        if not line:
            if not self._data:
                self._name = "message"
                return None
            event = ServerEvent(self._name, "\n".join(self._data), self._id)
            self._name, self._data, self._id = "message", [], None
            return event
        if line.startswith(":"):
            return None
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            self._name = value
        elif field == "data":
            self._data.append(value)
        elif field == "id":
            self._id = value
        return None


async def read_events(lines: AsyncIterable[str]) -> AsyncIterator[ServerEvent]:
    reader = EventReader()
    async for line in lines:
        event = reader.feed(line.rstrip("\r"))
        if event is not None:
            yield event


def write_event(name: str, data: str, *, event_id: str | None = None) -> str:
    """One event; each line of `data` on its own `data:` line (HTML may span lines)."""
    head = f"id: {event_id}\n" if event_id else ""
    body = "".join(f"data: {line}\n" for line in (data.splitlines() or [""]))
    return f"{head}event: {name}\n{body}\n"
