"""Versioned event schemas, one module per producing service, and their registry."""

from riskwatch_shared.events import alerting, customer, notify, scoring
from riskwatch_shared.events.base import EVENT_TYPES, Event, parse_event, register

__all__ = [
    "EVENT_TYPES",
    "Event",
    "alerting",
    "customer",
    "notify",
    "parse_event",
    "register",
    "scoring",
]
