"""The inputs the scoring models read: transactions, credit records, financial profiles."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

Direction = Literal["inbound", "outbound"]
TransactionChannel = Literal["card", "transfer", "atm", "online", "mobile"]
CreditSource = Literal["bureau", "internal"]
InteractionChannel = Literal[
    "call", "email", "sms", "branch_visit", "app", "complaint", "meeting", "other"
]

TRANSACTION_CHANNELS: frozenset[str] = frozenset({"card", "transfer", "atm", "online", "mobile"})
DIRECTIONS: frozenset[str] = frozenset({"inbound", "outbound"})
RETURNED_STATUSES: frozenset[str] = frozenset({"failed", "reversed"})


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


@dataclass(frozen=True, slots=True)
class Transaction:
    """One money movement on a customer's account."""

    transaction_id: UUID
    customer_id: UUID
    account_id: str
    direction: Direction
    amount: Decimal
    currency: str
    channel: TransactionChannel
    counterparty_account: str
    counterparty_country: str
    country: str
    occurred_at: datetime
    device_id: str | None = None
    mcc: str | None = None
    # completed, pending, failed or reversed (a failed or reversed outgoing payment is a
    # returned payment, an early-warning indicator).
    status: str = "completed"

    @property
    def is_returned_payment(self) -> bool:
        return self.direction == "outbound" and self.status in RETURNED_STATUSES

    def __post_init__(self) -> None:
        _require_aware(self.occurred_at, "occurred_at")
        if self.direction not in DIRECTIONS:
            raise ValueError(f"unknown direction {self.direction!r}")
        if self.channel not in TRANSACTION_CHANNELS:
            raise ValueError(f"unknown channel {self.channel!r}")
        if self.amount < 0:
            raise ValueError("amount must be non-negative; direction carries the sign")
        if len(self.currency) != 3 or not self.currency.isupper():
            raise ValueError(f"currency must be an ISO 4217 code, got {self.currency!r}")


@dataclass(frozen=True, slots=True)
class CreditRecord:
    """A credit bureau report or the bank's internal credit view of a customer."""

    source: CreditSource
    as_of: date
    outstanding_debt: Decimal
    credit_limit: Decimal
    credit_score: int | None = None
    delinquencies_30: int = 0
    delinquencies_60: int = 0
    delinquencies_90: int = 0
    missed_payments: int = 0
    defaults: int = 0
    recent_inquiries: int = 0
    utilisation: Decimal | None = None
    # Days the oldest unpaid instalment is overdue today (0: up to date), and the monthly
    # instalments due on the credit the record covers; None when the source does not say.
    days_past_due: int | None = None
    monthly_instalment: Decimal | None = None

    @property
    def worst_delinquency_days(self) -> int:
        """The worst delinquency bucket the record reports, in days (a default counts 90)."""
        if self.delinquencies_90 or self.defaults:
            return 90
        if self.delinquencies_60:
            return 60
        return 30 if self.delinquencies_30 else 0

    @property
    def effective_utilisation(self) -> Decimal | None:
        """The reported utilisation, else outstanding debt over the credit limit."""
        if self.utilisation is not None:
            return self.utilisation
        if self.credit_limit > 0:
            return self.outstanding_debt / self.credit_limit
        return None

    def to_state(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "as_of": self.as_of.isoformat(),
            "outstanding_debt": str(self.outstanding_debt),
            "credit_limit": str(self.credit_limit),
            "credit_score": self.credit_score,
            "delinquencies_30": self.delinquencies_30,
            "delinquencies_60": self.delinquencies_60,
            "delinquencies_90": self.delinquencies_90,
            "missed_payments": self.missed_payments,
            "defaults": self.defaults,
            "recent_inquiries": self.recent_inquiries,
            "utilisation": None if self.utilisation is None else str(self.utilisation),
            "days_past_due": self.days_past_due,
            "monthly_instalment": (
                None if self.monthly_instalment is None else str(self.monthly_instalment)
            ),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> CreditRecord:
        utilisation = state.get("utilisation")
        instalment = state.get("monthly_instalment")
        return cls(
            source=state["source"],
            as_of=date.fromisoformat(state["as_of"]),
            outstanding_debt=Decimal(state["outstanding_debt"]),
            credit_limit=Decimal(state["credit_limit"]),
            credit_score=state.get("credit_score"),
            delinquencies_30=state.get("delinquencies_30", 0),
            delinquencies_60=state.get("delinquencies_60", 0),
            delinquencies_90=state.get("delinquencies_90", 0),
            missed_payments=state.get("missed_payments", 0),
            defaults=state.get("defaults", 0),
            recent_inquiries=state.get("recent_inquiries", 0),
            utilisation=None if utilisation is None else Decimal(utilisation),
            days_past_due=state.get("days_past_due"),
            monthly_instalment=None if instalment is None else Decimal(instalment),
        )


@dataclass(frozen=True, slots=True)
class FinancialProfile:
    """Declared income, assets and liabilities, in the customer's reporting currency."""

    annual_income: Decimal
    as_of: date
    assets: dict[str, Decimal] = field(default_factory=dict)
    liabilities: dict[str, Decimal] = field(default_factory=dict)

    @property
    def total_assets(self) -> Decimal:
        return sum(self.assets.values(), Decimal(0))

    @property
    def total_liabilities(self) -> Decimal:
        return sum(self.liabilities.values(), Decimal(0))

    @property
    def net_worth(self) -> Decimal:
        return self.total_assets - self.total_liabilities

    @property
    def debt_to_income(self) -> Decimal | None:
        """Total liabilities over annual income; None when there is no income to divide by."""
        if self.annual_income <= 0:
            return None
        return self.total_liabilities / self.annual_income

    def to_state(self) -> dict[str, Any]:
        return {
            "annual_income": str(self.annual_income),
            "as_of": self.as_of.isoformat(),
            "assets": {kind: str(value) for kind, value in self.assets.items()},
            "liabilities": {kind: str(value) for kind, value in self.liabilities.items()},
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> FinancialProfile:
        return cls(
            annual_income=Decimal(state["annual_income"]),
            as_of=date.fromisoformat(state["as_of"]),
            assets={kind: Decimal(value) for kind, value in state["assets"].items()},
            liabilities={kind: Decimal(value) for kind, value in state["liabilities"].items()},
        )


@dataclass(frozen=True, slots=True)
class Interaction:
    """A contact between the bank and the customer (a call, a complaint, a branch visit...)."""

    channel: InteractionChannel
    direction: Direction
    outcome: str
    occurred_at: datetime

    def __post_init__(self) -> None:
        _require_aware(self.occurred_at, "occurred_at")


def days_between(earlier: datetime, later: datetime) -> float:
    """Days from `earlier` to `later` as a float (negative when `later` is before)."""
    return (later - earlier) / timedelta(days=1)
