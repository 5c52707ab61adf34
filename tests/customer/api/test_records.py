"""Credit records, financial profiles, accounts, interactions and the customer 360."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..conftest import CreateCustomer, CustomerApp, published, transaction_body, unique


def credit_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "source": "bureau",
        "credit_score": 710,
        "delinquencies_30": 1,
        "missed_payments": 2,
        "outstanding_debt": "2500.00",
        "credit_limit": "10000.00",
        "currency": "EUR",
        "as_of": "2026-10-01",
    }
    return body | overrides


async def test_credit_records_history_newest_is_current(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    customer = await create_customer()
    path = f"/v1/customers/{customer['id']}/credit-records"
    first = await app.client.post(path, json=credit_body(as_of="2026-09-01", credit_score=650))
    assert first.status_code == 201, first.text
    assert Decimal(first.json()["utilisation"]) == Decimal("0.25")
    second = await app.client.post(
        path, json=credit_body(credit_score=720, days_past_due=12, monthly_instalment="450.50")
    )
    assert (second.json()["days_past_due"], second.json()["monthly_instalment"]) == (12, "450.50")
    assert first.json()["days_past_due"] is None
    history = (await app.client.get(path)).json()["items"]
    assert [r["credit_score"] for r in history] == [720, 650]
    [event] = await published(
        app,
        "customer.credit_record_added.v1",
        lambda p: p["credit_record"]["credit_record_id"] == second.json()["id"],
    )
    assert event["credit_record"]["outstanding_debt"] == "2500.00"
    assert event["credit_record"]["days_past_due"] == 12
    assert event["credit_record"]["monthly_instalment"] == "450.50"
    view = (await app.client.get(f"/v1/customers/{customer['id']}/360")).json()
    assert view["credit_record"]["credit_score"] == 720


async def test_credit_record_validation(app: CustomerApp, create_customer: CreateCustomer) -> None:
    customer = await create_customer()
    response = await app.client.post(
        f"/v1/customers/{customer['id']}/credit-records",
        json=credit_body(
            credit_score=5000,
            outstanding_debt="-1",
            currency="XXX",
            days_past_due=-1,
            monthly_instalment="-5",
        ),
    )
    assert response.status_code == 422
    locations = {error["loc"][-1] for error in response.json()["errors"]}
    assert {
        "credit_score",
        "outstanding_debt",
        "currency",
        "days_past_due",
        "monthly_instalment",
    } <= locations


async def test_financial_profile_history_with_derived_figures(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    customer = await create_customer()
    path = f"/v1/customers/{customer['id']}/financial-profile"
    body = {
        "annual_income": "60000.00",
        "currency": "EUR",
        "assets": {"savings": "20000.00", "property": "250000.00"},
        "liabilities": {"mortgage": "180000.00", "card": "3000.10"},
        "as_of": "2026-10-01",
    }
    created = await app.client.post(path, json=body)
    assert created.status_code == 201, created.text
    profile = created.json()
    assert Decimal(profile["net_worth"]) == Decimal("86999.90")
    assert Decimal(profile["debt_to_income"]) == Decimal("3.0500")
    assert Decimal(profile["total_assets"]) == Decimal("270000.00")
    await app.client.post(path, json=body | {"annual_income": "0", "as_of": "2026-11-01"})
    history = (await app.client.get(path)).json()["items"]
    assert len(history) == 2
    assert history[0]["debt_to_income"] is None  # no income: no ratio
    [event] = await published(
        app,
        "customer.financial_profile_updated.v1",
        lambda p: p["financial_profile"]["financial_profile_id"] == profile["id"],
    )
    assert event["financial_profile"]["assets"]["savings"] == "20000.00"


async def test_accounts_open_change_close(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    customer = await create_customer()
    path = f"/v1/customers/{customer['id']}/accounts"
    number = unique("GB29NWBK")
    body = {"number": number, "type": "current", "currency": "GBP", "opened_at": "2020-01-15"}
    opened = await app.client.post(path, json=body)
    assert opened.status_code == 201, opened.text
    account = opened.json()
    assert (await app.client.post(path, json=body)).status_code == 409
    closed = await app.client.patch(f"{path}/{account['id']}", json={"status": "closed"})
    assert closed.json()["status"] == "closed"
    assert closed.json()["closed_at"] is not None
    fetched = await app.client.get(f"{path}/{account['id']}")
    assert fetched.json()["status"] == "closed"
    assert [a["id"] for a in (await app.client.get(path)).json()] == [account["id"]]
    events = await published(
        app, "customer.account_changed.v1", lambda p: p["account"]["account_id"] == account["id"]
    )
    assert {e["account"]["status"] for e in events} >= {"active"}
    other = await create_customer()
    wrong_owner = await app.client.get(f"/v1/customers/{other['id']}/accounts/{account['id']}")
    assert wrong_owner.status_code == 404
    bad = await app.client.post(path, json=body | {"number": unique("N"), "currency": "ABC"})
    assert bad.status_code == 422


async def test_interactions_are_logged_with_staff_member(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    customer = await create_customer()
    path = f"/v1/customers/{customer['id']}/interactions"
    logged = await app.client.post(
        path,
        json={"channel": "complaint", "direction": "inbound", "summary": "Card blocked abroad"},
    )
    assert logged.status_code == 201, logged.text
    assert logged.json()["staff_member"] == "admin-1"
    await app.client.post(
        path, json={"channel": "call", "direction": "outbound", "summary": "Called back"}
    )
    history = (await app.client.get(path)).json()["items"]
    assert [i["summary"] for i in history] == ["Called back", "Card blocked abroad"]
    await published(
        app,
        "customer.interaction_logged.v1",
        lambda p: p["interaction"]["interaction_id"] == logged.json()["id"],
    )
    bad = await app.client.post(path, json={"channel": "pigeon", "direction": "inbound"})
    assert bad.status_code == 422


async def test_customer_360_gathers_everything(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    customer = await create_customer()
    cid = customer["id"]
    account = (
        await app.client.post(
            f"/v1/customers/{cid}/accounts",
            json={
                "number": unique("ACC"),
                "type": "current",
                "currency": "EUR",
                "opened_at": "2021-03-01",
            },
        )
    ).json()
    await app.client.post(f"/v1/customers/{cid}/credit-records", json=credit_body())
    await app.client.post(
        f"/v1/customers/{cid}/financial-profile",
        json={"annual_income": "50000", "currency": "EUR", "as_of": "2026-10-01"},
    )
    await app.client.post(
        f"/v1/customers/{cid}/interactions",
        json={"channel": "meeting", "direction": "outbound", "summary": "Annual review"},
    )
    sent = await app.client.post(
        "/v1/transactions", json=transaction_body(cid, account_id=account["id"])
    )
    assert sent.status_code == 201, sent.text
    view = (await app.client.get(f"/v1/customers/{cid}/360")).json()
    assert view["customer"]["id"] == cid
    assert [a["id"] for a in view["accounts"]] == [account["id"]]
    assert view["financial_profile"]["net_worth"] == "0"
    assert [t["transaction_id"] for t in view["recent_transactions"]] == [
        sent.json()["transaction_id"]
    ]
    assert [i["summary"] for i in view["recent_interactions"]] == ["Annual review"]
    assert view["risk_levels"]["overall"] is None
    audit = (await app.client.get(f"/v1/customers/{cid}/audit")).json()["items"]
    assert {e["entity_type"] for e in audit} == {
        "customer",
        "account",
        "credit_record",
        "financial_profile",
        "interaction",
    }


async def test_unknown_customer_is_404_everywhere(app: CustomerApp) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    for suffix in (
        "",
        "/360",
        "/audit",
        "/accounts",
        "/interactions",
        "/transactions",
        "/credit-records",
        "/financial-profile",
    ):
        response = await app.client.get(f"/v1/customers/{missing}{suffix}")
        assert response.status_code == 404, suffix
        assert response.json()["type"].endswith("/customer-not-found")
