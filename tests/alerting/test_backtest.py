"""A backtest replays stored history and raises what live evaluation raised, read-only."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from riskwatch_alerting import follow_up, repository, service
from riskwatch_alerting.models import Alert
from riskwatch_alerting.pipeline import AlertPipeline
from riskwatch_alerting.schemas import DraftBacktest
from riskwatch_shared.events.base import Event

from .factories import ACTOR, BASE_TIME, active_template_rule, feed, transaction_scored


def _history(seed: int) -> list[Event]:
    """Three days of traffic for a few customers, with bursts and anomalous payments."""
    rng = random.Random(seed)
    customers = [uuid.uuid4() for _ in range(6)]
    events: list[Event] = []
    at = BASE_TIME
    while at < BASE_TIME + timedelta(days=3):
        at += timedelta(seconds=rng.randint(20, 900))
        customer = rng.choice(customers)
        score = 0.95 if rng.random() < 0.04 else rng.random() * 0.5
        amount = rng.choice(["120", "80", "9400", "300"])
        events.append(transaction_scored(customer, at=at, amount=amount, anomaly_score=score))
        if rng.random() < 0.08:  # a burst: several payments within minutes
            for step in range(1, 6):
                burst_at = at + timedelta(seconds=40 * step)
                events.append(transaction_scored(customer, at=burst_at, amount="150"))
            at += timedelta(seconds=240)
    return events


async def test_backtest_matches_live_evaluation_on_the_same_history(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session, session.begin():
        rules = [
            await active_template_rule(session, key, cooldown_seconds=1_800)
            for key in ("velocity_burst", "anomaly_score_high", "structuring")
        ]
    events = _history(seed=7)
    await feed(session_factory, AlertPipeline(), events, batch_size=100)
    async with session_factory() as session:
        live = list((await session.execute(select(Alert))).scalars())
    assert len({a.rule_id for a in live}) == 3, "the history should exercise every rule"

    # Disposition two alerts of the first rule: precision is measured against them.
    first_rule_alerts = sorted(
        (a for a in live if a.rule_id == rules[0].id), key=lambda a: a.first_seen_at
    )
    async with session_factory() as session, session.begin():
        for alert, outcome in zip(
            first_rule_alerts, ["false_positive", "confirmed_risk"], strict=False
        ):
            await follow_up.act(
                session, alert.id, action="resolve", actor=ACTOR, detail={"outcome": outcome}
            )

    # Start mid-way: windows must be warmed up from the history before the range.
    start, end = BASE_TIME + timedelta(hours=6), BASE_TIME + timedelta(days=4)
    for rule in rules:
        async with session_factory() as session:
            result = await service.backtest_rule(session, rule.id, start=start, end=end)
        expected = [a for a in live if a.rule_id == rule.id and a.first_seen_at >= start]
        per_day: dict[str, int] = {}
        for alert in expected:
            day = alert.first_seen_at.date().isoformat()
            per_day[day] = per_day.get(day, 0) + 1
        assert result.alerts == len(expected) > 0
        assert {d.day: d.alerts for d in result.alerts_per_day} == per_day
        occurrences = sum(a.occurrence_count - 1 for a in expected)
        assert result.occurrences == occurrences
        sampled = {sample["event_id"] for sample in result.samples}
        wanted = sorted(expected, key=lambda a: a.first_seen_at)[: len(result.samples)]
        assert sampled == {str(a.trigger_event_id) for a in wanted}
        if rule.id == rules[0].id:
            labelled = [a for a in first_rule_alerts[:2] if a.first_seen_at >= start]
            assert result.labelled >= len(labelled)

    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Alert)) == len(live)


async def test_draft_backtest_and_warm_up(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    customer = uuid.uuid4()
    # Stored history comes from evaluated events; the draft was never live.
    async with session_factory() as session, session.begin():
        await active_template_rule(session, "anomaly_score_high")
    events = [
        transaction_scored(customer, at=BASE_TIME + timedelta(minutes=i), amount="500")
        for i in range(4)
    ]
    await feed(session_factory, AlertPipeline(), events)
    draft = DraftBacktest(
        start=BASE_TIME + timedelta(minutes=3),
        end=BASE_TIME + timedelta(hours=1),
        condition='count(txn, within="10m") >= 4 and txn.amount >= 500',
        trigger_event_types=["scoring.transaction_scored.v1"],
    )
    async with session_factory() as session:
        result = await service.backtest_draft(session, draft=draft)
    assert (result.events_evaluated, result.alerts) == (1, 1)
    assert result.samples[0]["evidence"]['count(txn, within="10m", by="customer")'] == 4


async def test_history_is_read_in_keyset_pages_in_arrival_order(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    customer = uuid.uuid4()
    same_instant = [transaction_scored(customer, at=BASE_TIME) for _ in range(5)]
    later = [transaction_scored(customer, at=BASE_TIME + timedelta(seconds=i)) for i in range(1, 9)]
    await feed(session_factory, AlertPipeline(), [*same_instant, *later], batch_size=4)
    async with session_factory() as session:
        pages = [
            [record.event_id for record in page]
            async for page in repository.history_chunks(
                session, BASE_TIME, BASE_TIME + timedelta(hours=1), chunk_size=3
            )
        ]
    assert [len(page) for page in pages] == [3, 3, 3, 3, 1]
    assert [event_id for page in pages for event_id in page] == [
        event.id for event in [*same_instant, *later]
    ]
