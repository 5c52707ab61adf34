"""The JetStream streams: one per producing service, plus the dead-letter stream."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StreamSpec:
    name: str
    subjects: tuple[str, ...]
    max_age_seconds: float
    duplicate_window_seconds: float = 120.0


DAY = 86_400.0

CUSTOMER_STREAM = StreamSpec("CUSTOMER", ("customer.>",), max_age_seconds=30 * DAY)
SCORING_STREAM = StreamSpec("SCORING", ("scoring.>",), max_age_seconds=30 * DAY)
ALERTING_STREAM = StreamSpec("ALERTING", ("alerting.>",), max_age_seconds=30 * DAY)
NOTIFY_STREAM = StreamSpec("NOTIFY", ("notify.>",), max_age_seconds=30 * DAY)
DEADLETTER_STREAM = StreamSpec("DEADLETTER", ("dlq.>",), max_age_seconds=90 * DAY)

ALL_STREAMS: tuple[StreamSpec, ...] = (
    CUSTOMER_STREAM,
    SCORING_STREAM,
    ALERTING_STREAM,
    NOTIFY_STREAM,
    DEADLETTER_STREAM,
)


def dead_letter_subject(durable: str, original_subject: str) -> str:
    return f"dlq.{durable}.{original_subject}"
