"""The versioned event envelope and the registry of event types.

An event class is the ONLY encoder and decoder of its payload: `to_json_bytes()` writes it,
`parse_event` reads it back into the class (msgspec Structs, encoded and validated in C).
An event's `type` is also its NATS subject; its `id` is the `Nats-Msg-Id`, so JetStream drops
a republished duplicate inside the stream's duplicate window.

Constructing a Struct does not validate (that is what makes it cheap): the producer passes
typed values (mypy checks them), and every consumer's decode validates what arrives.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, TypeVar
from uuid import UUID, uuid4

import msgspec


def utcnow() -> datetime:
    return datetime.now(UTC)


# Times in events are timezone-aware: a payload with a naive time does not decode.
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]


class Payload(msgspec.Struct, frozen=True, kw_only=True):
    """A typed part of an event payload. Unknown fields are ignored when decoding, so an
    additive change (same v1) never breaks an older consumer. Every subclass passes
    `frozen=True, kw_only=True` (msgspec does not inherit `kw_only`, mypy does not inherit
    `frozen`): required fields may then follow fields with defaults."""


class Event(Payload, frozen=True, kw_only=True):
    """Envelope fields every event carries. Subclasses pin `type` with a Literal default."""

    id: UUID = msgspec.field(default_factory=uuid4)
    type: str
    occurred_at: AwareDatetime = msgspec.field(default_factory=utcnow)
    source: str
    trace_id: str | None = None
    customer_id: UUID | None = None

    stream: ClassVar[str] = ""

    def to_json_bytes(self) -> bytes:
        return _ENCODER.encode(self)


# Decimals as exact strings ("12500.50"), UTC times ending in "Z", UUIDs as text.
_ENCODER = msgspec.json.Encoder()

EventT = TypeVar("EventT", bound=type[Event])

EVENT_TYPES: dict[str, type[Event]] = {}
_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {}


def type_of(event_cls: type[Event]) -> str:
    """The `type` (and subject) an event class is registered under."""
    for field in msgspec.structs.fields(event_cls):
        if field.name == "type" and isinstance(field.default, str) and field.default:
            return field.default
    raise TypeError(f"{event_cls.__name__} must give `type` a default Literal value")


def register(event_cls: EventT) -> EventT:
    """Class decorator adding an event class to the registry under its `type` value."""
    type_value = type_of(event_cls)
    if type_value in EVENT_TYPES and EVENT_TYPES[type_value] is not event_cls:
        raise TypeError(f"event type {type_value!r} registered twice")
    EVENT_TYPES[type_value] = event_cls
    _DECODERS[type_value] = msgspec.json.Decoder(event_cls)
    return event_cls


class UnknownEventType(ValueError):
    pass


def parse_event(subject: str, data: bytes) -> Event:
    """Parse a message into its registered event class. Raises ValueError when it cannot."""
    decoder = _DECODERS.get(subject)
    if decoder is None:
        raise UnknownEventType(f"no event type registered for subject {subject!r}")
    try:
        event: Event = decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise ValueError(f"invalid {subject} payload: {exc}") from exc
    return event
