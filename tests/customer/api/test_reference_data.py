"""Reference data from maintained packages: ISO 4217 currencies in force today (XCG, ZWG)
are taken, phone numbers are stored in E.164 and nonsense is refused, e-mail addresses are
checked and normalised."""

from __future__ import annotations

import pytest

from ..conftest import CreateCustomer, CustomerApp, customer_body, transaction_body


@pytest.mark.parametrize("currency", ["XCG", "ZWG"])
async def test_currencies_introduced_lately_are_accepted(
    app: CustomerApp, create_customer: CreateCustomer, currency: str
) -> None:
    customer = await create_customer()
    account = await app.client.post(
        f"/v1/customers/{customer['id']}/accounts",
        json={
            "number": f"ACC-{currency}-{customer['id'][:8]}",
            "type": "current",
            "currency": currency,
            "opened_at": "2024-07-01",
        },
    )
    assert account.status_code == 201, account.text
    intake = await app.client.post(
        "/v1/transactions",
        json=transaction_body(customer["id"], currency=currency, amount="10.25", country="CW"),
    )
    assert intake.status_code in (201, 202), intake.text


async def test_withdrawn_and_unknown_codes_are_refused(app: CustomerApp) -> None:
    for currency in ("ANG", "ZWL", "XAU", "ABC"):  # withdrawn, withdrawn, metal, never assigned
        response = await app.client.post(
            "/v1/transactions", json=transaction_body("x", currency=currency)
        )
        assert response.status_code == 422, currency
    refused = await app.client.post("/v1/customers", json=customer_body(country="XX"))
    assert refused.status_code == 422


async def test_phone_numbers_are_stored_in_e164(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    created = await create_customer(phone="+44 (0)20 7946-0958")
    assert created["phone"] == "+442079460958"
    same = await create_customer(phone="0044 20 7946 0958")
    assert same["phone"] == "+442079460958"
    found = await app.client.get("/v1/customers", params={"phone": "+44 20 7946 0958"})
    assert {created["id"], same["id"]} <= {c["id"] for c in found.json()["items"]}


@pytest.mark.parametrize("phone", ["(((((", "+1 555 0100", "12345", "+44 20 7946 09581234"])
async def test_what_is_not_a_phone_number_is_refused(app: CustomerApp, phone: str) -> None:
    response = await app.client.post("/v1/customers", json=customer_body(phone=phone))
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"][-1] == "phone"


async def test_email_addresses_are_checked_and_normalised(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    created = await create_customer(email="Ada@Example.COM")
    assert created["email"] == "Ada@example.com"
    for email in ("ada@@example.com", "ada@example", "a..b@example.com", "(((((@example.com"):
        response = await app.client.post("/v1/customers", json=customer_body(email=email))
        assert response.status_code == 422, email
