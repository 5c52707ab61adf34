"""The versioned event envelope and the registry of event types.

An event's `type` is also its NATS subject; its `id` is the `Nats-Msg-Id`, so JetStream drops
a republished duplicate inside the stream's duplicate window.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, ValidationError


def utcnow() -> datetime:
    return datetime.now(UTC)


class Event(BaseModel):
    """Envelope fields every event carries. Subclasses pin `type` with a Literal."""

    # Unknown fields are ignored so an additive change (same v1) never breaks old consumers.
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: UUID = Field(default_factory=uuid4)
    type: str
    occurred_at: datetime = Field(default_factory=utcnow)
    source: str
    trace_id: str | None = None
    customer_id: UUID | None = None

    stream: ClassVar[str] = ""

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json().encode()


EventT = TypeVar("EventT", bound=type[Event])

EVENT_TYPES: dict[str, type[Event]] = {}


def register(event_cls: EventT) -> EventT:
    """Class decorator adding an event class to the registry under its `type` value."""
    type_value = event_cls.__pydantic_fields__["type"].default
    if not isinstance(type_value, str) or not type_value:
        raise TypeError(f"{event_cls.__name__} must give `type` a default Literal value")
    if type_value in EVENT_TYPES and EVENT_TYPES[type_value] is not event_cls:
        raise TypeError(f"event type {type_value!r} registered twice")
    EVENT_TYPES[type_value] = event_cls
    return event_cls


class UnknownEventType(ValueError):
    pass


def parse_event(subject: str, data: bytes) -> Event:
    """Parse a message into its registered event class. Raises ValueError when it cannot."""
    event_cls = EVENT_TYPES.get(subject)
    if event_cls is None:
        raise UnknownEventType(f"no event type registered for subject {subject!r}")
    try:
        return event_cls.model_validate_json(data)
    except ValidationError as exc:
        raise ValueError(f"invalid {subject} payload: {exc}") from exc


def event_json_schema(event_cls: type[Event]) -> dict[str, Any]:
    return event_cls.model_json_schema()
