"""One customer's records while they are generated (pure, mutable until merged into a Bank)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from random import Random

from riskwatch_simulator.bank import (
    Account,
    Bank,
    Channel,
    CreditRecord,
    Customer,
    Direction,
    FinancialProfile,
    Interaction,
    Label,
    Transaction,
)

CENT = Decimal("0.01")


def money(value: float) -> Decimal:
    """A positive amount with two decimals (all the simulated currencies have two)."""
    return max(Decimal(f"{value:.2f}"), CENT)


@dataclass(frozen=True, slots=True)
class Counterparty:
    name: str
    account: str
    bank: str
    country: str


@dataclass(slots=True)
class CustomerHistory:
    customer: Customer
    rng: Random
    accounts: list[Account] = field(default_factory=list)
    credit_records: list[CreditRecord] = field(default_factory=list)
    financial_profiles: list[FinancialProfile] = field(default_factory=list)
    interactions: list[Interaction] = field(default_factory=list)
    transactions: list[Transaction] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    usual_counterparties: list[Counterparty] = field(default_factory=list)
    employer: Counterparty | None = None
    annual_income: Decimal = Decimal("0")
    _sequence: int = 0

    def next_id(self, prefix: str) -> str:
        self._sequence += 1
        return f"{self.customer.external_id}-{prefix}{self._sequence:06d}"

    @property
    def main_account(self) -> Account:
        return self.accounts[0]

    def transaction(
        self,
        *,
        occurred_at: datetime,
        direction: Direction,
        amount: Decimal,
        channel: Channel,
        account: Account | None = None,
        counterparty: Counterparty | None = None,
        merchant_category_code: str | None = None,
        device_id: str | None = None,
        ip_address: str | None = None,
        country: str | None = None,
    ) -> Transaction:
        """Build a transaction on one of this customer's accounts and keep it."""
        account = account or self.main_account
        transaction = Transaction(
            external_id=self.next_id("T"),
            customer_external_id=self.customer.external_id,
            account_external_id=account.external_id,
            direction=direction,
            amount=amount,
            currency=account.currency,
            channel=channel,
            occurred_at=occurred_at,
            counterparty_name=counterparty.name if counterparty else None,
            counterparty_account=counterparty.account if counterparty else None,
            counterparty_bank=counterparty.bank if counterparty else None,
            counterparty_country=counterparty.country if counterparty else None,
            merchant_category_code=merchant_category_code,
            device_id=device_id,
            ip_address=ip_address,
            country=country or self.customer.country,
        )
        self.transactions.append(transaction)
        return transaction

    def usual_device(self) -> str:
        return self.rng.choice(self.customer.usual_devices)

    def usual_ip(self) -> str:
        return f"{self.customer.usual_ip_prefix}.{self.rng.randint(2, 254)}"

    def merge_into(self, bank: Bank) -> None:
        bank.customers.append(self.customer)
        bank.accounts.extend(self.accounts)
        bank.credit_records.extend(self.credit_records)
        bank.financial_profiles.extend(self.financial_profiles)
        bank.interactions.extend(self.interactions)
        bank.transactions.extend(self.transactions)
        bank.labels.extend(self.labels)
