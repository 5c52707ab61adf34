"""The consumers over real JetStream: events in, alerts committed, alert_raised.v1 out;
a redelivered event raises nothing twice; a rule change reaches the cached rules."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from nats.aio.msg import Msg
from sqlalchemy import func, select

from riskwatch_alerting.config import Settings
from riskwatch_alerting.consumers import pipeline_of
from riskwatch_alerting.main import create_app
from riskwatch_alerting.models import Alert, CustomerDirectoryEntry, EvaluationRecord
from riskwatch_shared.app import ServiceRuntime
from riskwatch_shared.events.base import Event
from riskwatch_shared.events.common import CustomerSnapshot
from riskwatch_shared.events.customer import CustomerCreated
from riskwatch_shared.testing import running_app, wait_until
from riskwatch_shared.testing.fixtures import Infra

from .factories import BASE_TIME, active_template_rule, transaction_scored


@pytest.fixture
async def runtime(alerting_db: str, infra: Infra) -> AsyncIterator[ServiceRuntime]:
    settings = Settings(
        database_url=alerting_db,
        NATS_URL=infra.nats_url,
        consumer_prefix=f"alerting-test-{uuid.uuid4().hex[:8]}",
        public_url="https://riskwatch.test",
    )
    async with running_app(create_app(settings)) as (_, runtime):
        yield runtime
        for runner in runtime.consumers:
            await runner.stop()
            await runtime.bus.js.delete_consumer(runner.spec.stream, runner.spec.durable)


async def publish(runtime: ServiceRuntime, event: Event, msg_id: str | None = None) -> None:
    headers = {"Nats-Msg-Id": msg_id or str(event.id)}
    await runtime.bus.js.publish(event.type, event.to_json_bytes(), headers=headers)


async def alerts_for(runtime: ServiceRuntime, customer: uuid.UUID) -> list[Alert]:
    async with runtime.session_factory() as session:
        rows = await session.execute(select(Alert).where(Alert.customer_id == customer))
        return list(rows.scalars())


async def test_events_raise_alerts_published_once_even_when_redelivered(
    runtime: ServiceRuntime,
) -> None:
    async with runtime.session_factory() as session, session.begin():
        rule = await active_template_rule(session, "anomaly_score_high")
    assert runtime.bus.nc is not None
    raised: list[dict[str, object]] = []

    async def collect(msg: Msg) -> None:
        raised.append(json.loads(msg.data))

    subscription = await runtime.bus.nc.subscribe("alerting.alert_raised.v1", cb=collect)
    customer = uuid.uuid4()
    await publish(
        runtime,
        CustomerCreated(
            customer_id=customer,
            customer=CustomerSnapshot(
                kind="individual", name="Ada Lovelace", status="active", relationship_manager="rm-7"
            ),
        ),
    )
    await wait_until(
        lambda: _exists(runtime, CustomerDirectoryEntry, customer), message="directory entry"
    )
    event = transaction_scored(customer, anomaly_score=0.97)
    await publish(runtime, event)
    # The same event again, as a redelivery after a lost ack would bring it (new message id).
    await publish(runtime, event, msg_id=f"again-{event.id}")
    later = transaction_scored(customer, at=BASE_TIME + timedelta(hours=3), anomaly_score=0.2)
    await publish(runtime, later)
    await wait_until(lambda: _exists(runtime, EvaluationRecord, later.id), message="evaluated")

    (alert,) = await alerts_for(runtime, customer)
    assert alert.occurrence_count == 1
    assert (alert.rule_id, alert.rule_version) == (rule.id, rule.version)
    assert alert.customer_name == "Ada Lovelace"
    assert alert.relationship_manager == "rm-7"
    assert alert.transaction_id == event.transaction.transaction_id
    assert alert.evidence == {"score.anomaly": "0.97", "score.anomaly_level": "low"}
    assert alert.sla_due_at - alert.raised_at == timedelta(hours=24)
    mine = await wait_until(
        lambda: _raised_for(raised, alert.id), message="alert_raised.v1 published"
    )
    assert mine["url"] == f"https://riskwatch.test/alerts/{alert.id}"
    assert mine["rule_version"] == rule.version
    await subscription.unsubscribe()
    scoring = next(r for r in runtime.consumers if r.spec.stream == "SCORING")
    assert scoring.stats.duplicates >= 1


async def test_a_rule_activated_while_running_is_picked_up(runtime: ServiceRuntime) -> None:
    customer = uuid.uuid4()
    first = transaction_scored(customer, anomaly_score=0.99)
    await publish(runtime, first)
    await wait_until(lambda: _exists(runtime, EvaluationRecord, first.id), message="evaluated")
    assert await alerts_for(runtime, customer) == []
    reloads = pipeline_of(runtime).cache.reloads
    async with runtime.session_factory() as session, session.begin():
        await active_template_rule(session, "anomaly_score_high")
    second = transaction_scored(customer, at=BASE_TIME + timedelta(minutes=1), anomaly_score=0.99)
    await publish(runtime, second)
    await wait_until(lambda: _count_alerts(runtime, customer), message="alert after activation")
    assert pipeline_of(runtime).cache.reloads == reloads + 1


async def _exists(runtime: ServiceRuntime, model: type[Any], key: uuid.UUID) -> bool:
    async with runtime.session_factory() as session:
        return await session.get(model, key) is not None


async def _count_alerts(runtime: ServiceRuntime, customer: uuid.UUID) -> int:
    async with runtime.session_factory() as session:
        statement = select(func.count()).select_from(Alert).where(Alert.customer_id == customer)
        return int(await session.scalar(statement) or 0)


async def _raised_for(raised: list[dict[str, object]], alert_id: uuid.UUID) -> dict[str, object]:
    return next((body for body in raised if body["alert_id"] == str(alert_id)), {})
