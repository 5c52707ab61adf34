"""The case page's actions: which form field goes into which API body (pure). The API
validates the values and its refusals are shown under the form."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from riskwatch_shared.policy import DEFAULT_POLICY, decide

# Action -> the form fields its API body takes, in the order the form shows them.
ACTION_FIELDS: dict[str, tuple[str, ...]] = {
    "acknowledge": ("comment",),
    "assign": ("assignee", "team"),
    "investigate": ("comment",),
    "comments": ("comment",),
    "contact": ("channel", "note"),
    "escalate": ("reason", "team"),
    "measures": ("kind", "new_limit", "currency", "account_id", "reason"),
    "resolve": ("outcome", "comment"),
    "reopen": ("reason",),
}
# The alert API names an action "comment" or "measure" in `allowed_actions`, and posts it to
# `comments` / `measures`.
ALLOWED_NAME = {"comments": "comment", "measures": "measure"}
CONTACT_CHANNELS = ("call", "email", "sms", "branch_visit", "meeting", "other")
OUTCOMES = (
    "confirmed_risk",
    "false_positive",
    "mitigated_customer_contacted",
    "mitigated_limit_reduced",
    "mitigated_account_frozen",
)
MEASURE_KINDS = ("require_payment_review", "reduce_limit", "freeze_account")
MEASURE_FIELDS = {
    "require_payment_review": ("reason",),
    "reduce_limit": ("new_limit", "currency", "reason"),
    "freeze_account": ("account_id", "reason"),
}
MAX_FIELD = 4_000


def action_body(action: str, form: Mapping[str, str]) -> dict[str, Any]:
    """The JSON body of an action from its form: filled fields only, trimmed."""
    fields = ACTION_FIELDS[action]
    if action == "measures":
        kind = form.get("kind", "")
        fields = ("kind", *MEASURE_FIELDS.get(kind, ()))
    body: dict[str, Any] = {}
    for name in fields:
        value = str(form.get(name, "")).strip()[: MAX_FIELD + 1]
        if value:
            body[name] = value
    return body


def may(roles: Iterable[str], method: str, path: str) -> bool:
    """Whether the role table lets these roles make this API call (what may not be done is
    not offered; the API refuses it anyway)."""
    return decide(DEFAULT_POLICY.rule_for(method, path), roles, ())


def offered_actions(
    alert_id: str, allowed_by_state: Iterable[str], roles: Iterable[str]
) -> list[str]:
    """The actions to show on a case: allowed in the alert's state and to the person's roles."""
    allowed = set(allowed_by_state)
    role_list = tuple(roles)
    return [
        action
        for action in ACTION_FIELDS
        if ALLOWED_NAME.get(action, action) in allowed
        and may(role_list, "POST", f"/v1/alerts/{alert_id}/{action}")
    ]
