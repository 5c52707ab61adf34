"""The risks injected into the synthetic bank, each kept with its ground-truth label (pure).

A pattern first bends the customer's everyday rhythm (`plan`: churners fade out, a
deteriorating borrower's salary drops), then adds its own events (`inject`) and returns the
`Label` naming every transaction and record it added.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from random import Random

from riskwatch_simulator.bank import FinancialProfile, Label, Pattern, Transaction
from riskwatch_simulator.history import CustomerHistory, money
from riskwatch_simulator.population import (
    COUNTRY_BY_CODE,
    FOREIGN_COUNTRIES,
    counterparty,
    credit_record,
    device_id,
)
from riskwatch_simulator.rhythm import Everyday, Plan, log_interaction

# Deteriorating borrowers' healthy bureau pulls stop this long before `now`.
CREDIT_DECLINE_DAYS = 130
CHURN_DECLINE_DAYS = 160
DEFAULT_SHARE = 0.65
FRAUD_MCCS = ("5732", "5944", "5045", "7995", "5311")


@dataclass(frozen=True, slots=True)
class PatternContext:
    now: datetime
    start: datetime

    def recent(self, rng: Random, *, lo: timedelta, hi: timedelta) -> datetime:
        """A moment between hi and lo before now, never before the history's start."""
        span = (hi - lo).total_seconds()
        moment = self.now - lo - timedelta(seconds=rng.uniform(0, span))
        return max(moment, self.start + timedelta(hours=1))

    def days_back(self, days: float) -> datetime:
        return max(self.now - timedelta(days=days), self.start + timedelta(hours=1))


def plan_for(pattern: Pattern | None, rng: Random, context: PatternContext) -> Plan:
    if pattern == "churn":
        dormant_days = rng.uniform(65, 85)
        return Plan(
            decline_from=context.days_back(CHURN_DECLINE_DAYS),
            dormant_from=context.days_back(dormant_days),
        )
    if pattern == "credit_deterioration":
        return Plan(
            income_drop_from=context.days_back(CREDIT_DECLINE_DAYS - 10),
            income_factor=rng.uniform(0.4, 0.65),
        )
    return Plan()


def _label(
    pattern: Pattern,
    history: CustomerHistory,
    transactions: list[Transaction],
    *,
    records: tuple[str, ...] = (),
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    outcome: int = 1,
    detail: str = "",
    outcome_at: datetime | None = None,
    variant: str = "",
) -> Label:
    moments = [t.occurred_at for t in transactions]
    return Label(
        pattern=pattern,
        customer_external_id=history.customer.external_id,
        starts_at=starts_at or min(moments),
        ends_at=ends_at or max(moments),
        transaction_external_ids=tuple(t.external_id for t in transactions),
        record_external_ids=records,
        outcome=outcome,
        detail=detail,
        outcome_at=outcome_at,
        variant=variant,
    )


def card_fraud_burst(history: CustomerHistory, habits: Everyday, context: PatternContext) -> Label:
    """A stolen card emptied in minutes: many online purchases abroad at risky merchants."""
    rng = history.rng
    moment = context.recent(rng, lo=timedelta(hours=2), hi=timedelta(days=3))
    abroad = rng.choice(FOREIGN_COUNTRIES)
    fraud_device = device_id(rng)
    burst = []
    for _ in range(rng.randint(8, 14)):
        moment += timedelta(seconds=rng.randint(15, 50))
        burst.append(
            history.transaction(
                occurred_at=moment,
                direction="outbound",
                amount=money(rng.uniform(120, 950)),
                channel=rng.choice(("card", "online")),
                merchant_category_code=rng.choice(FRAUD_MCCS),
                device_id=fraud_device,
                ip_address=f"{rng.choice(abroad.ip_prefixes)}.{rng.randint(2, 254)}",
                country=abroad.code,
            )
        )
    return _label("card_fraud_burst", history, burst, detail=f"{len(burst)} card payments")


def account_takeover(history: CustomerHistory, habits: Everyday, context: PatternContext) -> Label:
    """A new device in a new country signs in and at once moves large sums to a new payee."""
    rng = history.rng
    moment = context.recent(rng, lo=timedelta(hours=1), hi=timedelta(days=2))
    abroad = rng.choice(FOREIGN_COUNTRIES)
    device = device_id(rng)
    ip = f"{rng.choice(abroad.ip_prefixes)}.{rng.randint(2, 254)}"
    beneficiary = counterparty(rng, abroad)
    steps = []
    for _ in range(rng.randint(2, 3)):
        moment += timedelta(minutes=rng.randint(3, 15))
        steps.append(
            history.transaction(
                occurred_at=moment,
                direction="outbound",
                amount=money(rng.uniform(5_500, 15_000)),
                channel=rng.choice(("transfer", "online", "mobile")),
                counterparty=beneficiary,
                device_id=device,
                ip_address=ip,
                country=abroad.code,
            )
        )
    return _label("account_takeover", history, steps, detail=f"device {device} from {abroad.code}")


def structuring(history: CustomerHistory, habits: Everyday, context: PatternContext) -> Label:
    """Cash deposits kept just under the 10,000 reporting threshold, several in a day."""
    rng = history.rng
    moment = context.recent(rng, lo=timedelta(hours=22), hi=timedelta(days=4))
    deposits = []
    for _ in range(rng.randint(4, 6)):
        deposits.append(
            history.transaction(
                occurred_at=moment,
                direction="inbound",
                amount=money(rng.uniform(9_050, 9_990)),
                channel="atm",
            )
        )
        moment += timedelta(minutes=rng.randint(40, 200))
    return _label("structuring", history, deposits, detail=f"{len(deposits)} deposits < 10,000")


def mule_account(history: CustomerHistory, habits: Everyday, context: PatternContext) -> Label:
    """Many strangers pay in; within the hour it all leaves for an account abroad."""
    rng = history.rng
    moment = context.recent(rng, lo=timedelta(days=2), hi=timedelta(days=4))
    collector = counterparty(rng, rng.choice(FOREIGN_COUNTRIES))
    moves: list[Transaction] = []
    for _ in range(rng.randint(3, 4)):
        received = Decimal(0)
        for _ in range(rng.randint(3, 5)):
            moment += timedelta(minutes=rng.randint(2, 12))
            amount = money(rng.uniform(400, 2_500))
            received += amount
            moves.append(
                history.transaction(
                    occurred_at=moment,
                    direction="inbound",
                    amount=amount,
                    channel="transfer",
                    counterparty=counterparty(rng, rng.choice(FOREIGN_COUNTRIES)),
                )
            )
        moment += timedelta(minutes=rng.randint(10, 50))
        moves.append(
            history.transaction(
                occurred_at=moment,
                direction="outbound",
                amount=money(float(received) * rng.uniform(0.92, 0.98)),
                channel=rng.choice(("transfer", "mobile")),
                counterparty=collector,
                device_id=history.usual_device(),
                ip_address=history.usual_ip(),
            )
        )
        moment += timedelta(hours=rng.uniform(2, 10))
    return _label("mule_account", history, moves, detail=f"forwards to {collector.account}")


def credit_deterioration(
    history: CustomerHistory, habits: Everyday, context: PatternContext
) -> Label:
    """Income falls, debt climbs, payments are missed; most end in default."""
    rng = history.rng
    customer = history.customer
    defaults = rng.random() < DEFAULT_SHARE
    income = history.annual_income
    limit = money(float(income) * rng.uniform(0.2, 0.4))
    first = context.days_back(CREDIT_DECLINE_DAYS - 15)
    records: list[str] = []
    steps = (
        # days before now, score, utilisation, missed payments, delinquencies (30, 60, 90)
        (CREDIT_DECLINE_DAYS - 15, 640, 0.78, 1, (1, 0, 0)),
        (60, 570, 0.93, 2, (2, 1, 0)),
        (12, 470 if defaults else 535, 0.99 if defaults else 0.9, 4 if defaults else 2,
         (2, 1, 1) if defaults else (2, 1, 0)),
    )  # fmt: skip
    for days, score, utilisation, missed, delinquencies in steps:
        moment = context.days_back(days)
        records.append(
            credit_record(
                history,
                as_of=moment.date(),
                score=score + rng.randint(-10, 10),
                debt=money(float(limit) * utilisation),
                limit=limit,
                missed_payments=missed,
                delinquencies=delinquencies,
                defaults=1 if defaults and days == 12 else 0,
                inquiries=rng.randint(2, 5),
            ).external_id
        )
    drop = habits.plan.income_factor
    for days, extra_debt in ((CREDIT_DECLINE_DAYS - 12, 0.25), (45, 0.6)):
        moment = context.days_back(days)
        records.append(
            lowered_profile(history, as_of=moment, income_factor=drop, extra_debt=extra_debt)
        )
    call = log_interaction(
        history,
        context.days_back(50),
        "call",
        "Customer reports reduced income and asks to defer loan payments",
        "referred to collections",
        inbound=True,
    )
    records.append(call.external_id)
    return _label(
        "credit_deterioration",
        history,
        [],
        records=tuple(records),
        starts_at=first,
        ends_at=context.days_back(12),
        outcome=1 if defaults else 0,
        detail=f"income x{drop:.2f}; {'defaulted' if defaults else 'still paying'} "
        f"({customer.kind})",
        # The default (the bureau's record of it) is the outcome a warning should precede.
        outcome_at=context.days_back(12) if defaults else None,
    )


def lowered_profile(
    history: CustomerHistory, *, as_of: datetime, income_factor: float, extra_debt: float
) -> str:
    previous = history.financial_profiles[-1]
    income = money(float(history.annual_income) * income_factor)
    liabilities = dict(previous.liabilities)
    liabilities["loans"] = money(float(liabilities.get("loans", 0)) + float(income) * extra_debt)
    liabilities["overdraft"] = money(float(income) * extra_debt / 3)
    profile = FinancialProfile(
        external_id=history.next_id("F"),
        customer_external_id=history.customer.external_id,
        annual_income=income,
        currency=previous.currency,
        assets={name: money(float(value) * 0.8) for name, value in previous.assets.items()},
        liabilities=liabilities,
        as_of=as_of.date(),
    )
    history.financial_profiles.append(profile)
    return profile.external_id


def churn(history: CustomerHistory, habits: Everyday, context: PatternContext) -> Label:
    """Activity fades, complaints come in, the balance is moved out, then nothing."""
    rng = history.rng
    plan = habits.plan
    assert plan.decline_from is not None
    assert plan.dormant_from is not None
    records = []
    # The complaints come as the customer is leaving, and one after (a refund never came).
    for offset, summary in (
        (-25, "Complaint: charged twice for account fees"),
        (-8, "Complaint: mobile app outage, could not pay bills"),
        (20, "Complaint: fee refund still not received"),
    ):
        moment = plan.dormant_from + timedelta(days=offset, hours=rng.uniform(0, 6))
        if context.start < moment < context.now - timedelta(days=1):
            interaction = log_interaction(
                history, moment, "complaint", summary, "open", inbound=True
            )
            records.append(interaction.external_id)
    home = COUNTRY_BY_CODE[history.customer.country]
    elsewhere = counterparty(rng, home, name=history.customer.name)
    drains = []
    for days_before in (6, 2):
        drains.append(
            history.transaction(
                occurred_at=plan.dormant_from
                - timedelta(days=days_before, hours=rng.uniform(1, 6)),
                direction="outbound",
                amount=money(habits.monthly_income * rng.uniform(1.2, 2.5)),
                channel="transfer",
                counterparty=elsewhere,
                device_id=history.usual_device(),
                ip_address=history.usual_ip(),
            )
        )
    retention = log_interaction(
        history,
        context.now - timedelta(hours=rng.uniform(1, 3)),
        "call",
        "Retention call: no answer, voicemail left",
        None,
        inbound=False,
    )
    records.append(retention.external_id)
    return _label(
        "churn",
        history,
        drains,
        records=tuple(records),
        starts_at=plan.decline_from,
        ends_at=retention.occurred_at,
        detail=f"dormant since {plan.dormant_from.date().isoformat()}",
        outcome_at=plan.dormant_from,
    )


Injector = Callable[[CustomerHistory, Everyday, PatternContext], Label]
INJECTORS: dict[Pattern, Injector] = {
    "card_fraud_burst": card_fraud_burst,
    "account_takeover": account_takeover,
    "structuring": structuring,
    "mule_account": mule_account,
    "credit_deterioration": credit_deterioration,
    "churn": churn,
}
