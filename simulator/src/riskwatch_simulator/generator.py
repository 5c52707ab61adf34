"""Build a whole synthetic bank from a seed, and the live stream after it (pure, deterministic).

The same (seed, customers, days, now) always gives the same bank, record for record: every
customer draws from their own `Random` seeded by (seed, index), so one customer's history
does not depend on how many others there are.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, timedelta
from random import Random
from typing import Any, TypeVar

from riskwatch_simulator.bank import (
    PATTERNS,
    Account,
    Bank,
    CreditRecord,
    Customer,
    CustomerKind,
    FinancialProfile,
    Interaction,
    Label,
    Pattern,
    Transaction,
)
from riskwatch_simulator.history import CustomerHistory, money
from riskwatch_simulator.patterns import (
    CREDIT_DECLINE_DAYS,
    INJECTORS,
    PatternContext,
    plan_for,
)
from riskwatch_simulator.population import (
    MERCHANTS,
    first_financial_profile,
    healthy_credit_records,
    new_customer,
    open_accounts,
)
from riskwatch_simulator.rhythm import Everyday
from riskwatch_simulator.subtle import SUBTLE_INJECTORS, gradual_plan

_Record = TypeVar(
    "_Record", Customer, Account, CreditRecord, FinancialProfile, Interaction, Transaction, Label
)


@dataclass(frozen=True, slots=True)
class BankSpec:
    seed: int
    customers: int
    days: int = 365
    now: datetime = datetime(2026, 1, 1, tzinfo=UTC)
    # Share of customers carrying one injected pattern (at least one customer per pattern).
    pattern_share: float = 0.12
    corporate_share: float = 0.15
    # The harder bank (issue 22): realistic prevalence (each form of a pattern on its
    # `HARD_SHARES` of the customers, at least one), subtle forms beside the blatant ones
    # (`subtle.py`), and everyday noise (one-off payees, new clients, new phones, cash takings).
    hard: bool = False

    @property
    def start(self) -> datetime:
        return self.now - timedelta(days=self.days)


Form = tuple[Pattern, str]
# The harder bank's forms of each pattern ("" the blatant one) and the share of customers
# carrying each: a pattern kind stays well under 1% of the customers.
HARD_SHARES: dict[Form, float] = {
    ("card_fraud_burst", ""): 0.003,
    ("card_fraud_burst", "near_usual"): 0.004,
    ("account_takeover", ""): 0.004,
    ("structuring", ""): 0.003,
    ("structuring", "across_days"): 0.004,
    ("mule_account", ""): 0.003,
    ("mule_account", "slow_layering"): 0.004,
    ("credit_deterioration", ""): 0.003,
    ("credit_deterioration", "gradual"): 0.004,
    ("churn", ""): 0.004,
}


def assign_forms(spec: BankSpec) -> dict[int, Form]:
    """Which customer (by index) carries which form of which pattern."""
    if not spec.hard:
        return {index: (pattern, "") for index, pattern in assign_patterns(spec).items()}
    wanted = [(form, max(1, round(spec.customers * share))) for form, share in HARD_SHARES.items()]
    total = min(sum(count for _, count in wanted), spec.customers)
    chosen = iter(Random(f"riskwatch-forms:{spec.seed}").sample(range(spec.customers), total))
    return {next(chosen): form for form, count in wanted for _ in range(count) if total > 0}


def assign_patterns(spec: BankSpec) -> dict[int, Pattern]:
    """Which customer (by index) carries which pattern: spread evenly over the patterns."""
    wanted = max(len(PATTERNS), round(spec.customers * spec.pattern_share))
    chosen = Random(f"riskwatch-patterns:{spec.seed}").sample(
        range(spec.customers), min(wanted, spec.customers)
    )
    return {index: PATTERNS[number % len(PATTERNS)] for number, index in enumerate(chosen)}


def generate_customer(
    spec: BankSpec, index: int, pattern: Pattern | None, variant: str = ""
) -> CustomerHistory:
    rng = Random(f"riskwatch-customer:{spec.seed}:{index}")
    kind: CustomerKind = "corporate" if rng.random() < spec.corporate_share else "individual"
    history = CustomerHistory(
        new_customer(rng, seed=spec.seed, index=index, kind=kind, start=spec.start), rng
    )
    context = PatternContext(now=spec.now, start=spec.start)
    open_accounts(history)
    first_financial_profile(history, as_of=spec.start.date())
    healthy_until = spec.now
    plan = None
    if pattern == "credit_deterioration" and variant == "gradual":
        plan = gradual_plan(rng, context)
        assert plan.income_drop_from is not None
        healthy_until = plan.income_drop_from - timedelta(days=31)
    elif pattern == "credit_deterioration":
        healthy_until = context.days_back(CREDIT_DECLINE_DAYS)
    healthy_credit_records(
        history, start=spec.start.date(), end=healthy_until.date(), noisy=spec.hard
    )
    plan = plan or plan_for(pattern, rng, context)
    habits = Everyday.draw(history, plan, noise=spec.hard)
    habits.play(spec.start, spec.now)
    if pattern is not None:
        inject = SUBTLE_INJECTORS[(pattern, variant)] if variant else INJECTORS[pattern]
        history.labels.append(inject(history, habits, context))
    return history


def generate_bank(spec: BankSpec) -> Bank:
    """Every customer's year, merged; transactions and records sorted by when they happened."""
    bank = Bank(seed=spec.seed, start=spec.start, now=spec.now)
    forms = assign_forms(spec)
    for index in range(spec.customers):
        pattern, variant = forms.get(index, (None, ""))
        generate_customer(spec, index, pattern, variant).merge_into(bank)
    bank.transactions.sort(key=lambda t: (t.occurred_at, t.external_id))
    bank.interactions.sort(key=lambda i: (i.occurred_at, i.external_id))
    return bank


Record = Account | CreditRecord | FinancialProfile | Interaction | Transaction


def record_moment(record: Record) -> datetime:
    """When a record enters the bank's timeline (dated records at 06:00 UTC of their day)."""
    if isinstance(record, Transaction | Interaction):
        return record.occurred_at
    day = record.opened_on if isinstance(record, Account) else record.as_of
    return datetime(day.year, day.month, day.day, 6, tzinfo=UTC)


def timeline(bank: Bank) -> list[CreditRecord | FinancialProfile | Interaction | Transaction]:
    """Everything after the accounts, in the order a core system would have sent it."""
    records: list[CreditRecord | FinancialProfile | Interaction | Transaction] = [
        *bank.credit_records,
        *bank.financial_profiles,
        *bank.interactions,
        *bank.transactions,
    ]
    records.sort(key=lambda r: (record_moment(r), r.external_id))
    return records


def push_order(bank: Bank) -> list[CreditRecord | FinancialProfile | Interaction | Transaction]:
    """Every transaction in time order, then the records (a test's quick push).

    `riskwatch simulate` sends the `timeline` instead, as a core system would: scoring
    assesses a record as of its own time and the newest event the customer has sent, so a
    record in step with the payments sees the customer as they were then.
    """
    records: list[CreditRecord | FinancialProfile | Interaction] = [
        *bank.credit_records,
        *bank.financial_profiles,
        *bank.interactions,
    ]
    records.sort(key=lambda r: (record_moment(r), r.external_id))
    return [*sorted(bank.transactions, key=lambda t: (t.occurred_at, t.external_id)), *records]


def shifted(bank: Bank, *, days: int, tag: str) -> Bank:
    """The same bank `days` later, record for record, under new identities (`tag` in every
    external id, document and account number), so both can share one RiskWatch: a replay of
    the past and the same bank today must raise the same alerts."""
    delta = timedelta(days=days)
    old_prefix, new_prefix = f"S{bank.seed}C", f"S{bank.seed}{tag}C"

    def move(value: object) -> object:
        if isinstance(value, date):  # a datetime too
            return value + delta
        if isinstance(value, str) and value.startswith(old_prefix):
            return new_prefix + value[len(old_prefix) :]
        if isinstance(value, tuple):
            return tuple(move(item) for item in value)
        return value

    def moved(record: _Record) -> _Record:
        changes: dict[str, Any] = {f.name: move(getattr(record, f.name)) for f in fields(record)}
        return replace(record, **changes)

    return Bank(
        seed=bank.seed,
        start=bank.start + delta,
        now=bank.now + delta,
        customers=[replace(moved(c), document=f"{c.document}{tag}") for c in bank.customers],
        accounts=[replace(moved(a), number=f"{a.number}{tag}") for a in bank.accounts],
        credit_records=[moved(r) for r in bank.credit_records],
        financial_profiles=[moved(p) for p in bank.financial_profiles],
        interactions=[moved(i) for i in bank.interactions],
        transactions=[moved(t) for t in bank.transactions],
        labels=[moved(label) for label in bank.labels],
    )


def live_stream(
    bank: Bank, *, start: datetime, rate: float, seed: int, time_scale: float = 1.0
) -> Iterator[Transaction]:
    """Everyday payments after the history, one every 1/rate seconds from `start`, forever.

    `time_scale` stretches the bank's clock: with 3,600, each second of pushing carries an
    hour of the bank's payments, so a small bank pushed fast still pays at a bank's pace per
    customer (rules on velocity see what they would see in production).
    Churned customers stay dormant; the rest pay by card or transfer from their usual devices.
    """
    rng = Random(f"riskwatch-live:{seed}")
    dormant = {label.customer_external_id for label in bank.labels if label.pattern == "churn"}
    accounts = bank.accounts_of()
    active = [c for c in bank.customers if c.external_id not in dormant]
    weights = [4.0 if c.kind == "corporate" else 1.0 for c in active]
    step = time_scale / rate
    number = 0
    while True:
        customer = rng.choices(active, weights=weights)[0]
        account = accounts[customer.external_id][0]
        mcc, _ = rng.choice(MERCHANTS)
        moment = start + timedelta(seconds=number * step)
        card = rng.random() < 0.8
        yield Transaction(
            external_id=f"L{seed}-{start:%Y%m%d%H%M%S}-{number:09d}",
            customer_external_id=customer.external_id,
            account_external_id=account.external_id,
            direction="outbound" if card or rng.random() < 0.6 else "inbound",
            amount=money(math.exp(rng.gauss(math.log(40 if card else 300), 0.8))),
            currency=account.currency,
            channel="card" if card else "transfer",
            occurred_at=moment,
            merchant_category_code=mcc if card else None,
            device_id=rng.choice(customer.usual_devices),
            ip_address=f"{customer.usual_ip_prefix}.{rng.randint(2, 254)}",
            country=customer.country,
        )
        number += 1
