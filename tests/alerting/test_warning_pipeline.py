"""Credit early warning on the event path, on real PostgreSQL: an AMBER indicator raises one
early-warning alert with readable evidence; a RED puts the customer on the watch list (owner:
the RM, else the risk team), idempotently, a later red updating the entry; levels, first
warnings and movements are kept at event time; segment baselines come from the portfolio."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from riskwatch_alerting.models import (
    Alert,
    Rule,
    WarningBaseline,
    WarningMovement,
    WarningState,
    WatchlistEntry,
)
from riskwatch_alerting.pipeline import AlertPipeline
from riskwatch_alerting.warning.service import (
    WARNING_RULE_ID,
    refresh_baselines,
    refresh_stale_baselines,
)
from riskwatch_shared.events.base import Event
from riskwatch_shared.events.common import CustomerSnapshot
from riskwatch_shared.events.customer import CustomerCreated
from riskwatch_shared.messaging.outbox import OUTBOX

from .factories import BASE_TIME, customer_assessed, feed

Sessions = async_sessionmaker[AsyncSession]
DAY = timedelta(days=1)


def _created(customer_id: uuid.UUID, rm: str | None, segment: str = "retail") -> CustomerCreated:
    snapshot = CustomerSnapshot(
        kind="individual",
        name="Greta Vogel",
        status="active",
        relationship_manager=rm,
        segment=segment,
    )
    return CustomerCreated(customer_id=customer_id, customer=snapshot)


def _assessed(customer_id: uuid.UUID, day: int, **features: Any) -> Event:
    return customer_assessed(
        customer_id, at=BASE_TIME + day * DAY, sequence=day + 1, features=features
    )


async def _outbox(sessions: Sessions, customer_id: uuid.UUID) -> list[dict[str, Any]]:
    async with sessions() as session:
        rows = await session.execute(select(OUTBOX.c.subject, OUTBOX.c.payload))
        events = [orjson.loads(payload) for subject, payload in rows if "alerting." in subject]
    return [e for e in events if e.get("customer_id") == str(customer_id)]


async def _states(sessions: Sessions, customer_id: uuid.UUID) -> dict[str, WarningState]:
    async with sessions() as session:
        rows = await session.execute(
            select(WarningState).where(WarningState.customer_id == customer_id)
        )
        return {row.indicator: row for row in rows.scalars()}


async def test_amber_alert_then_red_watch_list_idempotent(session_factory: Sessions) -> None:
    customer = uuid.uuid4()
    pipeline = AlertPipeline()
    await feed(session_factory, pipeline, [_created(customer, rm="rm-greta")])
    await feed(session_factory, pipeline, [_assessed(customer, 0, days_past_due=0)])
    assert await _states(session_factory, customer) == {}

    await feed(session_factory, pipeline, [_assessed(customer, 1, days_past_due=5)])
    await feed(session_factory, pipeline, [_assessed(customer, 3, days_past_due=9)])
    async with session_factory() as session:
        alerts = (
            (await session.execute(select(Alert).where(Alert.customer_id == customer)))
            .scalars()
            .all()
        )
        rule = await session.get(Rule, WARNING_RULE_ID)
    [alert] = alerts  # the second amber of the same indicator is not a second alert
    assert rule is not None
    assert (rule.status, rule.rule_type) == ("active", "credit_risk")
    assert alert.rule_id == WARNING_RULE_ID
    assert alert.title == "Credit early warning: Early arrears (1-30 days past due): Greta Vogel"
    since = (BASE_TIME + DAY).isoformat()
    assert alert.summary == (
        "Greta Vogel: Early arrears (1-30 days past due) at amber since "
        f"{(BASE_TIME + DAY):%Y-%m-%d %H:%M} UTC. "
        "days_past_due 5 >= 1 (absolute, amber)"
    )
    evidence = alert.evidence
    assert evidence["indicator"] == "early_arrears"
    assert evidence["level"] == "amber"
    assert evidence["since"] == since
    assert evidence["triggers"] == [
        {
            "kind": "absolute",
            "metric": "days_past_due",
            "value": 5.0,
            "threshold": 1.0,
            "direction": "above",
            "level": "amber",
        }
    ]
    assert alert.happened_at == BASE_TIME + DAY  # event time, not the machine's
    state = (await _states(session_factory, customer))["early_arrears"]
    assert (state.level, state.since, state.value) == ("amber", BASE_TIME + DAY, 9.0)

    # RED: on the watch list, owned by the RM, with the indicator's actions and exit criteria.
    red = _assessed(customer, 20, days_past_due=31)
    await feed(session_factory, pipeline, [red])
    async with session_factory() as session:
        [entry] = (
            (
                await session.execute(
                    select(WatchlistEntry).where(WatchlistEntry.customer_id == customer)
                )
            )
            .scalars()
            .all()
        )
    assert (entry.status, entry.origin, entry.origin_ref) == ("active", "warning", "early_arrears")
    assert entry.owner == "rm-greta"
    assert entry.entered_by == "system:early-warning"
    assert entry.review_due == datetime.now(UTC).date() + timedelta(days=14)
    assert "Offer a payment plan or forbearance assessment" in entry.required_actions
    assert entry.exit_criteria == "No days past due on two consecutive monthly records"
    assert entry.reason.startswith("RED Early arrears (1-30 days past due) since ")
    state = (await _states(session_factory, customer))["early_arrears"]
    assert (state.first_amber_at, state.first_red_at) == (BASE_TIME + DAY, BASE_TIME + 20 * DAY)

    # The same batch again (a redelivery) and the same red again change nothing.
    await feed(session_factory, pipeline, [red, _assessed(customer, 21, days_past_due=33)])
    # Another indicator turns red: the entry is updated, not doubled.
    await feed(
        session_factory,
        pipeline,
        [_assessed(customer, 22, days_past_due=34, returned_payments_90d=4)],
    )
    async with session_factory() as session:
        entries = (
            (
                await session.execute(
                    select(WatchlistEntry).where(WatchlistEntry.customer_id == customer)
                )
            )
            .scalars()
            .all()
        )
        movements = (
            await session.execute(
                select(WarningMovement.indicator, WarningMovement.change, WarningMovement.to_level)
                .where(WarningMovement.customer_id == customer)
                .order_by(WarningMovement.at, WarningMovement.id)
            )
        ).all()
    [entry] = entries
    assert "RED Returned payments since" in entry.reason
    assert "Check the account's balance and standing orders" in entry.required_actions
    assert "No returned payment for 90 days" in entry.exit_criteria
    assert [tuple(m) for m in movements] == [
        ("early_arrears", "raised", "amber"),
        ("early_arrears", "escalated", "red"),
        ("returned_payments", "raised", "red"),
    ]
    types = [e["type"] for e in await _outbox(session_factory, customer)]
    assert types.count("alerting.alert_raised.v1") == 1
    assert types.count("alerting.customer_entered_watchlist.v1") == 1
    assert types.count("alerting.watchlist_reviewed.v1") == 1

    # Back to normal: cleared at event time, the first warnings kept.
    await feed(session_factory, pipeline, [_assessed(customer, 60, days_past_due=0)])
    state = (await _states(session_factory, customer))["early_arrears"]
    assert (state.level, state.since) == (None, None)
    assert state.first_red_at == BASE_TIME + 20 * DAY


async def test_no_rm_goes_to_the_risk_team_and_a_disabled_rule_keeps_the_indicators(
    session_factory: Sessions,
) -> None:
    customer = uuid.uuid4()
    pipeline = AlertPipeline(warning_owner="credit-risk-team")
    await feed(session_factory, pipeline, [_created(customer, rm=None)])
    # A red (the bureau score) and an amber (utilisation): the watch list and an alert.
    await feed(
        session_factory,
        pipeline,
        [_assessed(customer, 0, bureau_score_change=-70, utilisation=0.9)],
    )
    async with session_factory() as session:
        entry = (
            await session.execute(
                select(WatchlistEntry).where(WatchlistEntry.customer_id == customer)
            )
        ).scalar_one()
    assert (entry.owner, entry.origin_ref) == ("credit-risk-team", "bureau_score_drop")
    async with session_factory() as session:
        [rule_id] = (
            await session.execute(select(Alert.rule_id).where(Alert.customer_id == customer))
        ).scalars()
    assert rule_id == WARNING_RULE_ID

    async with session_factory() as session, session.begin():
        await session.execute(
            update(Rule).where(Rule.id == WARNING_RULE_ID).values(status="disabled")
        )
    other = uuid.uuid4()
    fresh = AlertPipeline()
    await feed(session_factory, fresh, [_created(other, rm="rm-x")])
    await feed(session_factory, fresh, [_assessed(other, 0, utilisation=0.9)])
    async with session_factory() as session:
        alerts = (await session.execute(select(Alert.id).where(Alert.customer_id == other))).all()
    assert alerts == []
    assert (await _states(session_factory, other))["utilisation_creeping"].level == "amber"
    async with session_factory() as session, session.begin():
        await session.execute(
            update(Rule).where(Rule.id == WARNING_RULE_ID).values(status="active")
        )


async def test_segment_baselines_from_the_portfolio(session_factory: Sessions) -> None:
    pipeline = AlertPipeline()
    peers = [uuid.uuid4() for _ in range(40)]
    events: list[Event] = [_created(c, rm=None, segment="sme-peers") for c in peers]
    events += [_assessed(c, 0, utilisation=round(0.10 + i * 0.005, 3)) for i, c in enumerate(peers)]
    await feed(session_factory, pipeline, events, batch_size=100)
    async with session_factory() as session, session.begin():
        table = await refresh_baselines(session, datetime.now(UTC))
    baseline = table["sme-peers"]["utilisation"]
    assert baseline.population == 40
    assert 0.29 < baseline.percentiles[99] < 0.30
    # A peer at 0.7: under the absolute 0.85, but past the segment's p99 and the floor.
    customer = uuid.uuid4()
    warned = AlertPipeline()
    await feed(session_factory, warned, [_created(customer, rm=None, segment="sme-peers")])
    await feed(session_factory, warned, [_assessed(customer, 1, utilisation=0.7)])
    state = (await _states(session_factory, customer))["utilisation_creeping"]
    assert state.level == "red"
    assert state.detail[0]["kind"] == "segment"
    assert state.detail[0]["segment_percentile"] == 99


async def test_reviews_due_are_announced_once_per_review_date(session_factory: Sessions) -> None:
    from riskwatch_alerting.watchlist.service import announce_reviews_due

    customer = uuid.uuid4()
    pipeline = AlertPipeline()
    await feed(session_factory, pipeline, [_created(customer, rm="rm-due")])
    await feed(session_factory, pipeline, [_assessed(customer, 0, days_past_due=40)])
    today = datetime.now(UTC).date()
    async with session_factory() as session, session.begin():
        assert await announce_reviews_due(session, today) == 0  # due in 14 days
    async with session_factory() as session, session.begin():
        assert await announce_reviews_due(session, today + timedelta(days=14)) == 1
    async with session_factory() as session, session.begin():
        assert await announce_reviews_due(session, today + timedelta(days=15)) == 0
        entry = (
            await session.execute(
                select(WatchlistEntry).where(WatchlistEntry.customer_id == customer)
            )
        ).scalar_one()
        entry.review_due = today + timedelta(days=20)  # a review set the next date
    async with session_factory() as session, session.begin():
        assert await announce_reviews_due(session, today + timedelta(days=20)) == 1
    due = [
        e
        for e in await _outbox(session_factory, customer)
        if e["type"] == "alerting.watchlist_review_due.v1"
    ]
    assert [e["review_due"] for e in due] == [
        (today + timedelta(days=14)).isoformat(),
        (today + timedelta(days=20)).isoformat(),
    ]


async def test_the_periodic_job_recomputes_only_stale_baselines(session_factory: Sessions) -> None:
    customer, pipeline = uuid.uuid4(), AlertPipeline()
    await feed(session_factory, pipeline, [_created(customer, rm="rm-x")])
    await feed(session_factory, pipeline, [_assessed(customer, 0, utilisation=0.5)])
    now = datetime.now(UTC)
    async with session_factory() as session, session.begin():
        await refresh_baselines(session, now)
    async with session_factory() as session, session.begin():
        assert not await refresh_stale_baselines(session, now + timedelta(seconds=60), 600)
    async with session_factory() as session, session.begin():
        assert await refresh_stale_baselines(session, now + timedelta(seconds=601), 600)
    async with session_factory() as session:
        computed = (await session.execute(select(WarningBaseline.computed_at))).scalars().all()
    assert computed
    assert min(computed) == now + timedelta(seconds=601)
