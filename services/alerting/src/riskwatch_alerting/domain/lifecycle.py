"""The alert lifecycle as pure logic: which action is allowed from which status.

new -> acknowledged -> investigating -> (escalated) -> resolved (with an outcome); a resolved
alert can be reopened (back to investigating). Assignment, comments, "customer contacted" and
risk-control measures do not change the status; assigning, contacting and taking a measure are
refused once an alert is resolved.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal, get_args

AlertStatus = Literal["new", "acknowledged", "investigating", "escalated", "resolved"]
AlertAction = Literal[
    "acknowledge",
    "investigate",
    "escalate",
    "resolve",
    "reopen",
    "assign",
    "comment",
    "contact",
    "measure",
]
Outcome = Literal[
    "confirmed_risk",
    "false_positive",
    "mitigated_customer_contacted",
    "mitigated_limit_reduced",
    "mitigated_account_frozen",
]

STATUSES: tuple[str, ...] = get_args(AlertStatus)
ACTIONS: tuple[str, ...] = get_args(AlertAction)
OUTCOMES: tuple[str, ...] = get_args(Outcome)
OPEN_STATUSES = frozenset({"new", "acknowledged", "investigating", "escalated"})

# action -> (statuses it is allowed from, the status it leads to; None keeps the status)
_TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    "acknowledge": (frozenset({"new"}), "acknowledged"),
    "investigate": (frozenset({"new", "acknowledged", "escalated"}), "investigating"),
    "escalate": (frozenset({"new", "acknowledged", "investigating"}), "escalated"),
    "resolve": (OPEN_STATUSES, "resolved"),
    "reopen": (frozenset({"resolved"}), "investigating"),
    "assign": (OPEN_STATUSES, None),
    "contact": (OPEN_STATUSES, None),
    "measure": (OPEN_STATUSES, None),
    "comment": (frozenset(STATUSES), None),
}

# The change name each action reports in the timeline and in alert_updated.v1.
CHANGE_OF_ACTION: dict[str, str] = {
    "acknowledge": "acknowledged",
    "investigate": "investigating",
    "escalate": "escalated",
    "resolve": "resolved",
    "reopen": "reopened",
    "assign": "assigned",
    "contact": "customer_contacted",
    "measure": "measure_taken",
    "comment": "commented",
}

# Time to handle an alert, by severity.
SLA_BY_SEVERITY: dict[str, timedelta] = {
    "critical": timedelta(hours=1),
    "high": timedelta(hours=4),
    "medium": timedelta(hours=24),
    "low": timedelta(hours=72),
}


class TransitionRefused(Exception):
    """The action is not allowed from the alert's current status."""

    def __init__(self, action: str, status: str) -> None:
        allowed = sorted(_TRANSITIONS[action][0]) if action in _TRANSITIONS else []
        super().__init__(
            f"cannot {action} an alert that is {status}"
            + (f"; allowed from: {', '.join(allowed)}" if allowed else "")
        )
        self.action = action
        self.status = status


def next_status(status: str, action: str) -> str:
    """The status after `action`, or TransitionRefused."""
    allowed_from, target = _TRANSITIONS.get(action, (frozenset(), None))
    if status not in allowed_from:
        raise TransitionRefused(action, status)
    return status if target is None else target


def allowed_actions(status: str) -> list[str]:
    return [action for action, (allowed, _) in _TRANSITIONS.items() if status in allowed]


def mitigation_of(outcome: str) -> str | None:
    """`mitigated_limit_reduced` -> `limit_reduced`; other outcomes have no mitigation."""
    prefix = "mitigated_"
    return outcome[len(prefix) :] if outcome.startswith(prefix) else None
