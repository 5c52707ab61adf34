"""Windows kept incrementally in the database, keyed by customer, account, counterparty or
device, across batches."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from riskwatch_alerting.models import Alert, WindowGroup
from riskwatch_alerting.pipeline import AlertPipeline
from riskwatch_shared.events.common import CustomerSnapshot
from riskwatch_shared.events.customer import CustomerCreated

from .factories import BASE_TIME, active_rule, feed, transaction_scored


async def test_device_and_counterparty_windows_span_customers_and_batches(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session, session.begin():
        device_rule = await active_rule(
            session,
            name="Shared device",
            condition='distinct(txn.customer_id, within="90d", by="device") >= 3',
            dedup_key="txn.device_id",
        )
        mule_rule = await active_rule(
            session,
            name="Mule account",
            condition='sum(txn.amount, within="30d", by="counterparty") > 10000',
            dedup_key="txn.counterparty_account",
        )
    pipeline = AlertPipeline()
    # Three customers on one device, weeks apart, each in its own batch.
    for week, customer in enumerate([uuid.uuid4() for _ in range(3)]):
        event = transaction_scored(
            customer,
            at=BASE_TIME + timedelta(weeks=week),
            amount="4000",
            device_id="shared-device",
            counterparty_account="MULE-1",
        )
        await feed(session_factory, pipeline, [event])
    async with session_factory() as session:
        alerts = list((await session.execute(select(Alert))).scalars())
        groups = {
            (row.group_by, row.group_id)
            for row in (await session.execute(select(WindowGroup))).scalars()
        }
    by_rule = {alert.rule_id: alert for alert in alerts}
    assert set(by_rule) == {device_rule.id, mule_rule.id}
    assert by_rule[device_rule.id].first_seen_at == BASE_TIME + timedelta(weeks=2)
    assert by_rule[device_rule.id].evidence == {
        'distinct(txn.customer_id, within="90d", by="device")': 3
    }
    # 4,000 x 3 within 30 days is only reached on the third payment.
    assert by_rule[mule_rule.id].first_seen_at == BASE_TIME + timedelta(weeks=2)
    assert {("device", "shared-device"), ("counterparty", "MULE-1")} <= groups


async def test_segment_from_customer_events_is_a_rule_field(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session, session.begin():
        rule = await active_rule(
            session, condition='customer.segment == "private" and txn.amount > 1000'
        )
    customer = uuid.uuid4()
    created = CustomerCreated(
        customer_id=customer,
        customer=CustomerSnapshot(kind="individual", name="Bo", status="active", segment="private"),
    )
    await feed(session_factory, AlertPipeline(), [created])
    await feed(session_factory, AlertPipeline(), [transaction_scored(customer, amount="1500")])
    async with session_factory() as session:
        (alert,) = (await session.execute(select(Alert))).scalars()
    assert alert.rule_id == rule.id
    assert alert.customer_name == "Bo"
    assert alert.evidence["customer.segment"] == "private"
