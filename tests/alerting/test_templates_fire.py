"""Every shipped template fires on the events it targets and stays silent on normal traffic.

All templates are active at once, so "silent" means no template at all fires on the normal
customer's events.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from riskwatch_alerting.models import Alert, Rule
from riskwatch_alerting.pipeline import AlertPipeline
from riskwatch_alerting.rules.templates import TEMPLATES
from riskwatch_shared.db.session import create_engine, create_session_factory
from riskwatch_shared.events.base import Event
from riskwatch_shared.testing.fixtures import Infra, migrated_database

from .conftest import ALEMBIC_INI
from .factories import (
    BASE_TIME,
    active_template_rule,
    create_list,
    customer_assessed,
    feed,
    risk_level_changed,
    transaction_scored,
)

Scenario = Callable[[uuid.UUID, bool], list[Event]]
MINUTE = timedelta(minutes=1)


def _large_amount(customer: uuid.UUID, fire: bool) -> list[Event]:
    large = {"amount_to_avg_30d": 8.0, "is_new_counterparty": True}
    if fire:
        return [transaction_scored(customer, amount="6000", features=large)]
    # Neither an ordinary amount nor a large one to a payee the customer pays every month,
    # nor one at go-live, when the 30-day average rests on a few payments of a few days.
    known_payee = {**large, "is_new_counterparty": False}
    go_live = {**large, "history_count": 3, "history_days": 6.0}
    long_but_thin = {**large, "history_count": 4, "history_days": 80.0}
    return [
        transaction_scored(customer, amount="6000", features={"amount_to_avg_30d": 1.2}),
        transaction_scored(customer, amount="6000", features=known_payee, at=BASE_TIME + MINUTE),
        transaction_scored(customer, amount="6000", features=go_live, at=BASE_TIME + 2 * MINUTE),
        *(
            transaction_scored(customer, amount="6000", features=thin, at=BASE_TIME + n * MINUTE)
            for n, thin in ((3, long_but_thin), (4, {**large, "history_days": None}))
        ),
    ]


def _velocity(customer: uuid.UUID, fire: bool) -> list[Event]:
    count = 6 if fire else 3
    return [transaction_scored(customer, at=BASE_TIME + i * MINUTE) for i in range(count)]


def _new_device(customer: uuid.UUID, fire: bool) -> list[Event]:
    features = {"is_new_device": fire, "amount_to_avg_30d": 1.0}
    if fire:
        return [transaction_scored(customer, amount="7500", features=features)]
    # A known device; and at go-live, when every device is new, no history to be new against.
    go_live = {"is_new_device": True, "history_count": 2, "history_days": 1.0}
    return [
        transaction_scored(customer, amount="7500", features=features),
        transaction_scored(customer, amount="7500", features=go_live, at=BASE_TIME + MINUTE),
    ]


def _structuring(customer: uuid.UUID, fire: bool) -> list[Event]:
    amounts = ["9500", "9800", "9100"] if fire else ["9500", "450", "12000"]
    return [
        transaction_scored(customer, at=BASE_TIME + i * 30 * MINUTE, amount=amount)
        for i, amount in enumerate(amounts)
    ]


def _night(customer: uuid.UUID, fire: bool) -> list[Event]:
    start = BASE_TIME.replace(hour=2 if fire else 14)
    return [
        transaction_scored(customer, at=start + i * 20 * MINUTE, amount="1500") for i in range(2)
    ]


def _card_burst(customer: uuid.UUID, fire: bool) -> list[Event]:
    """Usual amounts at a card pace; only the device tells the burst apart."""
    return [
        transaction_scored(
            customer,
            at=BASE_TIME + i * MINUTE,
            amount="40",
            channel="online",
            features={"is_new_device": fire and i == 0},
        )
        for i in range(6)
    ]


def _cash_over_days(customer: uuid.UUID, fire: bool) -> list[Event]:
    """One cash deposit a day: the one-day template never sees three."""
    amounts = ["8400", "7900", "9300", "8800"] if fire else ["8400", "2500", "12000", "9100"]
    return [
        transaction_scored(
            customer,
            at=BASE_TIME + timedelta(days=i),
            amount=amount,
            direction="inbound",
            channel="atm",
        )
        for i, amount in enumerate(amounts)
    ]


def _pass_through(customer: uuid.UUID, fire: bool) -> list[Event]:
    """Payers the customer never had, then a payment on to someone new; not known clients."""
    paid_in = [
        transaction_scored(
            customer,
            at=BASE_TIME + timedelta(days=i),
            amount="600",
            direction="inbound",
            features={"is_new_counterparty": fire},
        )
        for i in range(3)
    ]
    passed_on = transaction_scored(
        customer,
        at=BASE_TIME + timedelta(days=3),
        amount="1700",
        features={"is_new_counterparty": True},
    )
    return [*paid_in, passed_on]


def _destination(customer: uuid.UUID, fire: bool) -> list[Event]:
    return [transaction_scored(customer, counterparty_country="IR" if fire else "FR")]


def _anomaly(customer: uuid.UUID, fire: bool) -> list[Event]:
    return [transaction_scored(customer, anomaly_score=0.93 if fire else 0.2)]


def _credit_rose(customer: uuid.UUID, fire: bool) -> list[Event]:
    if fire:
        return [risk_level_changed(customer, from_level="medium", to_level="high")]
    return [risk_level_changed(customer, from_level="high", to_level="medium")]


def _assessed(fire_features: dict[str, object], calm: dict[str, object], **kw: object) -> Scenario:
    def scenario(customer: uuid.UUID, fire: bool) -> list[Event]:
        return [customer_assessed(customer, features=fire_features if fire else calm, **kw)]  # type: ignore[arg-type]

    return scenario


def _complaints(customer: uuid.UUID, fire: bool) -> list[Event]:
    levels = {"credit": "low", "churn": "high" if fire else "low", "anomaly": "low"}
    return [
        customer_assessed(
            customer,
            features={"complaints_90d": 3 if fire else 1},
            levels=levels,
            scores={"credit": 0.02, "churn": 0.7 if fire else 0.1},
        )
    ]


SCENARIOS: dict[str, Scenario] = {
    "large_amount_vs_average": _large_amount,
    "velocity_burst": _velocity,
    "new_country_or_device_large_transfer": _new_device,
    "structuring": _structuring,
    "night_transfers": _night,
    "card_burst_new_device": _card_burst,
    "structuring_across_days": _cash_over_days,
    "pass_through_new_payers": _pass_through,
    "high_risk_destination": _destination,
    "anomaly_score_high": _anomaly,
    "credit_level_rose": _credit_rose,
    # Liabilities over annual income (a stock): a mortgage of twice the income is ordinary.
    "debt_to_income_high": _assessed({"debt_to_income": 5.2}, {"debt_to_income": 2.0}),
    "missed_payment_or_delinquency": _assessed(
        {"missed_payments": 2, "delinquencies_30": 1}, {"missed_payments": 0, "delinquencies_30": 0}
    ),
    "utilisation_high": _assessed({"utilisation": 0.95}, {"utilisation": 0.4}),
    "bureau_score_drop": _assessed({"bureau_score_change": -80}, {"bureau_score_change": -5}),
    "inactivity_churn": _assessed(
        {"days_since_last_activity": 90, "activity_trend_90d": -0.6},
        {"days_since_last_activity": 3, "activity_trend_90d": 0.1},
    ),
    "balance_drain": _assessed(
        # A share of the 30-day turnover: 0.8 is paying out four times what came in.
        # Fading too: a steady customer's net balance swings without them leaving.
        {"activity_trend_90d": -0.4, "balance_trend_90d": -0.7, "outflow_ratio_30d": 0.8},
        {"activity_trend_90d": 0.0, "balance_trend_90d": -0.7, "outflow_ratio_30d": 0.8},
    ),
    # Fading alone is not enough: a complaint (or falling inflows, or a drain) must come with it.
    "churn_early_warning": _assessed(
        {"days_since_last_activity": 2, "activity_trend_90d": -0.5, "complaints_90d": 1},
        {
            "days_since_last_activity": 2,
            "activity_trend_90d": -0.5,
            "complaints_90d": 0,
            "inflow_trend_90d": -0.1,
            "balance_trend_90d": 0.0,
        },
    ),
    "complaint_churn": _complaints,
}


def test_every_template_has_a_scenario() -> None:
    assert set(SCENARIOS) == {template.key for template in TEMPLATES}


@pytest.fixture(scope="module")
async def all_templates(infra: Infra) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async for url in migrated_database(infra, ALEMBIC_INI, "alerting_templates"):
        engine = create_engine(url, pool_size=2)
        session_factory = create_session_factory(engine)
        async with session_factory() as session, session.begin():
            await create_list(session, "high_risk_countries", "countries", ["IR", "KP", "SY"])
            await create_list(session, "watchlist_accounts", "accounts", ["XX-WATCHED-1"])
            for template in TEMPLATES:
                await active_template_rule(session, template.key)
        yield session_factory
        await engine.dispose()


@pytest.mark.parametrize("key", list(SCENARIOS))
async def test_template_fires_on_its_events_and_not_on_normal_traffic(
    all_templates: async_sessionmaker[AsyncSession], key: str
) -> None:
    risky, normal = uuid.uuid4(), uuid.uuid4()
    scenario = SCENARIOS[key]
    events = [*scenario(risky, True), *scenario(normal, False)]
    await feed(all_templates, AlertPipeline(), events, batch_size=2)
    async with all_templates() as session:
        statement = (
            select(Alert.customer_id, Rule.template_key, Alert.evidence)
            .join(Rule, Rule.id == Alert.rule_id)
            .where(Alert.customer_id.in_([risky, normal]))
        )
        rows = (await session.execute(statement)).all()
    fired = {(row.customer_id, row.template_key) for row in rows}
    assert (risky, key) in fired
    assert [row for row in rows if row.customer_id == normal] == []
    evidence = next(row.evidence for row in rows if row.template_key == key)
    assert evidence, "an alert carries the values its condition read"
    if key in ("large_amount_vs_average", "velocity_burst"):  # the cold-start guard says so
        assert float(evidence["txn.history_count"]) == 250
        assert float(evidence["txn.history_days"]) == 180
