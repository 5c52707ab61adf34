"""What a risk officer reads on an alert (sentences from message codes, never the rule
expression; title, severity and evidence in step; each reason once with its code) and when
the thing happened beside when the alert was raised (a backfill of old records sorts by it)."""

# ruff: noqa: RUF001

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import httpx
import msgspec
import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from riskwatch_alerting.config import Settings
from riskwatch_alerting.main import create_app
from riskwatch_alerting.pipeline import AlertPipeline
from riskwatch_shared.app import ServiceRuntime
from riskwatch_shared.events.common import Reason
from riskwatch_shared.events.customer import CustomerCreated
from riskwatch_shared.events.scoring import CustomerRiskLevelChanged
from riskwatch_shared.messages import MESSAGES
from riskwatch_shared.messaging.outbox import OUTBOX
from riskwatch_shared.security import Identity
from riskwatch_shared.testing import checker_headers, running_app
from riskwatch_shared.testing.fixtures import Infra, migrated_database

from .conftest import ALEMBIC_INI
from .factories import (
    BASE_TIME,
    active_template_rule,
    customer_assessed,
    feed,
    transaction_scored,
)

ADMIN = Identity(subject="alice", roles=("admin", "analyst"))
Client = tuple[httpx.AsyncClient, ServiceRuntime]
DAY = timedelta(days=1)
REASONS = [
    Reason(
        code="missed_payments",
        message="missed payments 3",
        contribution=0.9,
        value="3",
        params={"value": 3},
        advice="contact the customer and agree a repayment schedule",
    ),
    Reason(
        code="delinquent_30",
        message="payments 30+ days late 2",
        contribution=0.7,
        value="2",
        params={"value": 2},
        advice="contact the customer about the late payments",
    ),
    Reason(
        code="low_bureau_score",
        message="bureau score 540",
        contribution=0.5,
        value="540",
        params={"value": 540},
        advice="tighten credit terms; request updated income documents",
    ),
]


@pytest.fixture(scope="module")
async def api(infra: Infra) -> AsyncIterator[Client]:
    async for url in migrated_database(infra, ALEMBIC_INI, "alerting_words"):
        settings = Settings(
            database_url=url, NATS_URL=infra.nats_url, consumer_prefix="alerting-words-test"
        )
        async with running_app(create_app(settings), identity=ADMIN) as (client, runtime):
            yield client, runtime


async def _template(client: httpx.AsyncClient, key: str, **body: Any) -> dict[str, Any]:
    created = await client.post(f"/v1/rule-templates/{key}/rules", json=body)
    assert created.status_code == 201, created.text
    activated = await client.post(
        f"/v1/rules/{created.json()['id']}/activate", headers=checker_headers()
    )
    assert activated.status_code == 200, activated.text
    return dict(activated.json())


def _customer(customer_id: uuid.UUID, name: str) -> CustomerCreated:
    return msgspec.convert(
        {
            "customer_id": customer_id,
            "occurred_at": BASE_TIME - DAY,
            "customer": {"kind": "individual", "name": name, "status": "active"},
        },
        CustomerCreated,
    )


def _credit_rose(customer_id: uuid.UUID, *, as_of: date, sequence: int = 2, hour: int = 0) -> Any:
    return CustomerRiskLevelChanged(
        customer_id=customer_id,
        occurred_at=BASE_TIME,
        model_kind="credit",
        from_level="medium",
        to_level="critical",
        score=0.41,
        sequence=sequence,
        model_version="test",
        # Each reason once, with its advice; `advice` repeats them the old way.
        reasons=REASONS,
        advice=[f"{r.message}: {r.advice}" for r in REASONS],
        happened_at=BASE_TIME.replace(year=as_of.year, month=as_of.month, day=as_of.day, hour=hour),
    )


async def _alerts(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await client.get("/v1/alerts", params=query)
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items


async def test_credit_alert_reads_as_sentences_with_each_reason_once(api: Client) -> None:
    client, runtime = api
    await _template(client, "credit_level_rose")
    customer = uuid.uuid4()
    events = [
        _customer(customer, "Jane Borrower"),
        customer_assessed(customer, levels={"credit": "medium", "churn": "low"}, sequence=1),
        _credit_rose(customer, as_of=date(2026, 10, 1)),
    ]
    await feed(runtime.session_factory, AlertPipeline(), events)
    [alert] = await _alerts(client, customer_id=str(customer))
    # Title, severity and evidence agree: the level is critical everywhere.
    assert alert["title"] == "Credit risk rose to critical: Jane Borrower"
    assert alert["severity"] == "critical"
    assert alert["evidence"]["risk.credit_level"] == "critical"
    assert alert["summary"] == (
        "Jane Borrower's credit risk rose from medium to critical (probability of default 41%)."
    )
    assert "risk." not in alert["summary"]
    assert " held " not in alert["summary"]
    # The words as a code and parameters, so a Chinese front end renders its own.
    assert alert["message_code"] == "alert.credit_level_rose"
    zh = MESSAGES[alert["message_code"]].render_summary(alert["message_params"], "zh-CN")
    assert zh == "Jane Borrower的信用风险由中升至严重（违约概率41%）。"
    # Every reason once, with its advice, and as codes.
    assert alert["reasons"] == [f"{r.message} — {r.advice}" for r in REASONS]
    assert [r["code"] for r in alert["coded_reasons"]] == [
        "missed_payments",
        "delinquent_30",
        "low_bureau_score",
    ]
    assert alert["coded_reasons"][0]["params"] == {"value": 3}
    # When it happened: the credit record's as-of date, not the processing time.
    assert alert["happened_at"].startswith("2026-10-01T00:00:00")
    assert alert["raised_at"] > alert["happened_at"]


async def test_a_backfill_sorts_and_filters_by_when_it_happened(api: Client) -> None:
    client, runtime = api
    await _template(client, "large_amount_vs_average")
    customers = [uuid.uuid4() for _ in range(3)]
    large = {"amount_to_avg_30d": 8.24, "is_new_counterparty": True}
    # Old transactions arrive now, newest of them first: raised order is the reverse of
    # the order they happened in.
    events: list[Any] = [_customer(c, f"Customer {n}") for n, c in enumerate(customers)]
    for days_ago, customer in zip((3, 20, 40), customers, strict=True):
        events.append(
            transaction_scored(
                customer, at=BASE_TIME - days_ago * DAY, amount="12500", features=large
            )
        )
    for event in events:  # one batch each: raised one after the other
        await feed(runtime.session_factory, AlertPipeline(), [event])
    scope = {"type": "transaction_anomaly"}
    by_raised = [
        a for a in await _alerts(client, **scope) if uuid.UUID(a["customer_id"]) in customers
    ]
    by_happened = [
        a
        for a in await _alerts(client, sort="happened_at", **scope)
        if uuid.UUID(a["customer_id"]) in customers
    ]
    assert [uuid.UUID(a["customer_id"]) for a in by_raised] == customers[::-1]
    assert [uuid.UUID(a["customer_id"]) for a in by_happened] == customers
    first = by_happened[0]
    assert first["summary"] == (
        "Payment of 12,500.00 EUR to Counterparty is 8.2× Customer 0's 30-day average."
    )
    assert first["happened_at"].startswith((BASE_TIME - 3 * DAY).date().isoformat())
    window = {
        "happened_from": (BASE_TIME - 30 * DAY).isoformat(),
        "happened_to": (BASE_TIME - 10 * DAY).isoformat(),
    }
    within = await _alerts(client, sort="happened_at", **window, **scope)
    assert [uuid.UUID(a["customer_id"]) for a in within] == [customers[1]]
    # A cursor belongs to its sort.
    page = await client.get("/v1/alerts", params={"limit": 1, **scope})
    cursor = page.json()["next_cursor"]
    mixed = await client.get(
        "/v1/alerts", params={"limit": 1, "sort": "happened_at", "cursor": cursor}
    )
    assert mixed.status_code == 422, mixed.text


async def test_a_custom_rule_speaks_its_own_words_with_known_parameters_only(
    api: Client,
) -> None:
    client, runtime = api
    rule = {
        "name": "Big payment abroad",
        "rule_type": "custom",
        "severity": "high",
        "trigger_event_types": ["scoring.transaction_scored.v1"],
        "condition": 'txn.amount > 50000 and txn.country == "SG"',
    }
    refused = await client.post(
        "/v1/rules", json={**rule, "summary_template": "{customer} paid {txn.amount}"}
    )
    assert refused.status_code == 422, refused.text
    assert "unknown parameter" in refused.json()["detail"]
    own = await client.post(
        "/v1/rules",
        json={
            **rule,
            "title_template": "Big payment abroad",
            "summary_template": "{customer} paid {amount} from {country}.",
        },
    )
    assert own.status_code == 201, own.text
    await client.post(f"/v1/rules/{own.json()['id']}/activate", headers=checker_headers())
    plain = await client.post(
        "/v1/rules", json={**rule, "name": "Plain big payment", "condition": "txn.amount > 60000"}
    )
    await client.post(f"/v1/rules/{plain.json()['id']}/activate", headers=checker_headers())
    customer = uuid.uuid4()
    await feed(
        runtime.session_factory,
        AlertPipeline(),
        [_customer(customer, "Li Wei"), transaction_scored(customer, amount="70000", country="SG")],
    )
    alerts = {a["rule_name"]: a for a in await _alerts(client, customer_id=str(customer))}
    mine = alerts["Big payment abroad"]
    assert (mine["title"], mine["summary"]) == (
        "Big payment abroad: Li Wei",
        "Li Wei paid 70,000.00 EUR from SG.",
    )
    default = alerts["Plain big payment"]
    assert default["title"] == "Plain big payment: Li Wei"
    assert default["summary"].startswith("The rule “Plain big payment” matched for Li Wei at ")
    assert "txn." not in default["summary"]


async def test_a_cooldown_runs_on_event_time_not_on_when_events_arrive(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """Three level changes published within a second, a day of event time apart (a replay of
    the past): each is past the one-day cooldown of the one before, so each raises an alert,
    as they did live; a fourth an hour after the third joins it."""
    async with session_factory() as session, session.begin():
        await active_template_rule(session, "credit_level_rose")
    customer = uuid.uuid4()
    days = [date(2024, 3, 1), date(2024, 3, 2), date(2024, 3, 3)]
    changes = [_credit_rose(customer, as_of=day, sequence=n + 2) for n, day in enumerate(days)]
    changes.append(_credit_rose(customer, as_of=days[-1], sequence=5, hour=1))
    await feed(session_factory, AlertPipeline(), changes)
    async with session_factory() as session:
        rows = await session.execute(select(OUTBOX.c.subject, OUTBOX.c.payload))
        events = [orjson.loads(payload) for subject, payload in rows if "alerting." in subject]
    mine = [e for e in events if e.get("customer_id") == str(customer)]
    raised = [e for e in mine if e["type"] == "alerting.alert_raised.v1"]
    assert sorted(e["happened_at"][:10] for e in raised) == [day.isoformat() for day in days]
    assert [e["type"] for e in mine].count("alerting.alert_updated.v1") == 1


async def test_repeats_report_the_severity_the_alert_was_raised_with(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """The credit alert was raised critical (its level), above the rule's high: the events of
    its later occurrences say critical too, in the same batch or a later one."""
    async with session_factory() as session, session.begin():
        await active_template_rule(session, "credit_level_rose")
    customer = uuid.uuid4()
    # Within the rule's one-day cooldown, in event time.
    first = _credit_rose(customer, as_of=date(2026, 10, 1))
    again = _credit_rose(customer, as_of=date(2026, 10, 1), sequence=3, hour=6)
    later = _credit_rose(customer, as_of=date(2026, 10, 1), sequence=4, hour=12)
    await feed(session_factory, AlertPipeline(), [first, again])
    await feed(session_factory, AlertPipeline(), [later])
    async with session_factory() as session:
        rows = await session.execute(select(OUTBOX.c.subject, OUTBOX.c.payload))
        events = [orjson.loads(payload) for subject, payload in rows if "alerting." in subject]
    raised = [e for e in events if e["type"] == "alerting.alert_raised.v1"]
    updated = [e for e in events if e["type"] == "alerting.alert_updated.v1"]
    assert [e["severity"] for e in raised] == ["critical"]
    assert raised[0]["happened_at"].startswith("2026-10-01")
    assert [e["severity"] for e in updated] == ["critical", "critical"]
