"""Live Server-Sent Events streams: where a reconnecting stream resumes.

A stream names each event it sends by a sequence number (an alert change, an inbox message);
a browser that reconnects sends the last one back as `Last-Event-ID`, and the stream resumes
after it. Only an id such a stream gave can come back: ASCII digits within a BIGINT.
"""

from __future__ import annotations

from riskwatch_shared.errors import InvalidInput
from riskwatch_shared.pagination import parse_int64


class InvalidLastEventId(InvalidInput):
    title = "Invalid Last-Event-ID"
    type_slug = "invalid-last-event-id"


def resume_after(last_event_id: str | None, *, sent: str) -> int | None:
    """The sequence number a reconnecting stream resumes after, or None for a fresh stream.

    `sent` names what the stream's ids are (`"an alert change id"`) in the 422 a client gets
    for anything else."""
    if last_event_id is None or not last_event_id.strip():
        return None
    seq = parse_int64(last_event_id.strip())
    if seq is None:
        raise InvalidLastEventId(f"Last-Event-ID must be {sent} this stream sent")
    return seq
