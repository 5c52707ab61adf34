"""Everyday banking: the transactions and interactions of a customer doing nothing unusual (pure).

Daily and weekly rhythms (card spending peaks at lunch and in the evening, companies trade on
weekdays in office hours), monthly salary / payroll and rent, log-normal amounts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from random import Random

from riskwatch_simulator.bank import Interaction, InteractionChannel
from riskwatch_simulator.history import Counterparty, CustomerHistory, money
from riskwatch_simulator.population import COUNTRY_BY_CODE, MERCHANTS, counterparty, device_id

# Relative card spending by UTC hour of day, for people and for companies.
PERSON_HOURS = (
    0.2, 0.1, 0.05, 0.05, 0.05, 0.1, 0.4, 0.9, 1.2, 1.1, 1.1, 1.4,
    2.2, 2.0, 1.3, 1.2, 1.4, 1.9, 2.2, 2.0, 1.6, 1.1, 0.7, 0.4,
)  # fmt: skip
OFFICE_HOURS = (
    0, 0, 0, 0, 0, 0, 0.1, 0.6, 1.6, 2.0, 2.0, 1.8,
    1.2, 1.6, 1.9, 1.9, 1.5, 0.8, 0.3, 0.1, 0, 0, 0, 0,
)  # fmt: skip
# Monday..Sunday.
PERSON_WEEKDAYS = (0.9, 0.9, 0.95, 1.0, 1.25, 1.35, 0.7)
COMPANY_WEEKDAYS = (1.1, 1.05, 1.0, 1.0, 1.0, 0.15, 0.05)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The harder bank's everyday noise, per customer and day.
ONE_OFF_PAYEE_PER_DAY = 0.004
PERSON_CASH_DEPOSIT_PER_DAY = 0.01
NEW_CLIENT_PER_DAY = 0.03
NEW_SUPPLIER_PER_DAY = 0.02
NEW_PHONE_PER_DAY = 1 / 500
CASH_TAKINGS_SHARE = 0.3


@dataclass(frozen=True, slots=True)
class Plan:
    """How a pattern bends the everyday rhythm before its own events are added."""

    decline_from: datetime | None = None  # activity falls linearly to zero at dormant_from
    dormant_from: datetime | None = None  # no everyday activity from here on
    income_drop_from: datetime | None = None
    income_factor: float = 1.0
    # The income falls to income_factor over this many days from income_drop_from (0: at once).
    income_ramp_days: float = 0.0

    def activity(self, moment: datetime) -> float:
        if self.dormant_from is not None and moment >= self.dormant_from:
            return 0.0
        if self.decline_from is None or self.dormant_from is None or moment < self.decline_from:
            return 1.0
        span = (self.dormant_from - self.decline_from).total_seconds()
        remaining = max(0.0, 1.0 - (moment - self.decline_from).total_seconds() / span)
        return float(remaining**1.5)

    def income(self, moment: datetime) -> float:
        if self.income_drop_from is None or moment < self.income_drop_from:
            return 1.0
        elapsed = (moment - self.income_drop_from).total_seconds() / 86_400
        if self.income_ramp_days <= 0 or elapsed >= self.income_ramp_days:
            return self.income_factor
        return 1.0 - (1.0 - self.income_factor) * elapsed / self.income_ramp_days


def poisson(rng: Random, mean: float) -> int:
    """Knuth's method: fine for the small means of daily counts."""
    if mean <= 0:
        return 0
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def at(day: date, rng: Random, hours: tuple[float, ...]) -> datetime:
    hour = rng.choices(range(24), weights=hours)[0]
    return datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)), tzinfo=UTC)


@dataclass(slots=True)
class Everyday:
    """The habits of one customer, drawn once, then played day by day."""

    history: CustomerHistory
    plan: Plan
    card_per_day: float
    card_median: float
    employer: Counterparty
    landlord: Counterparty
    friends: list[Counterparty]
    clients: list[Counterparty]
    suppliers: list[Counterparty]
    start: datetime = EPOCH
    # The harder bank's everyday noise: one-off payments to new payees, new clients and
    # suppliers, a new phone, cash takings deposited weekly (`Noise`).
    noise: bool = False
    cash_takings: bool = False

    @classmethod
    def draw(cls, history: CustomerHistory, plan: Plan, *, noise: bool = False) -> Everyday:
        rng, customer = history.rng, history.customer
        home = COUNTRY_BY_CODE[customer.country]
        corporate = customer.kind == "corporate"
        habits = cls(
            history=history,
            plan=plan,
            card_per_day=rng.uniform(0.4, 1.2) if corporate else rng.uniform(0.8, 2.6),
            card_median=rng.uniform(60, 300) if corporate else rng.uniform(18, 55),
            employer=counterparty(rng, home),
            landlord=counterparty(rng, home),
            friends=[counterparty(rng, home) for _ in range(rng.randint(2, 6))],
            clients=[
                counterparty(rng, home) for _ in range(rng.randint(5, 20) if corporate else 0)
            ],
            suppliers=[
                counterparty(rng, home) for _ in range(rng.randint(3, 12) if corporate else 0)
            ],
            noise=noise,
        )
        if noise:
            habits.cash_takings = corporate and rng.random() < CASH_TAKINGS_SHARE
        history.employer = habits.employer
        history.usual_counterparties = habits.friends + habits.clients + habits.suppliers
        return habits

    @property
    def monthly_income(self) -> float:
        return float(self.history.annual_income) / 12

    def play(self, start: datetime, end: datetime) -> None:
        """Every day from start to end, in order (the end's own day is cut at `end`)."""
        self.start = start
        day = start.date()
        while day <= end.date():
            if self.history.customer.kind == "individual":
                self._person_day(day, end)
            else:
                self._company_day(day, end)
            day += timedelta(days=1)

    def _keep(self, moment: datetime, end: datetime) -> bool:
        if not self.start <= moment <= end:
            return False
        return self.history.rng.random() < self.plan.activity(moment)

    def _card(self, day: date, end: datetime, hours: tuple[float, ...], weekday: float) -> None:
        history, rng = self.history, self.history.rng
        for _ in range(poisson(rng, self.card_per_day * weekday)):
            moment = at(day, rng, hours)
            if not self._keep(moment, end):
                continue
            mcc, _ = rng.choice(MERCHANTS)
            history.transaction(
                occurred_at=moment,
                direction="outbound",
                amount=money(self.card_median * rng.lognormvariate(0, 0.8)),
                channel=rng.choices(("card", "online", "mobile"), weights=(0.7, 0.2, 0.1))[0],
                merchant_category_code=mcc,
                device_id=history.usual_device(),
                ip_address=history.usual_ip(),
            )

    def _transfer(
        self, moment: datetime, end: datetime, *, to: Counterparty, amount: Decimal, inbound: bool
    ) -> None:
        if self._keep(moment, end):
            self.history.transaction(
                occurred_at=moment,
                direction="inbound" if inbound else "outbound",
                amount=amount,
                channel="transfer",
                counterparty=to,
                device_id=None if inbound else self.history.usual_device(),
                ip_address=None if inbound else self.history.usual_ip(),
            )

    def _person_day(self, day: date, end: datetime) -> None:
        history, rng = self.history, self.history.rng
        self._card(day, end, PERSON_HOURS, PERSON_WEEKDAYS[day.weekday()])
        noon = datetime.combine(day, time(rng.randint(6, 10), rng.randrange(60)), tzinfo=UTC)
        if day.day == 25:
            salary = self.monthly_income * self.plan.income(noon) * rng.uniform(0.98, 1.02)
            self._transfer(noon, end, to=self.employer, amount=money(salary), inbound=True)
        if day.day == 2:
            rent = money(self.monthly_income * 0.3 * rng.uniform(0.99, 1.01))
            self._transfer(noon, end, to=self.landlord, amount=rent, inbound=False)
        if rng.random() < 0.08:
            amount = money(rng.lognormvariate(math.log(120), 0.9))
            friend = rng.choice(self.friends)
            self._transfer(at(day, rng, PERSON_HOURS), end, to=friend, amount=amount, inbound=False)
        if rng.random() < 0.1:
            moment = at(day, rng, PERSON_HOURS)
            if self._keep(moment, end):
                history.transaction(
                    occurred_at=moment,
                    direction="outbound",
                    amount=Decimal(rng.choice((20, 40, 50, 60, 100, 150, 200))),
                    channel="atm",
                )
        if self.noise:
            self._person_noise(day, end)
        self._maybe_interaction(day, end, 0.012)

    def _company_day(self, day: date, end: datetime) -> None:
        rng = self.history.rng
        weekday = COMPANY_WEEKDAYS[day.weekday()]
        self._card(day, end, OFFICE_HOURS, weekday)
        daily_revenue = float(self.history.annual_income) / 250
        for _ in range(poisson(rng, 3.5 * weekday)):
            amount = money(daily_revenue / 3.5 * rng.lognormvariate(-0.3, 0.7))
            client = rng.choice(self.clients)
            self._transfer(at(day, rng, OFFICE_HOURS), end, to=client, amount=amount, inbound=True)
        for _ in range(poisson(rng, 2.5 * weekday)):
            amount = money(daily_revenue / 4 * rng.lognormvariate(-0.4, 0.7))
            supplier = rng.choice(self.suppliers)
            moment = at(day, rng, OFFICE_HOURS)
            self._transfer(moment, end, to=supplier, amount=amount, inbound=False)
        if day.day == 27:
            moment = datetime.combine(day, time(9, rng.randrange(60)), tzinfo=UTC)
            payroll = money(self.monthly_income * 0.35 * self.plan.income(moment))
            self._transfer(moment, end, to=self.employer, amount=payroll, inbound=False)
        if self.noise:
            self._company_noise(day, end, daily_revenue)
        self._maybe_interaction(day, end, 0.02)

    def _person_noise(self, day: date, end: datetime) -> None:
        """A one-off payment to someone new (a used car, a deposit), a cash deposit, a new
        phone: what a real customer does and what the rules must not call fraud."""
        history, rng = self.history, self.history.rng
        if rng.random() < ONE_OFF_PAYEE_PER_DAY:
            payee = counterparty(rng, COUNTRY_BY_CODE[history.customer.country])
            amount = money(rng.lognormvariate(math.log(250), 0.9))
            self._transfer(at(day, rng, PERSON_HOURS), end, to=payee, amount=amount, inbound=False)
        if rng.random() < PERSON_CASH_DEPOSIT_PER_DAY:
            self._cash_deposit(at(day, rng, PERSON_HOURS), end, rng.uniform(100, 2_000))
        self._maybe_new_phone(end, day)

    def _company_noise(self, day: date, end: datetime, daily_revenue: float) -> None:
        rng = self.history.rng
        home = COUNTRY_BY_CODE[self.history.customer.country]
        if rng.random() < NEW_CLIENT_PER_DAY:
            self.clients.append(counterparty(rng, home))
        if rng.random() < NEW_SUPPLIER_PER_DAY:
            self.suppliers.append(counterparty(rng, home))
        if self.cash_takings and day.weekday() == 0:
            moment = datetime.combine(day, time(rng.randint(8, 11), rng.randrange(60)), tzinfo=UTC)
            self._cash_deposit(moment, end, daily_revenue * rng.uniform(0.5, 1.5))
        self._maybe_new_phone(end, day)

    def _cash_deposit(self, moment: datetime, end: datetime, amount: float) -> None:
        if self._keep(moment, end):
            self.history.transaction(
                occurred_at=moment, direction="inbound", amount=money(amount), channel="atm"
            )

    def _maybe_new_phone(self, end: datetime, day: date) -> None:
        history, rng = self.history, self.history.rng
        if rng.random() < NEW_PHONE_PER_DAY and day < end.date():
            customer = history.customer
            history.customer = replace(
                customer, usual_devices=(*customer.usual_devices[-1:], device_id(rng))
            )

    def _maybe_interaction(self, day: date, end: datetime, chance: float) -> None:
        rng = self.history.rng
        if rng.random() >= chance:
            return
        moment = at(day, rng, OFFICE_HOURS)
        if not self.start <= moment <= end:
            return
        channel: InteractionChannel = rng.choice(("call", "email", "app", "branch_visit"))
        summary, outcome = rng.choice(EVERYDAY_TOPICS)
        log_interaction(self.history, moment, channel, summary, outcome, inbound=True)


EVERYDAY_TOPICS = (
    ("Asked about card limit", "explained"),
    ("Updated postal address", "done"),
    ("Requested statement copy", "sent"),
    ("Question on foreign transfer fees", "explained"),
    ("Annual review", "no changes"),
    ("Asked about savings rates", "offer sent"),
)


def log_interaction(
    history: CustomerHistory,
    moment: datetime,
    channel: InteractionChannel,
    summary: str,
    outcome: str | None,
    *,
    inbound: bool,
) -> Interaction:
    interaction = Interaction(
        external_id=history.next_id("I"),
        customer_external_id=history.customer.external_id,
        channel=channel,
        direction="inbound" if inbound else "outbound",
        summary=summary,
        outcome=outcome,
        staff_member=history.customer.relationship_manager if not inbound else None,
        occurred_at=moment,
    )
    history.interactions.append(interaction)
    return interaction
