"""Cases as pure logic: grouping policy, priority, SLA, status transitions, the timeline.

open -> investigating -> closed (with an outcome, resolving the case's open alerts); a closed
case can be reopened (back to investigating). While a case is open, a new alert of its group
joins it and bumps it: the priority becomes the worst alert's, the SLA the earliest.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

from riskwatch_shared.risk import highest

CaseStatus = Literal["open", "investigating", "closed"]
CaseAction = Literal["assign", "investigate", "comment", "close", "reopen"]
GroupingPolicy = Literal["grouped", "separate"]

CASE_STATUSES: tuple[str, ...] = get_args(CaseStatus)
OPEN_CASE_STATUSES = frozenset({"open", "investigating"})

# Per rule type: `grouped` alerts join their customer's open case; `separate` ones get their
# own. Custom rules are ad-hoc checks an analyst works one by one.
DEFAULT_POLICY: dict[str, GroupingPolicy] = {
    "transaction_anomaly": "grouped",
    "credit_risk": "grouped",
    "churn": "grouped",
    "custom": "separate",
}

_TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    "assign": (OPEN_CASE_STATUSES, None),
    "investigate": (frozenset({"open"}), "investigating"),
    "comment": (frozenset(CASE_STATUSES), None),
    "close": (OPEN_CASE_STATUSES, "closed"),
    "reopen": (frozenset({"closed"}), "investigating"),
}
CHANGE_OF_CASE_ACTION: dict[str, str] = {
    "assign": "assigned",
    "investigate": "investigating",
    "comment": "commented",
    "close": "closed",
    "reopen": "reopened",
}


class CaseTransitionRefused(Exception):
    def __init__(self, action: str, status: str) -> None:
        allowed = sorted(_TRANSITIONS[action][0]) if action in _TRANSITIONS else []
        super().__init__(
            f"cannot {action} a case that is {status}"
            + (f"; allowed from: {', '.join(allowed)}" if allowed else "")
        )


def next_case_status(status: str, action: str) -> str:
    allowed_from, target = _TRANSITIONS.get(action, (frozenset(), None))
    if status not in allowed_from:
        raise CaseTransitionRefused(action, status)
    return status if target is None else target


def allowed_case_actions(status: str) -> list[str]:
    return [action for action, (allowed, _) in _TRANSITIONS.items() if status in allowed]


def policy_of(rule_type: str, overrides: Mapping[str, str] | None = None) -> str:
    policy = (overrides or {}).get(rule_type) or DEFAULT_POLICY.get(rule_type, "grouped")
    return policy if policy in ("grouped", "separate") else "grouped"


def group_key(
    rule_type: str,
    customer_id: uuid.UUID | None,
    alert_id: uuid.UUID,
    overrides: Mapping[str, str] | None = None,
) -> str:
    """The open case an alert belongs to: its customer's, or its own."""
    if customer_id is None or policy_of(rule_type, overrides) == "separate":
        return f"alert:{alert_id}"
    return f"customer:{customer_id}"


@dataclass
class CaseDraft:
    """A case the batch opens or bumps: its alerts in order, the worst priority, the SLA."""

    group_key: str
    case_id: uuid.UUID
    is_new: bool
    priority: str
    sla_due_at: datetime
    customer_id: uuid.UUID | None = None
    customer_name: str | None = None
    relationship_manager: str | None = None
    alerts: list[dict[str, Any]] = field(default_factory=list)
    bumped: bool = False


@dataclass(frozen=True)
class OpenCase:
    id: uuid.UUID
    priority: str
    sla_due_at: datetime


def place_alerts(
    alerts: Iterable[Mapping[str, Any]],
    open_cases: Mapping[str, OpenCase],
    overrides: Mapping[str, str] | None = None,
) -> dict[str, CaseDraft]:
    """Group new alert rows (id, rule_type, customer_id, severity, sla_due_at, ...) by case:
    into the group's open case (bumped when the alert is worse or due sooner) or a new one."""
    drafts: dict[str, CaseDraft] = {}
    for alert in alerts:
        key = group_key(alert["rule_type"], alert["customer_id"], alert["id"], overrides)
        draft = drafts.get(key)
        if draft is None:
            existing = open_cases.get(key)
            draft = drafts[key] = CaseDraft(
                group_key=key,
                case_id=existing.id if existing else uuid.uuid4(),
                is_new=existing is None,
                priority=existing.priority if existing else alert["severity"],
                sla_due_at=existing.sla_due_at if existing else alert["sla_due_at"],
                customer_id=alert["customer_id"],
                customer_name=alert.get("customer_name"),
                relationship_manager=alert.get("relationship_manager"),
            )
        before = (draft.priority, draft.sla_due_at)
        draft.priority = highest((draft.priority, alert["severity"])).value
        draft.sla_due_at = min(draft.sla_due_at, alert["sla_due_at"])
        draft.bumped = draft.bumped or (draft.priority, draft.sla_due_at) != before
        draft.alerts.append(dict(alert))
    return drafts


# --- the timeline ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineItem:
    """One entry of a case's timeline, whatever its source."""

    at: datetime
    source: Literal["case", "alert", "notification"]
    change: str
    actor: str | None
    actor_name: str | None
    actor_roles: list[str]
    alert_id: uuid.UUID | None
    detail: dict[str, Any]


def roles_text(roles: Iterable[str]) -> str:
    return ",".join(roles)


def roles_of(text: str | None) -> list[str]:
    return [role for role in (text or "").split(",") if role]


def display_name(actor: str | None, actor_name: str | None) -> str | None:
    """The name a person reads: the identity's name, `System` for the event path."""
    if actor_name:
        return actor_name
    if actor == "system":
        return "System"
    if actor == "notify":
        return "Notify"
    return actor


def merged_timeline(items: Iterable[TimelineItem]) -> list[TimelineItem]:
    """Oldest first; at equal times cases before alerts before notifications (stable)."""
    order = {"case": 0, "alert": 1, "notification": 2}
    return sorted(items, key=lambda item: (item.at, order[item.source]))
