"""List totals (issue 18): every cursor page says how many rows match in all, exact up to a
bound and PostgreSQL's estimate beyond it (`total_is_estimate`)."""

from __future__ import annotations

from sqlalchemy import select

from riskwatch_customer.models import Customer
from riskwatch_shared.db.totals import total_of

from ..conftest import CreateCustomer, CustomerApp, unique


async def test_a_page_carries_the_exact_total_of_its_filters(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    segment = unique("seg")
    for _ in range(3):
        await create_customer(segment=segment)
    first = await app.client.get("/v1/customers", params={"segment": segment, "limit": 2})
    assert first.status_code == 200, first.text
    body = first.json()
    assert len(body["items"]) == 2
    assert (body["total"], body["total_is_estimate"]) == (3, False)
    second = await app.client.get(
        "/v1/customers", params={"segment": segment, "limit": 2, "cursor": body["next_cursor"]}
    )
    assert len(second.json()["items"]) == 1
    assert second.json()["total"] == 3  # the filters' total, not what is left after the cursor
    customer_id = body["items"][0]["id"]
    audit = (await app.client.get(f"/v1/customers/{customer_id}/audit")).json()
    assert audit["total"] == len(audit["items"]) >= 1


async def test_beyond_the_bound_the_total_is_the_planners_estimate(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    segment = unique("big")
    for _ in range(4):
        await create_customer(segment=segment)
    statement = select(Customer).where(Customer.segment == segment)
    async with app.runtime.session_factory() as session:
        exact = await total_of(session, statement)
        estimated = await total_of(session, statement, exact_up_to=2)
        # The request's transaction is still usable after the EXPLAIN.
        still = await total_of(session, statement)
    assert (exact.value, exact.is_estimate) == (4, False)
    assert estimated.is_estimate
    assert estimated.value >= 3  # never below what the bounded count saw
    assert still == exact
