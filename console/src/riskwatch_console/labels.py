"""Every code the API sends (status, severity, action, timeline change, evidence field...), as
the message shown for it.

Pure: `label_for(locale)` gives the templates' `label()`; the messages are marked with `N_`
so the catalogue extraction finds them (`-k N_`). A dict built once, not per call: the desk
calls `label()` several times per row. A code not in the catalogue is shown humanised
(`riskwatch_console.words.humanised`), never as a raw code."""

from __future__ import annotations

from collections.abc import Callable

from riskwatch_console.i18n import translations
from riskwatch_console.studio_labels import STUDIO_LABELS
from riskwatch_console.words import humanised


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
    # The timeline's changes (alerting's timeline and alert_updated.v1 `change`).
    "raised": N_("Alert raised"),
    "opened": N_("Case opened"),
    "alert_added": N_("Alert added to the case"),
    "occurrence_added": N_("Happened again"),
    "assigned": N_("Assigned"),
    "reopened": N_("Reopened"),
    "commented": N_("Commented"),
    "customer_contacted": N_("Customer contacted"),
    "measure_taken": N_("Measure taken"),
    "notification_sent": N_("Notification sent"),
    "delivery_failed": N_("Delivery failed"),
    "escalation_cancelled": N_("Escalation stopped"),
    "closed": N_("Closed"),
    # The timeline's details.
    "rule_version": N_("Rule version"),
    "event_type": N_("What happened"),
    "occurrences": N_("Times"),
    "status": N_("Status"),
    "previous_status": N_("Status before"),
    "limit_amount": N_("Limit"),
    "list_name": N_("List"),
    "value": N_("Value"),
    "measure_id": N_("Measure"),
    "recipient": N_("Recipient"),
    "error": N_("Error"),
    # The events an alert can be raised by.
    "scoring.transaction_scored.v1": N_("A payment was scored"),
    "scoring.customer_assessed.v1": N_("The customer was assessed"),
    "scoring.customer_risk_level_changed.v1": N_("The customer's risk level changed"),
    "customer.credit_record_added.v1": N_("A credit record was added"),
    "customer.financial_profile_updated.v1": N_("The financial profile changed"),
    "customer.interaction_logged.v1": N_("An interaction was logged"),
    "customer.transaction_received.v1": N_("A payment came in"),
    # Evidence and scores the kit's catalogue does not name.
    "amount": N_("Amount"),
    "country": N_("Country"),
    "counterparty": N_("Counterparty"),
    "counterparty_country": N_("Counterparty country"),
    "counterparty_account": N_("Counterparty account"),
    "txn.counterparty_account": N_("Counterparty account"),
    "credit_pd": N_("Probability of default"),
    "credit_level": N_("Credit risk level"),
    "anomaly_level": N_("Anomaly level"),
    "churn_level": N_("Churn risk level"),
    "churn_probability": N_("Churn probability"),
    "overall_level": N_("Overall risk level"),
    "anomaly_score": N_("Anomaly score"),
    "yes": N_("yes"),
    "no": N_("no"),
    # The customer's record: KYC, documents, accounts, statuses.
    "pending": N_("Pending"),
    "verified": N_("Verified"),
    "rejected": N_("Rejected"),
    "expired": N_("Expired"),
    "passport": N_("Passport"),
    "national_id": N_("National ID"),
    "id_card": N_("ID card"),
    "driving_licence": N_("Driving licence"),
    "company_registration": N_("Company registration"),
    "current": N_("Current account"),
    "savings": N_("Savings account"),
    "loan": N_("Loan"),
    "mortgage": N_("Mortgage"),
    "credit_card": N_("Credit card"),
    "deposit": N_("Deposit"),
    "active": N_("Active"),
    "dormant": N_("Dormant"),
    "frozen": N_("Frozen"),
    "lifted": N_("Lifted"),
    "completed": N_("Completed"),
    "failed": N_("Failed"),
    "reversed": N_("Reversed"),
    "individual": N_("Individual"),
    "corporate": N_("Corporate"),
    "retail": N_("Retail"),
    "app": N_("App"),
    "complaint": N_("Complaint"),
    "bureau": N_("Credit bureau"),
    "internal": N_("Internal"),
    # The 360's transaction filters.
    "direction": N_("Direction"),
    "min_amount": N_("Amount from"),
    "max_amount": N_("Amount up to"),
    "occurred_from": N_("From"),
    "occurred_to": N_("To"),
    # Alerting's default suggested actions, per rule type.
    "Review the transaction and the customer's recent activity": N_(
        "Review the transaction and the customer's recent activity"
    ),
    "Contact the customer to confirm the payment": N_(
        "Contact the customer to confirm the payment"
    ),
    "Hold or block further payments if the customer cannot confirm": N_(
        "Hold or block further payments if the customer cannot confirm"
    ),
    "Review the customer's credit file and repayment capacity": N_(
        "Review the customer's credit file and repayment capacity"
    ),
    "Contact the customer about a repayment plan": N_(
        "Contact the customer about a repayment plan"
    ),
    "Consider reducing the credit limit": N_("Consider reducing the credit limit"),
    "Ask the relationship manager to contact the customer": N_(
        "Ask the relationship manager to contact the customer"
    ),
    "Review pricing and offers for the customer's segment": N_(
        "Review pricing and offers for the customer's segment"
    ),
    "Review the alert's evidence": N_("Review the alert's evidence"),
    # Cases and the watch list.
    "open": N_("Open"),
    "exited": N_("Left the watch list"),
    "analyst": N_("an analyst's decision"),
    "rule": N_("raised by a rule"),
    "warning": N_("raised by an early warning"),
    **STUDIO_LABELS,
}


def label_for(locale: str) -> Callable[[object], str]:
    catalogue = translations(locale)

    def label(value: object) -> str:
        if value is None:
            return ""
        message = LABELS.get(str(value))
        return str(catalogue.gettext(message)) if message is not None else humanised(str(value))

    return label
