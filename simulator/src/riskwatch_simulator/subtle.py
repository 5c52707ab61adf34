"""The harder bank's subtle forms of the patterns, each kept with its label (pure).

Where `patterns.py` has the blatant forms (a stolen card emptied abroad in minutes, five
deposits of 9,9xx in a day), these hide in the customer's own habits: card payments near
their usual amounts at their usual kind of shops, money layered through the account over
weeks, cash split across accounts and days, a borrower sliding for most of a year.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from random import Random

from riskwatch_simulator.bank import Label, Pattern, Transaction
from riskwatch_simulator.history import CustomerHistory, money
from riskwatch_simulator.patterns import PatternContext, _label, lowered_profile
from riskwatch_simulator.population import (
    COUNTRY_BY_CODE,
    FOREIGN_COUNTRIES,
    MERCHANTS,
    counterparty,
    credit_record,
    device_id,
)
from riskwatch_simulator.rhythm import Everyday, Plan, log_interaction

# A gradual decline: from its first sign to the default (90 days past due), in days.
GRADUAL_DECLINE_DAYS = 270
GRADUAL_DEFAULT_SHARE = 0.7
# Days before the default of the first missed instalment (it is 90 days past due at default).
FIRST_ARREARS_DAYS = 100


def card_near_usual(history: CustomerHistory, habits: Everyday, context: PatternContext) -> Label:
    """A card's details used online from a new device at home: a handful of payments a minute
    or two apart, each near what the customer usually spends, at the shops they use."""
    rng = history.rng
    moment = context.recent(rng, lo=timedelta(hours=6), hi=timedelta(days=20))
    home = COUNTRY_BY_CODE[history.customer.country]
    other_prefixes = [p for p in home.ip_prefixes if p != history.customer.usual_ip_prefix]
    ip_prefix = rng.choice(other_prefixes or list(home.ip_prefixes))
    fraud_device = device_id(rng)
    burst = []
    for _ in range(rng.randint(5, 8)):
        moment += timedelta(seconds=rng.randint(30, 110))
        mcc, _ = rng.choice(MERCHANTS)
        burst.append(
            history.transaction(
                occurred_at=moment,
                direction="outbound",
                amount=money(habits.card_median * rng.lognormvariate(0.2, 0.5)),
                channel="online",
                merchant_category_code=mcc,
                device_id=fraud_device,
                ip_address=f"{ip_prefix}.{rng.randint(2, 254)}",
            )
        )
    return _label(
        "card_fraud_burst",
        history,
        burst,
        detail=f"{len(burst)} online payments near {habits.card_median:.0f}",
        variant="near_usual",
    )


def structuring_across_days(
    history: CustomerHistory, habits: Everyday, context: PatternContext
) -> Label:
    """Cash kept under the 10,000 threshold by spreading it: one or two deposits a day over
    most of a week, on every account the customer has, never two alike."""
    rng = history.rng
    day = context.recent(rng, lo=timedelta(days=7), hi=timedelta(days=40))
    accounts = [a for a in history.accounts if a.type in ("current", "savings")] or [
        history.main_account
    ]
    deposits: list[Transaction] = []
    wanted = rng.randint(5, 7)
    while len(deposits) < wanted:
        for _ in range(rng.choice((1, 1, 2))):
            moment = day.replace(hour=rng.randint(9, 17), minute=rng.randrange(60))
            deposits.append(
                history.transaction(
                    occurred_at=moment,
                    direction="inbound",
                    amount=money(rng.uniform(7_200, 9_800)),
                    channel="atm",
                    account=accounts[len(deposits) % len(accounts)],
                )
            )
        day += timedelta(days=rng.choice((1, 1, 2)))
    return _label(
        "structuring",
        history,
        deposits,
        detail=f"{len(deposits)} cash deposits over {len(accounts)} account(s) and days",
        variant="across_days",
    )


def slow_layering(history: CustomerHistory, habits: Everyday, context: PatternContext) -> Label:
    """A mule over weeks: strangers pay in a few hundred at a time, every few days most of it
    leaves for one of two accounts abroad, in amounts that look like anyone's transfers."""
    rng = history.rng
    moment = context.recent(rng, lo=timedelta(days=25), hi=timedelta(days=60))
    collectors = [counterparty(rng, rng.choice(FOREIGN_COUNTRIES)) for _ in range(2)]
    home = COUNTRY_BY_CODE[history.customer.country]
    moves: list[Transaction] = []
    for _ in range(rng.randint(3, 5)):
        received = Decimal(0)
        for _ in range(rng.randint(3, 5)):
            moment += timedelta(hours=rng.uniform(4, 30))
            amount = money(rng.uniform(300, 1_800))
            received += amount
            payer = counterparty(rng, home if rng.random() < 0.7 else rng.choice(FOREIGN_COUNTRIES))
            moves.append(
                history.transaction(
                    occurred_at=moment,
                    direction="inbound",
                    amount=amount,
                    channel="transfer",
                    counterparty=payer,
                )
            )
        moment += timedelta(hours=rng.uniform(6, 40))
        moves.append(
            history.transaction(
                occurred_at=moment,
                direction="outbound",
                amount=money(float(received) * rng.uniform(0.85, 0.95)),
                channel=rng.choice(("transfer", "mobile", "online")),
                counterparty=rng.choice(collectors),
                device_id=history.usual_device(),
                ip_address=history.usual_ip(),
            )
        )
    return _label(
        "mule_account",
        history,
        moves,
        detail=f"layered through {len(moves)} transfers to {len(collectors)} accounts",
        variant="slow_layering",
    )


def gradual_plan(rng: Random, context: PatternContext) -> Plan:
    """The salary of a gradually declining borrower falls over most of the decline."""
    default_at = context.days_back(rng.uniform(10, 45))
    return Plan(
        income_drop_from=default_at - timedelta(days=GRADUAL_DECLINE_DAYS - 30),
        income_factor=rng.uniform(0.5, 0.75),
        income_ramp_days=GRADUAL_DECLINE_DAYS - 60,
    )


def gradual_credit_decline(
    history: CustomerHistory, habits: Everyday, context: PatternContext
) -> Label:
    """A borrower sliding for most of a year: the bureau score a few points lower every month,
    utilisation creeping up, income falling; a first missed instalment about 100 days before
    the default, arrears growing month by month to 90 days past due (the default)."""
    rng = history.rng
    assert habits.plan.income_drop_from is not None
    default_at = habits.plan.income_drop_from + timedelta(days=GRADUAL_DECLINE_DAYS - 30)
    defaults = rng.random() < GRADUAL_DEFAULT_SHARE
    start = default_at - timedelta(days=GRADUAL_DECLINE_DAYS)
    limit = money(float(history.annual_income) * rng.uniform(0.2, 0.4))
    score0, utilisation0 = rng.gauss(700, 25), rng.uniform(0.35, 0.5)
    records: list[str] = []
    months = GRADUAL_DECLINE_DAYS // 30
    for month in range(months + 1):
        as_of = start + timedelta(days=30 * month)
        if not context.start <= as_of <= context.now:
            continue
        progress = month / months
        days_to_default = (default_at - as_of).days
        missed = _arrears(days_to_default) if defaults else min(_arrears(days_to_default), 1)
        records.append(
            credit_record(
                history,
                as_of=as_of.date(),
                score=int(score0 - (170 if defaults else 110) * progress + rng.gauss(0, 6)),
                debt=money(float(limit) * min(0.99, utilisation0 + 0.55 * progress)),
                limit=limit,
                missed_payments=missed,
                delinquencies=(int(missed >= 1), int(missed >= 2), int(missed >= 3)),
                defaults=1 if defaults and days_to_default <= 0 else 0,
                inquiries=rng.randint(0, 2) + int(progress > 0.5) * 2,
            ).external_id
        )
    for months_in in (3, 6):
        moment = start + timedelta(days=30 * months_in)
        if context.start <= moment <= context.now:
            factor = habits.plan.income(moment)
            records.append(
                lowered_profile(history, as_of=moment, income_factor=factor, extra_debt=0.15)
            )
    call = log_interaction(
        history,
        max(context.start, default_at - timedelta(days=70)),
        "call",
        "Customer asks about a payment holiday on the loan",
        "sent forbearance options",
        inbound=True,
    )
    records.append(call.external_id)
    return _label(
        "credit_deterioration",
        history,
        [],
        records=tuple(records),
        starts_at=max(context.start, start),
        ends_at=min(context.now, default_at),
        outcome=1 if defaults else 0,
        detail=f"gradual decline over {months} months; "
        f"{'defaulted' if defaults else 'still paying'}",
        outcome_at=default_at if defaults else None,
        variant="gradual",
    )


def _arrears(days_to_default: int) -> int:
    """Instalments missed: none until about 100 days before the default, then one a month."""
    if days_to_default > FIRST_ARREARS_DAYS:
        return 0
    return min(4, 1 + (FIRST_ARREARS_DAYS - days_to_default) // 30)


Injector = Callable[[CustomerHistory, Everyday, PatternContext], Label]
# (pattern, variant) -> how the harder bank injects it; "" is the blatant form of patterns.py.
SUBTLE_INJECTORS: dict[tuple[Pattern, str], Injector] = {
    ("card_fraud_burst", "near_usual"): card_near_usual,
    ("structuring", "across_days"): structuring_across_days,
    ("mule_account", "slow_layering"): slow_layering,
    ("credit_deterioration", "gradual"): gradual_credit_decline,
}
