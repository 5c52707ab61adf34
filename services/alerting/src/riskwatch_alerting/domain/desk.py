"""The alert desk as pure logic: an alert's (or a case's) SLA badge, and who `me` and `none`
are in a queue filter.

An open item is `red` once its SLA is due, `amber` in the last quarter of its SLA window
(raised or opened -> due), `ok` before. A closed item keeps the verdict of its SLA: `red` when
it was closed after it was due, `ok` otherwise, so a desk can count the breaches it had.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, get_args

from riskwatch_shared.security import Identity

SlaState = Literal["ok", "amber", "red"]
SLA_STATES: tuple[str, ...] = get_args(SlaState)

# The share of the SLA window still left when the badge turns amber.
AMBER_REMAINING_SHARE = 0.25

ME = "me"
NOBODY = "none"


def amber_from(started_at: datetime, due_at: datetime) -> datetime:
    """When an item started at `started_at` and due at `due_at` turns amber."""
    return due_at - (due_at - started_at) * AMBER_REMAINING_SHARE


def sla_state(
    *, started_at: datetime, due_at: datetime, closed_at: datetime | None, now: datetime
) -> SlaState:
    """The SLA badge of an item: see the module's doc."""
    if closed_at is not None:
        return "red" if closed_at > due_at else "ok"
    if now >= due_at:
        return "red"
    return "amber" if now >= amber_from(started_at, due_at) else "ok"


def identities_of(identity: Identity) -> tuple[str, ...]:
    """What an alert's `assignee` holds when it is assigned to `identity`: its subject (the
    user id) or its staff id."""
    return tuple(dict.fromkeys(v for v in (identity.subject, identity.staff_id) if v))


def assignee_of(identity: Identity, requested: str) -> str:
    """The assignee a request names: `me` is the caller (its staff id, else its subject)."""
    return (identity.staff_id or identity.subject) if requested == ME else requested
