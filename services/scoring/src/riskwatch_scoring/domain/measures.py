"""Risk-control measures in force on a customer, and what they do to a payment (pure).

The customer service announces each measure taken or lifted; scoring keeps those in force in
the customer's state. A frozen account's transactions are blocked whatever the model says;
with payments under review, every outgoing payment needs at least a review; with a reduced
limit, an outgoing payment above it (in the limit's currency) needs at least a review.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

MeasureState = dict[str, Any]

ACTION_ORDER = ("approve", "review", "block")
ACCOUNT_FROZEN = "account_frozen"
PAYMENT_REVIEW = "payment_review_required"
LIMIT_EXCEEDED = "reduced_limit_exceeded"
ADVICE = {
    LIMIT_EXCEEDED: "the payment is above the customer's reduced limit: hold it for an analyst",
    ACCOUNT_FROZEN: "the account is frozen: refuse the payment and refer the customer to the "
    "analyst who froze it",
    PAYMENT_REVIEW: "outgoing payments of this customer are under review: hold the payment "
    "for an analyst",
}
# What a measure keeps in the customer's state (the rest stays on the customer's record).
KEPT_FIELDS = (
    "kind",
    "account_id",
    "limit_amount",
    "limit_currency",
    "list_name",
    "list_value",
    "alert_id",
    "taken_at",
)


def measure_state(fields: Mapping[str, Any]) -> MeasureState:
    """The measure as kept in the state: JSON-ready values, empty fields left out."""
    return {name: fields[name] for name in KEPT_FIELDS if fields.get(name) is not None}


def stricter(first: str, second: str) -> str:
    """The stricter of two recommended actions."""
    return max(first, second, key=ACTION_ORDER.index)


def measure_action(
    measures: Mapping[str, MeasureState],
    *,
    account_id: str | None,
    direction: str,
    amount: Decimal | None = None,
    currency: str | None = None,
) -> tuple[str, list[dict[str, Any]]]:
    """The action the measures in force require for a payment, and their reason rows.

    `approve` (nothing required) when none applies."""
    reasons: list[dict[str, Any]] = []
    action = "approve"
    for measure_id, measure in sorted(measures.items()):
        kind = measure.get("kind")
        if kind == "freeze_account" and account_id and measure.get("account_id") == account_id:
            action = "block"
            reasons.append(_reason(ACCOUNT_FROZEN, "The account is frozen", measure_id))
        elif kind == "require_payment_review" and direction == "outbound":
            action = stricter(action, "review")
            reasons.append(
                _reason(PAYMENT_REVIEW, "Outgoing payments are under review", measure_id)
            )
    limit_id, limit = _latest_limit(measures)
    if (
        limit is not None
        and direction == "outbound"
        and amount is not None
        and currency == limit.get("limit_currency")
        and (ceiling := _decimal(limit.get("limit_amount"))) is not None
        and amount > ceiling
    ):
        action = stricter(action, "review")
        reasons.append(_reason(LIMIT_EXCEEDED, "The payment is above the reduced limit", limit_id))
    return action, reasons


def _latest_limit(measures: Mapping[str, MeasureState]) -> tuple[str, MeasureState | None]:
    limits = [(key, m) for key, m in measures.items() if m.get("kind") == "reduce_limit"]
    if not limits:
        return "", None
    return max(limits, key=lambda item: str(item[1].get("taken_at", "")))


def _decimal(value: Any) -> Decimal | None:
    try:
        return None if value is None else Decimal(str(value))
    except InvalidOperation:
        return None


def _reason(code: str, message: str, measure_id: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "contribution": 0.0,
        "value": measure_id,
        "advice": ADVICE[code],
    }


def measure_features(measures: Mapping[str, MeasureState]) -> dict[str, Any]:
    """The measures as customer features: counts and flags, the reduced limit, and the list."""
    kinds = [m.get("kind") for m in measures.values()]
    frozen = sorted(
        str(m["account_id"]) for m in measures.values() if m.get("kind") == "freeze_account"
    )
    limits = sorted(
        (m for m in measures.values() if m.get("kind") == "reduce_limit"),
        key=lambda m: str(m.get("taken_at", "")),
    )
    latest_limit = limits[-1] if limits else None
    return {
        "active_measures": len(measures),
        "frozen_accounts": len(frozen),
        "frozen_account_ids": frozen,
        "payment_review_required": "require_payment_review" in kinds,
        "limit_reduced": latest_limit is not None,
        "reduced_limit": latest_limit.get("limit_amount") if latest_limit else None,
        "reduced_limit_currency": latest_limit.get("limit_currency") if latest_limit else None,
        "measures": [{"measure_id": key, **value} for key, value in sorted(measures.items())],
    }
