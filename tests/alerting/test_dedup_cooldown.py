"""Dedup and cooldown over the real database: repeats inside the cooldown add occurrences."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from riskwatch_alerting import follow_up
from riskwatch_alerting.models import Alert, AlertOccurrence, AlertTimelineEntry
from riskwatch_alerting.pipeline import AlertPipeline
from riskwatch_shared.messaging.outbox import OUTBOX

from .factories import ACTOR, BASE_TIME, active_template_rule, feed, transaction_scored


async def _alerts(session_factory: async_sessionmaker[AsyncSession]) -> list[Alert]:
    async with session_factory() as session:
        rows = await session.execute(select(Alert).order_by(Alert.first_seen_at))
        return list(rows.scalars())


async def _timeline(
    session_factory: async_sessionmaker[AsyncSession], alert_id: uuid.UUID
) -> list[AlertTimelineEntry]:
    async with session_factory() as session:
        return list(await follow_up.timeline(session, alert_id))


async def test_repeat_within_cooldown_adds_an_occurrence_after_it_a_new_alert(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session, session.begin():
        await active_template_rule(session, "anomaly_score_high", cooldown_seconds=3_600)
    customer, other = uuid.uuid4(), uuid.uuid4()
    pipeline = AlertPipeline()
    hot: dict[str, Any] = {"anomaly_score": 0.97, "anomaly_level": "critical"}
    await feed(session_factory, pipeline, [transaction_scored(customer, **hot)])
    # Same batch and a later batch, both inside the hour: occurrences of the first alert.
    await feed(
        session_factory,
        pipeline,
        [
            transaction_scored(customer, at=BASE_TIME + timedelta(minutes=10), **hot),
            transaction_scored(other, at=BASE_TIME + timedelta(minutes=10), **hot),
            transaction_scored(customer, at=BASE_TIME + timedelta(minutes=50), **hot),
        ],
    )
    alerts = await _alerts(session_factory)
    by_customer = {alert.customer_id: alert for alert in alerts}
    assert len(alerts) == 2
    assert by_customer[customer].occurrence_count == 3
    assert by_customer[customer].last_seen_at == BASE_TIME + timedelta(minutes=50)
    assert by_customer[other].occurrence_count == 1

    # After the cooldown a repeat raises a new alert and closes the old one's dedup key.
    await feed(
        session_factory,
        pipeline,
        [transaction_scored(customer, at=BASE_TIME + timedelta(minutes=61), **hot)],
    )
    alerts = [a for a in await _alerts(session_factory) if a.customer_id == customer]
    assert [a.occurrence_count for a in alerts] == [3, 1]
    assert [a.dedup_open for a in alerts] == [False, True]
    async with session_factory() as session:
        occurrences = await session.scalar(select(func.count()).select_from(AlertOccurrence))
        subjects = (await session.execute(select(OUTBOX.c.subject))).scalars().all()
    assert occurrences == 2
    assert subjects.count("alerting.alert_raised.v1") == 3
    # Two occurrences of one alert in one batch: one timeline entry and one event say both.
    assert subjects.count("alerting.alert_updated.v1") == 1
    timeline = await _timeline(session_factory, by_customer[customer].id)
    added = [entry.detail for entry in timeline if entry.change == "occurrence_added"]
    assert [d["occurrences"] for d in added] == [2]


async def test_a_resolved_alert_no_longer_collects_repeats(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session, session.begin():
        await active_template_rule(session, "anomaly_score_high")
    customer = uuid.uuid4()
    pipeline = AlertPipeline()
    await feed(session_factory, pipeline, [transaction_scored(customer, anomaly_score=0.99)])
    (first,) = await _alerts(session_factory)
    async with session_factory() as session, session.begin():
        await follow_up.act(
            session, first.id, action="resolve", actor=ACTOR, detail={"outcome": "false_positive"}
        )
    later = BASE_TIME + timedelta(minutes=5)
    await feed(
        session_factory, pipeline, [transaction_scored(customer, at=later, anomaly_score=0.99)]
    )
    alerts = await _alerts(session_factory)
    assert len(alerts) == 2
    assert alerts[0].status == "resolved"
    assert alerts[1].status == "new"


async def test_dedup_key_with_a_field_separates_counterparties(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session, session.begin():
        await active_template_rule(
            session, "anomaly_score_high", dedup_key="customer_id:txn.counterparty_account"
        )
    customer = uuid.uuid4()
    events = [
        transaction_scored(customer, anomaly_score=0.95, counterparty_account=account)
        for account in ("ACC-1", "ACC-2", "ACC-1")
    ]
    await feed(session_factory, AlertPipeline(), events)
    alerts = await _alerts(session_factory)
    assert sorted(a.occurrence_count for a in alerts) == [1, 2]
    assert {a.dedup_value.split("|")[1] for a in alerts} == {
        "txn.counterparty_account=ACC-1",
        "txn.counterparty_account=ACC-2",
    }


async def test_an_alert_raised_and_repeated_in_one_batch_counts_its_occurrences(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session, session.begin():
        await active_template_rule(session, "anomaly_score_high", cooldown_seconds=3_600)
    customer = uuid.uuid4()
    hot: dict[str, Any] = {"anomaly_score": 0.97, "anomaly_level": "critical"}
    minutes = (0, 20, 5)  # the latest repeat is not the last one consumed
    await feed(
        session_factory,
        AlertPipeline(),
        [transaction_scored(customer, at=BASE_TIME + timedelta(minutes=m), **hot) for m in minutes],
    )
    (alert,) = await _alerts(session_factory)
    assert alert.occurrence_count == 3
    assert alert.first_seen_at == BASE_TIME
    assert alert.last_seen_at == BASE_TIME + timedelta(minutes=20)
    async with session_factory() as session:
        occurrences = (
            (
                await session.execute(
                    select(AlertOccurrence.occurred_at).order_by(AlertOccurrence.id)
                )
            )
            .scalars()
            .all()
        )
    assert occurrences == [BASE_TIME + timedelta(minutes=m) for m in minutes[1:]]
    changes = [entry.change for entry in await _timeline(session_factory, alert.id)]
    assert changes == ["raised", "occurrence_added"]
