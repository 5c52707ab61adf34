"""The synthetic bank's records (pure data, no I/O).

Every record carries an `external_id` the simulator controls; the services answer with their own
UUIDs, which the client keeps in a mapping.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

CustomerKind = Literal["individual", "corporate"]
Direction = Literal["inbound", "outbound"]
Channel = Literal["card", "transfer", "atm", "online", "mobile"]
InteractionChannel = Literal["call", "email", "branch_visit", "app", "complaint", "meeting"]
LabelKind = Literal["credit", "churn", "anomaly"]
Pattern = Literal[
    "card_fraud_burst",
    "account_takeover",
    "structuring",
    "mule_account",
    "credit_deterioration",
    "churn",
]

PATTERNS: tuple[Pattern, ...] = (
    "card_fraud_burst",
    "account_takeover",
    "structuring",
    "mule_account",
    "credit_deterioration",
    "churn",
)
# The model a pattern's outcome trains.
PATTERN_LABEL_KIND: dict[Pattern, LabelKind] = {
    "card_fraud_burst": "anomaly",
    "account_takeover": "anomaly",
    "structuring": "anomaly",
    "mule_account": "anomaly",
    "credit_deterioration": "credit",
    "churn": "churn",
}
LABEL_KINDS: tuple[LabelKind, ...] = ("credit", "churn", "anomaly")


@dataclass(frozen=True, slots=True)
class Customer:
    external_id: str
    kind: CustomerKind
    name: str
    document: str
    phone: str
    email: str
    country: str
    segment: str
    relationship_manager: str
    home_currency: str
    onboarded_on: date
    usual_devices: tuple[str, ...]
    usual_countries: tuple[str, ...]
    usual_ip_prefix: str


@dataclass(frozen=True, slots=True)
class Account:
    external_id: str
    customer_external_id: str
    number: str
    type: str
    currency: str
    opened_on: date


@dataclass(frozen=True, slots=True)
class CreditRecord:
    external_id: str
    customer_external_id: str
    source: Literal["bureau", "internal"]
    credit_score: int
    delinquencies_30: int
    delinquencies_60: int
    delinquencies_90: int
    missed_payments: int
    outstanding_debt: Decimal
    credit_limit: Decimal
    defaults: int
    recent_inquiries: int
    currency: str
    as_of: date


@dataclass(frozen=True, slots=True)
class FinancialProfile:
    external_id: str
    customer_external_id: str
    annual_income: Decimal
    currency: str
    assets: dict[str, Decimal]
    liabilities: dict[str, Decimal]
    as_of: date


@dataclass(frozen=True, slots=True)
class Interaction:
    external_id: str
    customer_external_id: str
    channel: InteractionChannel
    direction: Direction
    summary: str
    outcome: str | None
    staff_member: str | None
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class Transaction:
    external_id: str
    customer_external_id: str
    account_external_id: str
    direction: Direction
    amount: Decimal
    currency: str
    channel: Channel
    occurred_at: datetime
    counterparty_name: str | None = None
    counterparty_account: str | None = None
    counterparty_bank: str | None = None
    counterparty_country: str | None = None
    merchant_category_code: str | None = None
    device_id: str | None = None
    ip_address: str | None = None
    country: str | None = None


@dataclass(frozen=True, slots=True)
class Label:
    """Ground truth for one injected pattern on one customer."""

    pattern: Pattern
    customer_external_id: str
    starts_at: datetime
    ends_at: datetime
    transaction_external_ids: tuple[str, ...] = ()
    record_external_ids: tuple[str, ...] = ()
    # 1 when the pattern's model outcome happened (a default, a churn, a fraud); 0 otherwise.
    outcome: int = 1
    detail: str = ""
    # When the outcome showed (a churner gone quiet): how early a warning came is measured
    # against it.
    outcome_at: datetime | None = None
    # Which form of the pattern ("" for the blatant one the first simulated bank had; the
    # harder bank's subtle ones: "near_usual", "across_days", "slow_layering", "gradual").
    variant: str = ""

    @property
    def kind(self) -> LabelKind:
        return PATTERN_LABEL_KIND[self.pattern]

    @property
    def external_ids(self) -> tuple[str, ...]:
        return self.transaction_external_ids + self.record_external_ids


@dataclass(frozen=True, slots=True)
class LabelOutcome:
    """One training outcome to post to scoring (`POST /v1/labels`)."""

    customer_external_id: str
    kind: LabelKind
    outcome: int
    observed_at: datetime


@dataclass(slots=True)
class Bank:
    seed: int
    start: datetime
    now: datetime
    customers: list[Customer] = field(default_factory=list)
    accounts: list[Account] = field(default_factory=list)
    credit_records: list[CreditRecord] = field(default_factory=list)
    financial_profiles: list[FinancialProfile] = field(default_factory=list)
    interactions: list[Interaction] = field(default_factory=list)
    transactions: list[Transaction] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """How many of each record the bank holds, and how many labels per pattern."""
        kinds = Counter(customer.kind for customer in self.customers)
        patterns = Counter(label.pattern for label in self.labels)
        counts = {
            "customers": len(self.customers),
            "individuals": kinds["individual"],
            "corporates": kinds["corporate"],
            "accounts": len(self.accounts),
            "credit_records": len(self.credit_records),
            "financial_profiles": len(self.financial_profiles),
            "interactions": len(self.interactions),
            "transactions": len(self.transactions),
            "labels": len(self.labels),
        }
        counts.update({f"label:{pattern}": patterns[pattern] for pattern in PATTERNS})
        return counts

    def accounts_of(self) -> dict[str, list[Account]]:
        by_customer: dict[str, list[Account]] = {}
        for account in self.accounts:
            by_customer.setdefault(account.customer_external_id, []).append(account)
        return by_customer


def label_outcomes(bank: Bank) -> list[LabelOutcome]:
    """One outcome per customer and model kind: 1 where a positive label says so, else 0."""
    positive: dict[tuple[str, LabelKind], datetime] = {}
    for label in bank.labels:
        if label.outcome == 1:
            key = (label.customer_external_id, label.kind)
            positive[key] = min(label.ends_at, positive.get(key, label.ends_at))
    outcomes = []
    for customer in bank.customers:
        for kind in LABEL_KINDS:
            observed_at = positive.get((customer.external_id, kind))
            outcomes.append(
                LabelOutcome(
                    customer_external_id=customer.external_id,
                    kind=kind,
                    outcome=1 if observed_at is not None else 0,
                    observed_at=observed_at or bank.now,
                )
            )
    return outcomes
