"""Detection health (issue 23 item 5) on real PostgreSQL and NATS: a rule's fire rate, its
volume against its own baseline and its precision from dispositions; who may read them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_alerting.config import Settings
from riskwatch_alerting.health import operational
from riskwatch_alerting.health import service as health
from riskwatch_alerting.main import create_app
from riskwatch_alerting.models import (
    Alert,
    AlertOccurrence,
    EvaluationRecord,
    OperationalAlert,
    Rule,
    RuleAuditEntry,
)
from riskwatch_shared.app import ServiceRuntime
from riskwatch_shared.events.scoring import ModelDriftDetected
from riskwatch_shared.security import Identity
from riskwatch_shared.testing import identity_headers, running_app, wait_until
from riskwatch_shared.testing.fixtures import Infra, migrated_database

from .conftest import ALEMBIC_INI
from .factories import active_rule

ANALYST = Identity(subject="u-health-ana", roles=("analyst",))
VIEWER = Identity(subject="u-health-viewer", roles=("viewer",))
MANAGER = Identity(subject="u-health-rita", roles=("risk_manager",))
RM = Identity(subject="u-health-rm", roles=("relationship_manager",), staff_id="rm-h")
Client = tuple[httpx.AsyncClient, ServiceRuntime]


@pytest.fixture(scope="module")
async def api(infra: Infra) -> AsyncIterator[Client]:
    async for url in migrated_database(infra, ALEMBIC_INI, "alerting_health"):
        settings = Settings(
            database_url=url,
            NATS_URL=infra.nats_url,
            consumer_prefix=f"alerting-health-{uuid.uuid4().hex[:6]}",
        )
        async with running_app(create_app(settings), identity=ANALYST) as (client, runtime):
            yield client, runtime


async def live_rule(
    runtime: ServiceRuntime, *, days_live: float, name: str = "health rule", **fields: object
) -> Rule:
    """An active rule whose first approval was `days_live` days ago, with a trigger type of
    its own (so other tests' evaluations do not count for it)."""
    async with runtime.session_factory() as session, session.begin():
        rule = await active_rule(session, name=name, condition="txn.amount > 1", **fields)
        since = datetime.now(UTC) - timedelta(days=days_live)
        await session.execute(
            update(RuleAuditEntry)
            .where(RuleAuditEntry.rule_id == rule.id)
            .values(occurred_at=since)
        )
        # A type nobody sends: health reads it as stored; the live pipeline never sees it.
        rule.trigger_event_types = [f"test.health_{uuid.uuid4().hex[:8]}.v1"]
        rule.created_at = since
        return rule


def alert_row(
    rule: Rule, raised_at: datetime, *, status: str = "new", outcome: str | None = None
) -> Alert:
    return Alert(
        id=uuid.uuid4(),
        rule_id=rule.id,
        rule_version=rule.version,
        rule_name=rule.name,
        rule_type=rule.rule_type,
        severity=rule.severity,
        status=status,
        outcome=outcome,
        customer_id=uuid.uuid4(),
        title="t",
        summary="s",
        evidence={},
        scores={},
        reasons=[],
        suggested_actions=[],
        dedup_value=uuid.uuid4().hex,
        dedup_open=False,
        occurrence_count=1,
        first_seen_at=raised_at,
        last_seen_at=raised_at,
        raised_at=raised_at,
        happened_at=raised_at,
        sla_due_at=raised_at + timedelta(hours=4),
        resolved_at=raised_at if status == "resolved" else None,
    )


async def add_volume(
    session: AsyncSession, rule: Rule, now: datetime, per_day: Sequence[int]
) -> list[Alert]:
    """`per_day[k]` alerts raised in the 24-hour day k back from `now` (0 = the last 24 h)."""
    rows = [
        alert_row(rule, now - timedelta(days=day, hours=1, minutes=index))
        for day, count in enumerate(per_day)
        for index in range(count)
    ]
    session.add_all(rows)
    await session.flush()
    return rows


async def test_health_numbers_fire_rate_baseline_precision(api: Client) -> None:
    client, runtime = api
    rule = await live_rule(runtime, days_live=30)
    now = datetime.now(UTC)
    async with runtime.session_factory() as session, session.begin():
        # 26 usable days (30 live minus 3 of warm-up, whole days only) of 2 a day, 15 today.
        rows = await add_volume(session, rule, now, [15] + [2] * 29)
        # Five closed: three confirmed (two ways), two false positives; one left open.
        outcomes = ["confirmed_risk", "mitigated_limit_reduced", "confirmed_risk"]
        outcomes += ["false_positive", "false_positive"]
        for row, outcome in zip(rows, outcomes, strict=False):
            row.status, row.outcome, row.resolved_at = "resolved", outcome, now
        # 3 repeats folded into an open alert, and 500 events of the rule's type evaluated.
        session.add_all(
            AlertOccurrence(
                alert_id=rows[0].id,
                event_id=uuid.uuid4(),
                event_type=rule.trigger_event_types[0],
                occurred_at=now - timedelta(hours=2),
                evidence={},
            )
            for _ in range(3)
        )
        session.add_all(
            EvaluationRecord(
                event_id=uuid.uuid4(),
                event_type=rule.trigger_event_types[0],
                occurred_at=now - timedelta(days=index % 20, hours=3),
                context={},
            )
            for index in range(500)
        )

    response = await client.get(f"/v1/rules/{rule.id}/health")
    assert response.status_code == 200, response.text
    body = response.json()
    # 28-day window: 15 + 2 x 27 alerts first seen (day 28's pair is just outside) + 3 repeats.
    assert body["matches"] == 15 + 2 * 27 + 3
    assert body["events_evaluated"] == 500
    assert body["fire_rate"] == pytest.approx((15 + 54 + 3) / 500)
    assert body["alerts_last_24h"] == 15
    assert (body["baseline_per_day"], body["baseline_days"]) == (2.0, 26)
    assert body["baseline_ratio"] == pytest.approx(7.5)
    assert body["spiking"] is True
    assert (body["dispositioned"], body["true_positives"], body["false_positives"]) == (5, 3, 2)
    assert body["precision"] == pytest.approx(0.6)
    assert body["owner"] == "tester"
    assert (body["pending_version"], body["open_operational_alert_id"]) == (None, None)
    assert [d["alerts"] for d in body["alerts_per_day"][:3]] == [15, 2, 2]
    assert len(body["alerts_per_day"]) == 29

    listed = await client.get("/v1/rules/health", params={"status": "active", "days": 7})
    assert listed.status_code == 200
    mine = next(r for r in listed.json() if r["rule_id"] == str(rule.id))
    assert mine["window_days"] == 7
    assert mine["matches"] == 15 + 2 * 6 + 3  # day 6 ends inside the 7-day window


async def test_no_spike_below_minimum_volume_or_without_baseline(api: Client) -> None:
    _, runtime = api
    quiet = await live_rule(runtime, days_live=30, name="quiet rule")
    young = await live_rule(runtime, days_live=5, name="young rule")
    now = datetime.now(UTC)
    async with runtime.session_factory() as session, session.begin():
        await add_volume(session, quiet, now, [3])  # 0 -> 3: not a spike
        await add_volume(session, young, now, [40, 1, 1, 1])  # 2 usable days: no baseline
        found = {h.rule_id: h for h in await health.rules_health(session, now=now, status="active")}
    assert (found[quiet.id].baseline_per_day, found[quiet.id].baseline_ratio) == (0.0, 3.0)
    assert found[quiet.id].spiking is False
    assert found[young.id].baseline_per_day is None
    assert found[young.id].baseline_days == 1
    assert found[young.id].spiking is False


async def test_who_reads_health(api: Client) -> None:
    client, runtime = api
    rule = await live_rule(runtime, days_live=1)
    viewer = await client.get(f"/v1/rules/{rule.id}/health", headers=identity_headers(VIEWER))
    assert viewer.status_code == 200
    assert viewer.json()["precision"] is None
    refused = await client.get("/v1/rules/health", headers=identity_headers(RM))
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    missing = await client.get(f"/v1/rules/{uuid.uuid4()}/health")
    assert missing.status_code == 404
    hostile = await client.get("/v1/rules/health", params={"days": "9999"})
    assert hostile.status_code == 422
    assert (await client.get("/v1/rules/not-a-uuid/health")).status_code == 422
    # Every rule's numbers are computed at most once a minute: a second call gets the same.
    first = await client.get("/v1/rules/health", params={"days": 3})
    second = await client.get("/v1/rules/health", params={"days": 3})
    assert first.status_code == second.status_code == 200
    assert {r["as_of"] for r in first.json()} == {r["as_of"] for r in second.json()}
    assert len({r["as_of"] for r in first.json()}) == 1


async def _operational(runtime: ServiceRuntime, subject_id: str) -> list[OperationalAlert]:
    async with runtime.session_factory() as session:
        statement = (
            select(OperationalAlert)
            .where(OperationalAlert.subject_id == subject_id)
            .order_by(OperationalAlert.raised_at)
        )
        return list((await session.execute(statement)).scalars())


async def test_spike_raises_one_operational_alert_a_day_until_acknowledged(api: Client) -> None:
    client, runtime = api
    rule = await live_rule(runtime, days_live=30, name="spiking rule", owner_team="Fraud desk")
    quiet = await live_rule(runtime, days_live=30, name="steady rule")
    now = datetime.now(UTC)
    async with runtime.session_factory() as session, session.begin():
        await add_volume(session, rule, now, [24] + [3] * 27)  # 8x its usual 3 a day
        await add_volume(session, quiet, now, [4] + [3] * 27)
        raised = await operational.check_rules(session, now=now)  # the periodic check
    mine = [a for a in raised if a.subject_id == str(rule.id)]
    assert len(mine) == 1
    assert not [a for a in raised if a.subject_id == str(quiet.id)]
    alert = mine[0]
    assert (alert.kind, alert.status, alert.severity) == ("rule_spike", "open", "high")
    assert alert.owners == ["tester"]
    assert alert.owner_team == "Fraud desk"
    assert alert.figures == {
        "alerts_last_24h": 24.0,
        "baseline_per_day": 3.0,
        "baseline_ratio": 8.0,
    }
    assert "raised 24 alerts in the last 24 hours, 8.0x its baseline of 3 a day" in alert.report

    # The health gauges and the operational alerts counter, at /metrics.
    published = await client.get("/metrics")
    assert published.status_code == 200
    assert 'riskwatch_operational_alerts_total{kind="rule_spike"}' in published.text
    ratio = f'riskwatch_rule_baseline_ratio{{rule="spiking rule",rule_id="{rule.id}"}} 8.0'
    assert ratio in published.text
    assert f'riskwatch_rule_alerts_last_24h{{rule="steady rule",rule_id="{quiet.id}"}} 4.0' in (
        published.text
    )

    # The next checks (the spike lasts) raise nothing new: the open one takes the figures.
    async with runtime.session_factory() as session, session.begin():
        await add_volume(session, rule, now, [6])
        assert await operational.check_rules(session, now=now + timedelta(minutes=15)) == []
    [still] = await _operational(runtime, str(rule.id))
    assert (still.repeats, still.figures["alerts_last_24h"]) == (1, 30.0)
    studio = (await client.get(f"/v1/rules/{rule.id}/health")).json()
    assert (studio["spiking"], studio["open_operational_alert_id"]) == (True, str(alert.id))

    # Viewers and analysts read it; only a risk manager or admin acknowledges it.
    listed = await client.get(
        "/v1/operational-alerts", params={"status": "open"}, headers=identity_headers(VIEWER)
    )
    assert listed.status_code == 200
    assert str(alert.id) in [a["id"] for a in listed.json()]
    for caller in (VIEWER, ANALYST):
        refused = await client.post(
            f"/v1/operational-alerts/{alert.id}/acknowledge", headers=identity_headers(caller)
        )
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"
    path = f"/v1/operational-alerts/{alert.id}/acknowledge"
    acked = await client.post(
        path, json={"comment": "new list loaded"}, headers=identity_headers(MANAGER)
    )
    assert acked.status_code == 200, acked.text
    assert (acked.json()["status"], acked.json()["acknowledged_by"]) == (
        "acknowledged",
        MANAGER.subject,
    )
    again = await client.post(path, headers=identity_headers(MANAGER))  # a retry: no change
    assert (again.status_code, again.json()["comment"]) == (200, "new list loaded")
    hostile = await client.post(
        path, json={"comment": "x", "status": "open"}, headers=identity_headers(MANAGER)
    )
    assert hostile.status_code == 422

    # Acknowledged today: the rest of the day stays quiet; tomorrow's spike is a new alert.
    async with runtime.session_factory() as session, session.begin():
        assert await operational.check_rules(session, now=now + timedelta(hours=1)) == []
        await add_volume(session, rule, now + timedelta(days=1), [40])
        tomorrow = await operational.check_rules(session, now=now + timedelta(days=1))
    assert [a.subject_id for a in tomorrow] == [str(rule.id)]
    assert len(await _operational(runtime, str(rule.id))) == 2


async def test_drift_event_raises_an_operational_alert(api: Client) -> None:
    client, runtime = api
    model_id = uuid.uuid4()
    event = ModelDriftDetected(
        model_id=model_id,
        model_kind="churn",
        psi=0.41,
        threshold=0.25,
        model_version="churn-v2",
        owners=["u-health-rita", "u-health-rob"],
    )
    await runtime.bus.js.publish(event.type, event.to_json_bytes())

    async def raised() -> list[OperationalAlert] | None:
        return await _operational(runtime, str(model_id)) or None

    [alert] = await wait_until(raised, timeout=15, message="drift operational alert")
    assert (alert.kind, alert.subject_type, alert.subject_name) == (
        "model_drift",
        "model",
        "churn churn-v2",
    )
    assert alert.figures == {"psi": 0.41, "threshold": 0.25}
    assert alert.owners == ["u-health-rita", "u-health-rob"]  # who put it into service
    assert "PSI 0.410" in alert.report
    # A second drift event of the same model the same day adds no alert.
    async with runtime.session_factory() as session, session.begin():
        assert await operational.take_in_drift(session, [event]) == []
        count = select(func.count()).where(OperationalAlert.subject_id == str(model_id))
        assert await session.scalar(count) == 1
    one = await client.get(f"/v1/operational-alerts/{alert.id}")
    assert one.status_code == 200
    assert one.json()["subject_type"] == "model"
    assert (await client.get(f"/v1/operational-alerts/{uuid.uuid4()}")).status_code == 404
