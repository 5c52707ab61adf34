"""The alert desk's pure logic: which queue and filters a request asks for (checked before the
API is called, so hostile input never reaches it), and the SLA badge of each alert."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

TYPES = ("transaction_anomaly", "credit_risk", "churn", "custom")
SEVERITIES = ("low", "medium", "high", "critical")
STATUSES = ("new", "acknowledged", "investigating", "escalated", "resolved")
OPEN_STATUSES = frozenset(STATUSES) - {"resolved"}
SORTS = ("raised_at", "happened_at", "sla_due_at")
SLA_STATES = ("ok", "amber", "red")
# My queue (assigned to me), nobody's, a team's, everything I may see.
QUEUES = ("mine", "unassigned", "team", "all")
PAGE_SIZE = 50
MAX_TEXT = 200

SlaBadge = Literal["ok", "amber", "red", "met", "none"]
# Amber when less than this share of the SLA window is left, or less than the floor.
AMBER_SHARE = 0.25
AMBER_FLOOR = timedelta(minutes=30)


class InvalidFilter(ValueError):
    """A filter the desk does not know or a value it cannot take; names the field."""

    def __init__(self, field: str, value: str) -> None:
        super().__init__(f"{field}: {value[:40]!r} is not allowed")
        self.field = field


@dataclass(frozen=True)
class DeskQuery:
    queue: str = "all"
    type: str | None = None
    severity: str | None = None
    status: str | None = None
    customer_id: str | None = None
    rule_id: str | None = None
    assignee: str | None = None
    team: str | None = None
    sla_state: str | None = None
    raised_from: date | None = None
    raised_to: date | None = None
    sort: str = "raised_at"
    cursor: str | None = None

    def api_params(self) -> dict[str, str]:
        """The `GET /v1/alerts` query for this desk view."""
        params: dict[str, str] = {"sort": self.sort, "limit": str(PAGE_SIZE)}
        for name in FILTERS:
            value = getattr(self, name)
            if value is not None:
                params[name] = value
        if self.queue == "mine":
            params["assignee"] = "me"
        elif self.queue == "unassigned":
            params["assignee"] = "none"
        if self.raised_from is not None:
            params["raised_from"] = _midnight(self.raised_from).isoformat()
        if self.raised_to is not None:  # the whole day given is included
            params["raised_to"] = (_midnight(self.raised_to) + timedelta(days=1)).isoformat()
        if self.cursor is not None:
            params["cursor"] = self.cursor
        return params

    def stream_params(self) -> dict[str, str]:
        """The same view for `GET /v1/alerts/stream` (no page, no order)."""
        params = self.api_params()
        for name in ("sort", "limit", "cursor"):
            params.pop(name, None)
        return params

    def link_params(self, **changes: str | None) -> dict[str, str]:
        """This view's query string values (for links), with some changed or dropped."""
        values: dict[str, str | None] = {
            "queue": self.queue,
            "type": self.type,
            "severity": self.severity,
            "status": self.status,
            "customer_id": self.customer_id,
            "rule_id": self.rule_id,
            "assignee": self.assignee,
            "team": self.team,
            "sla_state": self.sla_state,
            "raised_from": self.raised_from.isoformat() if self.raised_from else None,
            "raised_to": self.raised_to.isoformat() if self.raised_to else None,
            "sort": self.sort,
        }
        values.update(changes)
        return {name: value for name, value in values.items() if value}


FILTERS = ("type", "severity", "status", "customer_id", "rule_id", "assignee", "team", "sla_state")


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _choice(args: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str | None:
    value = args.get(name, "").strip()
    if not value:
        return None
    if value not in allowed:
        raise InvalidFilter(name, value)
    return value


def _uuid(args: Mapping[str, str], name: str) -> str | None:
    value = args.get(name, "").strip()
    if not value:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise InvalidFilter(name, value) from None


def _day(args: Mapping[str, str], name: str) -> date | None:
    value = args.get(name, "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidFilter(name, value) from None


def _text(args: Mapping[str, str], name: str) -> str | None:
    value = args.get(name, "").strip()
    if not value:
        return None
    if len(value) > MAX_TEXT or not value.isprintable():
        raise InvalidFilter(name, value)
    return value


def parse_desk_query(args: Mapping[str, str]) -> DeskQuery:
    """The desk view a query string asks for; InvalidFilter for anything else."""
    cursor = _text(args, "cursor")
    if cursor is not None and len(cursor) > MAX_TEXT:
        raise InvalidFilter("cursor", cursor)
    return DeskQuery(
        queue=_choice(args, "queue", QUEUES) or "all",
        type=_choice(args, "type", TYPES),
        severity=_choice(args, "severity", SEVERITIES),
        status=_choice(args, "status", STATUSES),
        customer_id=_uuid(args, "customer_id"),
        rule_id=_uuid(args, "rule_id"),
        assignee=_text(args, "assignee"),
        team=_text(args, "team"),
        sla_state=_choice(args, "sla_state", SLA_STATES),
        raised_from=_day(args, "raised_from"),
        raised_to=_day(args, "raised_to"),
        sort=_choice(args, "sort", SORTS) or "raised_at",
        cursor=cursor,
    )


def sla_badge(
    *,
    status: str,
    raised_at: datetime | None,
    sla_due_at: datetime | None,
    resolved_at: datetime | None,
    now: datetime,
) -> SlaBadge:
    """Green while there is time, amber when little is left, red when overdue; for a resolved
    alert, whether it was resolved in time (met) or not (red)."""
    if sla_due_at is None:
        return "none"
    if status == "resolved":
        return "met" if resolved_at is not None and resolved_at <= sla_due_at else "red"
    left = sla_due_at - now
    if left <= timedelta(0):
        return "red"
    window = sla_due_at - raised_at if raised_at is not None else left
    if left < AMBER_FLOOR or left < window * AMBER_SHARE:
        return "amber"
    return "ok"
