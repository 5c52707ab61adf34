"""A customer's transactions filtered for the case page and the 360 (issue 21): what happened
around an alert's event, by direction, channel, account and amount; masked per role and
confined to a relationship manager's own customers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from riskwatch_shared.security import Identity

from ..conftest import CreateCustomer, CustomerApp, transaction_body

VIEWER = Identity(subject="viewer-tf", roles=("viewer",))
OWNER = Identity(subject="u-rm-tf", roles=("relationship_manager",), staff_id="rm-tf")
OTHER_RM = Identity(subject="u-rm-x", roles=("relationship_manager",), staff_id="rm-x")
EVENT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ACCOUNT = "DE89370400440532013000"


async def _ids(
    app: CustomerApp, customer_id: str, identity: Identity | None = None, **params: Any
) -> list[str]:
    headers = {} if identity is None else app.as_(identity)
    response = await app.client.get(
        f"/v1/customers/{customer_id}/transactions", params=params, headers=headers
    )
    assert response.status_code == 200, response.text
    return [item["transaction_id"] for item in response.json()["items"]]


async def test_transactions_around_an_event_and_by_kind(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    customer = await create_customer(relationship_manager="rm-tf")
    sent: dict[str, str] = {}
    for name, hours, direction, channel, amount in (
        ("week_before", -170, "outbound", "card", "20.00"),
        ("day_before", -20, "inbound", "transfer", "3000.00"),
        ("the_event", 0, "outbound", "transfer", "9000.00"),
        ("hour_after", 1, "outbound", "atm", "400.00"),
        ("days_after", 80, "outbound", "card", "15.00"),
    ):
        body = transaction_body(
            customer["id"],
            direction=direction,
            channel=channel,
            amount=amount,
            counterparty_account=ACCOUNT,
            occurred_at=(EVENT + timedelta(hours=hours)).isoformat(),
        )
        response = await app.client.post("/v1/transactions", json=body)
        assert response.status_code in (200, 201), response.text
        sent[name] = response.json()["transaction_id"]

    window = {
        "occurred_from": (EVENT - timedelta(days=3)).isoformat(),
        "occurred_to": (EVENT + timedelta(days=1)).isoformat(),
    }
    around = await _ids(app, customer["id"], **window)
    assert set(around) == {sent["day_before"], sent["the_event"], sent["hour_after"]}
    outbound = await _ids(app, customer["id"], direction="outbound", **window)
    assert set(outbound) == {sent["the_event"], sent["hour_after"]}
    assert await _ids(app, customer["id"], channel="atm") == [sent["hour_after"]]
    big = await _ids(app, customer["id"], min_amount="1000")
    assert set(big) == {sent["day_before"], sent["the_event"]}
    middle = await _ids(app, customer["id"], min_amount="400", max_amount="9000")
    assert set(middle) == {sent["day_before"], sent["the_event"], sent["hour_after"]}
    assert await _ids(app, customer["id"], max_amount="15") == [sent["days_after"]]
    assert await _ids(app, customer["id"], channel="atm", direction="inbound") == []

    # A viewer sees the counterparty's account masked; the owning RM sees the list, another
    # RM learns nothing (404, as for a customer that does not exist).
    viewer = await app.client.get(
        f"/v1/customers/{customer['id']}/transactions", params=window, headers=app.as_(VIEWER)
    )
    assert ACCOUNT not in viewer.text
    assert all(i["counterparty_account"].endswith(ACCOUNT[-4:]) for i in viewer.json()["items"])
    assert set(await _ids(app, customer["id"], OWNER, **window)) == set(around)
    refused = await app.client.get(
        f"/v1/customers/{customer['id']}/transactions", headers=app.as_(OTHER_RM)
    )
    assert refused.status_code == 404


async def test_hostile_transaction_filters_are_refused(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    customer = await create_customer()
    path = f"/v1/customers/{customer['id']}/transactions"
    for params in (
        {"occurred_from": "2026-03-02T09:00:00"},  # no offset: which day is that?
        {"occurred_to": "yesterday"},
        {"direction": "sideways"},
        {"channel": "pigeon"},
        {"min_amount": "-5"},
        {"min_amount": "NaN"},
        {"max_amount": "-1"},
        {"max_amount": "Infinity"},
        {"account_id": "1; DROP TABLE transactions"},
    ):
        response = await app.client.get(path, params=params)
        assert response.status_code == 422, params
        assert response.headers["content-type"].startswith("application/problem+json")
