"""Which alerts a relationship manager sees: their customers' as the customer directory says
now (a customer changing hands takes its alerts along), else as the alert was raised; a
customer nobody owns is nobody's (issue 17, ownership leaks)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from riskwatch_alerting import follow_up
from riskwatch_alerting.errors import AlertNotFound
from riskwatch_alerting.pipeline import AlertPipeline
from riskwatch_alerting.repository import AlertFilters
from riskwatch_shared.events.common import CustomerSnapshot
from riskwatch_shared.events.customer import CustomerCreated, CustomerUpdated
from riskwatch_shared.ownership import owner_scope
from riskwatch_shared.security import Identity

from .factories import BASE_TIME, active_rule, feed, transaction_scored

RM_A = Identity(subject="u-a", roles=("relationship_manager",), staff_id="rm-a")
RM_B = Identity(subject="u-b", roles=("relationship_manager",), staff_id="rm-b")
ANALYST = Identity(subject="u-c", roles=("analyst",))


def _snapshot(rm: str | None) -> CustomerSnapshot:
    return CustomerSnapshot(kind="individual", name="Bo", status="active", relationship_manager=rm)


async def _visible(factory: async_sessionmaker[AsyncSession], identity: Identity) -> set[uuid.UUID]:
    async with factory() as session:
        page, _ = await follow_up.list_alerts(
            session, AlertFilters(owner=owner_scope(identity)), cursor=None, limit=100
        )
        stats = await follow_up.stats(session, AlertFilters(owner=owner_scope(identity)))
    assert stats.total == len(page)
    return {alert.id for alert in page}


async def _may_open(
    factory: async_sessionmaker[AsyncSession], identity: Identity, alert_id: uuid.UUID
) -> bool:
    async with factory() as session:
        try:
            await follow_up.get_alert(session, alert_id, identity=identity)
            await follow_up.timeline(session, alert_id, identity=identity)
        except AlertNotFound:
            return False
    return True


async def test_alerts_follow_their_customer_to_its_current_rm(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session, session.begin():
        await active_rule(session, condition="txn.amount > 1000")
    owned, unknown = uuid.uuid4(), uuid.uuid4()
    created = CustomerCreated(customer_id=owned, customer=_snapshot("rm-a"))
    await feed(session_factory, AlertPipeline(), [created])
    await feed(
        session_factory,
        AlertPipeline(),
        [
            transaction_scored(owned, amount="5000"),
            transaction_scored(unknown, amount="5000", at=BASE_TIME + timedelta(minutes=1)),
        ],
    )
    everything = await _visible(session_factory, ANALYST)
    assert len(everything) == 2
    [alert_id] = await _visible(session_factory, RM_A)
    assert await _visible(session_factory, RM_B) == set()
    assert await _may_open(session_factory, RM_A, alert_id)
    assert not await _may_open(session_factory, RM_B, alert_id)
    [orphan] = everything - {alert_id}
    assert not await _may_open(session_factory, RM_A, orphan)  # nobody's customer
    assert await _may_open(session_factory, ANALYST, orphan)

    # An RM acting on another's alert is refused before anything changes.
    async with session_factory() as session:
        with pytest.raises(AlertNotFound):
            await follow_up.act(
                session,
                alert_id,
                action="acknowledge",
                actor=RM_B.subject,
                detail={},
                identity=RM_B,
            )

    moved = CustomerUpdated(
        customer_id=owned,
        customer=_snapshot("rm-b"),
        changed_fields=["relationship_manager"],
    )
    await feed(session_factory, AlertPipeline(), [moved])
    assert await _visible(session_factory, RM_B) == {alert_id}
    assert await _visible(session_factory, RM_A) == set()
    assert await _may_open(session_factory, RM_B, alert_id)
    assert not await _may_open(session_factory, RM_A, alert_id)
