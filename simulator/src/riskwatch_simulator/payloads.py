"""The synthetic bank's records as RiskWatch API request bodies (pure).

The services answer with their own ids; `IdMap` keeps the bank's external ids to them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from riskwatch_simulator.bank import (
    Account,
    CreditRecord,
    Customer,
    FinancialProfile,
    Interaction,
    LabelOutcome,
    Transaction,
)

SIMULATED_TAG = "simulated"


@dataclass(slots=True)
class IdMap:
    customers: dict[str, str] = field(default_factory=dict)
    accounts: dict[str, str] = field(default_factory=dict)

    def customer_external_ids(self) -> dict[str, str]:
        return {service_id: external for external, service_id in self.customers.items()}


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def customer_body(customer: Customer) -> dict[str, Any]:
    document_type, _, document_number = customer.document.partition(":")
    return {
        "kind": customer.kind,
        "name": customer.name,
        "document_type": document_type,
        "document_number": document_number,
        "phone": customer.phone,
        "email": customer.email,
        "country": customer.country,
        "segment": customer.segment,
        "kyc_status": "verified",
        "relationship_manager": customer.relationship_manager,
        "tags": [SIMULATED_TAG, f"sim:{customer.external_id}"],
    }


def account_body(account: Account) -> dict[str, Any]:
    return {
        "number": account.number,
        "type": account.type,
        "currency": account.currency,
        "status": "active",
        "opened_at": account.opened_on.isoformat(),
    }


def credit_record_body(record: CreditRecord) -> dict[str, Any]:
    return {
        "source": record.source,
        "credit_score": record.credit_score,
        "delinquencies_30": record.delinquencies_30,
        "delinquencies_60": record.delinquencies_60,
        "delinquencies_90": record.delinquencies_90,
        "missed_payments": record.missed_payments,
        "outstanding_debt": str(record.outstanding_debt),
        "credit_limit": str(record.credit_limit),
        "defaults": record.defaults,
        "recent_inquiries": record.recent_inquiries,
        "currency": record.currency,
        "as_of": record.as_of.isoformat(),
    }


def financial_profile_body(profile: FinancialProfile) -> dict[str, Any]:
    return {
        "annual_income": str(profile.annual_income),
        "currency": profile.currency,
        "assets": {name: str(value) for name, value in profile.assets.items()},
        "liabilities": {name: str(value) for name, value in profile.liabilities.items()},
        "as_of": profile.as_of.isoformat(),
    }


def interaction_body(interaction: Interaction) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel": interaction.channel,
        "direction": interaction.direction,
        "summary": interaction.summary,
        "occurred_at": _iso(interaction.occurred_at),
    }
    if interaction.outcome is not None:
        body["outcome"] = interaction.outcome
    if interaction.staff_member is not None:
        body["staff_member"] = interaction.staff_member
    return body


def transaction_body(transaction: Transaction, ids: IdMap) -> dict[str, Any]:
    body: dict[str, Any] = {
        "external_id": transaction.external_id,
        "customer_id": ids.customers[transaction.customer_external_id],
        "account_id": ids.accounts.get(transaction.account_external_id),
        "direction": transaction.direction,
        "amount": str(transaction.amount),
        "currency": transaction.currency,
        "channel": transaction.channel,
        "occurred_at": _iso(transaction.occurred_at),
    }
    optional = {
        "counterparty_name": transaction.counterparty_name,
        "counterparty_account": transaction.counterparty_account,
        "counterparty_bank": transaction.counterparty_bank,
        "counterparty_country": transaction.counterparty_country,
        "merchant_category_code": transaction.merchant_category_code,
        "device_id": transaction.device_id,
        "ip_address": transaction.ip_address,
        "country": transaction.country,
    }
    body.update({name: value for name, value in optional.items() if value is not None})
    if body["account_id"] is None:
        del body["account_id"]
    return body


def label_body(outcome: LabelOutcome, ids: IdMap) -> dict[str, Any]:
    return {
        "customer_id": ids.customers[outcome.customer_external_id],
        "kind": outcome.kind,
        "outcome": outcome.outcome,
        "observed_at": _iso(outcome.observed_at),
    }
