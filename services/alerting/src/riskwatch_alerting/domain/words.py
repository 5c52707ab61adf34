"""An alert's words: the message code and parameters of what happened, its title and summary
(rendered in English for the stored text; readers render `message_code` + `message_params` in
their own locale), its severity in step with the level it reports, and its reasons, each once
with its code. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from riskwatch_alerting.domain.evaluation_input import EvaluationInput
from riskwatch_shared.messages import (
    CUSTOM_RULE_CODE,
    MESSAGES,
    alert_code_of,
    render,
)
from riskwatch_shared.risk import LEVEL_RANK

# A rule whose words are the user's own: readers show the stored title and summary.
CUSTOM_TEXT_CODE = "alert.custom_text"

# Where each message parameter comes from in the evaluation input.
_SOURCES: Mapping[str, tuple[str, str]] = {
    "amount": ("txn", "amount"),
    "currency": ("txn", "currency"),
    "counterparty": ("txn", "counterparty_name"),
    "country": ("txn", "country"),
    "counterparty_country": ("txn", "counterparty_country"),
    "channel": ("txn", "channel"),
    "amount_to_avg_30d": ("txn", "amount_to_avg_30d"),
    "anomaly_score": ("score", "anomaly"),
    "anomaly_level": ("score", "anomaly_level"),
    "credit_level": ("risk", "credit_level"),
    "previous_credit_level": ("risk", "previous_credit_level"),
    "credit_pd": ("risk", "credit_pd"),
    "churn_level": ("risk", "churn_level"),
    "churn_probability": ("risk", "churn_probability"),
    "debt_to_income": ("customer", "debt_to_income"),
    "utilisation": ("customer", "utilisation"),
    "missed_payments": ("customer", "missed_payments"),
    "delinquencies_30": ("customer", "delinquencies_30"),
    "delinquencies_60": ("customer", "delinquencies_60"),
    "delinquencies_90": ("customer", "delinquencies_90"),
    "bureau_score": ("customer", "bureau_score"),
    "days_since_last_activity": ("customer", "days_since_last_activity"),
    "outflow_ratio_30d": ("customer", "outflow_ratio_30d"),
    "complaints_90d": ("customer", "complaints_90d"),
    # A credit early warning's (its input carries a `warning` namespace).
    "indicator": ("warning", "indicator"),
    "warning_level": ("warning", "level"),
    "since": ("warning", "since"),
    "evidence": ("warning", "evidence"),
}

# The level a template's alert reports: its severity is at least that level, so the title
# ("rose to critical"), the severity and the evidence never disagree.
SEVERITY_FOLLOWS: Mapping[str, str] = {"alert.credit_level_rose": "credit_level"}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def message_params(
    item: EvaluationInput, *, customer_name: str | None, rule_name: str
) -> dict[str, Any]:
    """The message parameters of an evaluated event (JSON-safe: numbers as text)."""
    params: dict[str, Any] = {"rule": rule_name, "happened_at": item.happened_at.isoformat()}
    if customer_name:
        params["customer"] = customer_name
    namespaces = item.namespaces
    for name, (namespace, field) in _SOURCES.items():
        value = namespaces.get(namespace, {}).get(field)
        if value is not None:
            params[name] = _plain(value)
    change = namespaces.get("customer", {}).get("bureau_score_change")
    if isinstance(change, int | float | Decimal) and change < 0:
        params["bureau_score_drop"] = str(-Decimal(str(change)))
    return params


@dataclass(frozen=True, slots=True)
class Words:
    code: str
    params: dict[str, Any]
    title: str
    summary: str
    severity: str


def alert_words(
    *,
    template_key: str | None,
    title_template: str | None,
    summary_template: str | None,
    rule_name: str,
    severity: str,
    params: dict[str, Any],
    customer_name: str | None,
) -> Words:
    """Title (with the customer, once), summary and severity of a new alert, in English."""
    code = alert_code_of(template_key)
    message = MESSAGES[code]
    own = title_template is not None or summary_template is not None
    if own:
        code = CUSTOM_TEXT_CODE
    title = render(title_template, params) if title_template else message.render_title(params)
    if summary_template:
        summary = render(summary_template, params)
    else:  # a user's own title alone keeps the default summary of a custom rule
        summary = (MESSAGES[CUSTOM_RULE_CODE] if own else message).render_summary(params)
    if customer_name and customer_name not in title:
        title = f"{title}: {customer_name}"
    level = params.get(SEVERITY_FOLLOWS.get(code, ""))
    if isinstance(level, str) and LEVEL_RANK.get(level, -1) > LEVEL_RANK.get(severity, 0):
        severity = level
    return Words(code, params, title[:300], summary, severity)
