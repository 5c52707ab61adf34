"""Scoring learns who owns a customer from customer events: a relationship manager reads only
their own customers' risk, features and history, and follows a customer changing hands; a
late redelivery of an older snapshot never hands it back (issue 17, ownership leaks)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import msgspec

from riskwatch_shared.events.common import CustomerSnapshot
from riskwatch_shared.events.customer import CustomerCreated, CustomerUpdated
from riskwatch_shared.security import Identity
from riskwatch_shared.testing import identity_headers, wait_until

from .builders import count_rows
from .conftest import ScoringHarness

T0 = datetime.now(UTC) - timedelta(hours=1)


def _rm(tag: str) -> Identity:
    staff_id = f"rm-{tag}-{uuid.uuid4().hex[:6]}"
    return Identity(subject=f"u-{staff_id}", roles=("relationship_manager",), staff_id=staff_id)


def _snapshot(rm: str) -> CustomerSnapshot:
    return CustomerSnapshot(kind="individual", name="Bo", status="active", relationship_manager=rm)


async def test_a_customer_changing_hands_changes_who_reads_its_scores(
    scoring: ScoringHarness,
) -> None:
    before, after = _rm("before"), _rm("after")
    customer = uuid.uuid4()

    async def status(identity: Identity, suffix: str = "risk") -> int:
        response = await scoring.client.get(
            f"/v1/customers/{customer}/{suffix}", headers=identity_headers(identity)
        )
        return response.status_code

    created = CustomerCreated(
        customer_id=customer, customer=_snapshot(str(before.staff_id)), occurred_at=T0
    )
    await scoring.publish(created)

    async def readable_by_before() -> bool:
        return await status(before) == 200

    await wait_until(readable_by_before, message="scoring has the customer")
    assert await status(after) == 404
    for suffix in ("features", "risk/history"):
        assert await status(before, suffix) == 200
        assert await status(after, suffix) == 404

    moved = CustomerUpdated(
        customer_id=customer,
        customer=_snapshot(str(after.staff_id)),
        changed_fields=["relationship_manager"],
        occurred_at=T0 + timedelta(minutes=10),
    )
    await scoring.publish(moved)

    async def readable_by_after() -> bool:
        return await status(after) == 200

    await wait_until(readable_by_after, message="the customer moved")
    assert await status(before) == 404

    # The first snapshot again (a republish under a new event id): older, so ignored.
    stale = msgspec.structs.replace(created, id=uuid.uuid4())
    await scoring.publish(stale)

    async def handled() -> bool:
        engine = scoring.runtime.engine
        return (
            await count_rows(engine, "SELECT count(*) FROM inbox WHERE event_id = :e", e=stale.id)
            > 0
        )

    await wait_until(handled, message="the stale snapshot handled")
    assert await status(after) == 200
    assert await status(before) == 404
