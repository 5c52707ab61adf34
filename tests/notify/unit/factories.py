"""Plain factories for notify's value objects."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

from riskwatch_notify.domain.models import Alert, Recipient, RuleType, Severity


def make_alert(**overrides: Any) -> Alert:
    fields: dict[str, Any] = {
        "alert_id": uuid4(),
        "rule_id": "rule-large-wire",
        "rule_name": "Large outbound wire",
        "rule_type": RuleType.TRANSACTION_ANOMALY,
        "severity": Severity.HIGH,
        "customer_id": "CUST-0042",
        "customer_name": "Acme Trading Ltd",
        "relationship_manager": "rm-7",
        "title": "Outbound wire 6x above usual",
        "summary": "A wire of 150,000.00 EUR to a new beneficiary.",
        "raised_at": datetime(2024, 3, 5, 13, 30, tzinfo=UTC),
        "url": "https://riskwatch.example/alerts/42",
        "evidence": {
            "amount": {"amount": "150000.00", "currency": "EUR"},
            "z_score": Decimal("6.2"),
            "beneficiary_country": "KY",
        },
        "reasons": ("Amount is 6.2 standard deviations above the 90-day mean",),
        "suggested_actions": ("Call the customer to confirm the payment",),
    }
    fields.update(overrides)
    return Alert(**fields)


def make_recipient(**overrides: Any) -> Recipient:
    fields: dict[str, Any] = {
        "recipient_id": "u-alice",
        "name": "Alice",
        "locale": "en",
        "time_zone": "Europe/Berlin",
        "email": "alice@bank.example",
        "phone": "+4915112345678",
    }
    fields.update(overrides)
    return Recipient(**fields)
