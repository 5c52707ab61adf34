"""The risk-level read model fed by `scoring.customer_risk_level_changed.v1`."""

from __future__ import annotations

import uuid
from typing import Any

from riskwatch_customer.consumers import record_risk_levels
from riskwatch_shared.events.scoring import CustomerRiskLevelChanged
from riskwatch_shared.testing import wait_until

from ..conftest import CreateCustomer, CustomerApp, unique


async def announce(app: CustomerApp, customer_id: str, kind: str, level: str, seq: int) -> None:
    event = CustomerRiskLevelChanged(
        customer_id=uuid.UUID(customer_id),
        model_kind=kind,  # type: ignore[arg-type]
        from_level=None,
        to_level=level,  # type: ignore[arg-type]
        score=0.5,
        sequence=seq,
        model_version="test-1",
    )
    await app.runtime.bus.js.publish(
        event.type, event.to_json_bytes(), headers={"Nats-Msg-Id": str(event.id)}
    )


async def levels(app: CustomerApp, customer_id: str) -> dict[str, Any]:
    response = await app.client.get(f"/v1/customers/{customer_id}")
    risk: dict[str, Any] = response.json()["risk_levels"]
    return risk


async def test_latest_levels_are_kept_and_older_sequences_ignored(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    customer = await create_customer()
    cid = customer["id"]
    await announce(app, cid, "overall", "high", 5)
    await announce(app, cid, "credit", "medium", 2)
    await announce(app, cid, "overall", "low", 3)  # older assessment arriving late
    await announce(app, cid, "churn", "critical", 1)

    async def settled() -> dict[str, Any] | None:
        current = await levels(app, cid)
        return current if current["churn"] == "critical" else None

    current = await wait_until(settled, timeout=15, message="risk levels stored")
    assert current is not None
    assert (current["overall"], current["credit"], current["anomaly"]) == ("high", "medium", None)
    await announce(app, cid, "overall", "critical", 9)

    async def raised() -> bool:
        return bool((await levels(app, cid))["overall"] == "critical")

    await wait_until(raised, timeout=15, message="newer level applied")
    view = (await app.client.get(f"/v1/customers/{cid}/360")).json()
    assert view["risk_levels"]["overall"] == "critical"
    assert view["customer"]["risk_levels"]["churn"] == "critical"


async def test_list_filters_on_risk_level(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    segment = unique("seg")
    risky = await create_customer(segment=segment)
    calm = await create_customer(segment=segment)
    await announce(app, risky["id"], "overall", "critical", 1)
    await announce(app, calm["id"], "overall", "low", 1)

    async def listed(level: str) -> list[str]:
        response = await app.client.get(
            "/v1/customers", params={"segment": segment, "risk_level": level}
        )
        return [c["id"] for c in response.json()["items"]]

    async def both_stored() -> bool:
        return bool(await listed("critical")) and bool(await listed("low"))

    await wait_until(both_stored, timeout=15, message="both levels stored")
    assert await listed("critical") == [risky["id"]]
    assert await listed("low") == [calm["id"]]
    assert await listed("high") == []


async def test_an_older_sequence_in_a_later_batch_changes_nothing(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    customer = await create_customer()
    cid = uuid.UUID(customer["id"])

    def changed(level: str, seq: int) -> CustomerRiskLevelChanged:
        return CustomerRiskLevelChanged(
            customer_id=cid,
            model_kind="anomaly",
            from_level=None,
            to_level=level,  # type: ignore[arg-type]
            score=0.1,
            sequence=seq,
            model_version="t",
        )

    for batch in ([changed("high", 7)], [changed("low", 4)], [changed("medium", 6)]):
        async with app.runtime.session_factory() as session, session.begin():
            await record_risk_levels(list(batch), session)
    assert (await levels(app, customer["id"]))["anomaly"] == "high"
