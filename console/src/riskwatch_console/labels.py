"""Every code the API sends (status, severity, action...), as the message shown for it.

Pure: `label_for(locale)` gives the templates' `label()`; the messages are marked with `N_`
so the catalogue extraction finds them (`-k N_`). A dict built once, not per call: the desk
calls `label()` several times per row."""

from __future__ import annotations

from collections.abc import Callable

from riskwatch_console.i18n import translations


def N_(message: str) -> str:
    return message


LABELS: dict[str, str] = {
    "mine": N_("My queue"),
    "all": N_("All alerts"),
    "unassigned": N_("Unassigned"),
    "team": N_("Team queue"),
    "sla_due_at": N_("Soonest due first"),
    "transaction_anomaly": N_("Transaction anomaly"),
    "credit_risk": N_("Credit risk"),
    "churn": N_("Churn"),
    "custom": N_("Custom"),
    "low": N_("Low"),
    "medium": N_("Medium"),
    "high": N_("High"),
    "critical": N_("Critical"),
    "new": N_("New"),
    "acknowledged": N_("Acknowledged"),
    "investigating": N_("Investigating"),
    "escalated": N_("Escalated"),
    "resolved": N_("Resolved"),
    "raised_at": N_("Newest raised first"),
    "happened_at": N_("Newest happened first"),
    "ok": N_("On time"),
    "amber": N_("Due soon"),
    "red": N_("Overdue"),
    "met": N_("Met"),
    "none": N_("No SLA"),
    "acknowledge": N_("Acknowledge"),
    "assign": N_("Assign"),
    "investigate": N_("Investigate"),
    "comments": N_("Comment"),
    "contact": N_("Log a customer contact"),
    "escalate": N_("Escalate"),
    "measures": N_("Take a measure"),
    "resolve": N_("Resolve"),
    "reopen": N_("Reopen"),
    "call": N_("Call"),
    "email": N_("Email"),
    "sms": N_("SMS"),
    "branch_visit": N_("Branch visit"),
    "meeting": N_("Meeting"),
    "other": N_("Other"),
    "confirmed_risk": N_("Confirmed risk"),
    "false_positive": N_("False positive"),
    "mitigated_customer_contacted": N_("Mitigated: customer contacted"),
    "mitigated_limit_reduced": N_("Mitigated: limit reduced"),
    "mitigated_account_frozen": N_("Mitigated: account frozen"),
    "require_payment_review": N_("Review the customer's payments"),
    "reduce_limit": N_("Reduce the limit"),
    "freeze_account": N_("Freeze an account"),
    "comment": N_("Comment"),
    "assignee": N_("Assignee"),
    "note": N_("Note"),
    "reason": N_("Reason"),
    "outcome": N_("Outcome"),
    "channel": N_("Channel"),
    "kind": N_("Measure"),
    "new_limit": N_("New limit"),
    "currency": N_("Currency"),
    "account_id": N_("Account id"),
    "overall": N_("Overall"),
    "credit": N_("Credit"),
    "anomaly": N_("Anomaly"),
    "inbound": N_("In"),
    "outbound": N_("Out"),
    "card": N_("Card"),
    "transfer": N_("Transfer"),
    "atm": N_("ATM"),
    "online": N_("Online"),
    "mobile": N_("Mobile"),
    "add_to_list": N_("Add to a list"),
}


def label_for(locale: str) -> Callable[[object], str]:
    catalogue = translations(locale)

    def label(value: object) -> str:
        if value is None:
            return ""
        message = LABELS.get(str(value))
        return str(catalogue.gettext(message)) if message is not None else str(value)

    return label
