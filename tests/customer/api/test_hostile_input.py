"""Hostile input against the customer service: each cause of a plain 500 found in the security
review is a clear 4xx now, and nothing is half-stored; masking of accounts, counterparty
accounts and IPs; exact search only for unmasking roles; one intake answer for any unknown
reference; security headers."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

from riskwatch_shared.security import Identity

from ..conftest import CreateCustomer, CustomerApp, customer_body, transaction_body, unique
from .test_transactions import INGEST, open_account

VIEWER = Identity(subject="viewer-1", roles=("viewer",))
RM_1 = Identity(subject="rm-1", roles=("relationship_manager",), staff_id="rm-1")


async def customer_count(app: CustomerApp) -> int:
    return int(await app.scalar("SELECT count(*) FROM customers"))


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


async def test_nul_and_control_characters_in_text_are_a_422_and_store_nothing(
    app: CustomerApp,
) -> None:
    before = await customer_count(app)
    for name in ("Ada\x00Lovelace", "Ada\u202eecalevoL", "Ada\x1b[31m"):
        response = await app.client.post("/v1/customers", json=customer_body(name=name))
        problem = assert_problem(response, 422)
        assert problem["errors"][0]["loc"] == ["body", "name"]
    for address in ("line 1\x00",):
        response = await app.client.post("/v1/customers", json=customer_body(address=address))
        assert_problem(response, 422)
    assert await customer_count(app) == before
    kept = await app.client.post(
        "/v1/customers", json=customer_body(name="张伟", address="1 Main St\nSpringfield")
    )
    assert kept.status_code == 201, kept.text
    assert kept.json()["name"] == "张伟"


async def test_a_nul_in_a_query_filter_is_a_400(app: CustomerApp) -> None:
    response = await app.client.get("/v1/customers", params={"name": "a\x00"})
    assert_problem(response, 400)


async def test_integers_and_amounts_beyond_their_columns_are_a_422(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    customer = await create_customer()
    url = f"/v1/customers/{customer['id']}/credit-records"
    base = {"source": "bureau", "as_of": "2026-01-01"}
    for field, value in (("delinquencies_30", 2**40), ("outstanding_debt", "1e20")):
        response = await app.client.post(url, json={**base, field: value})
        assert_problem(response, 422)
    profile = {"annual_income": "99999999999999999999", "currency": "EUR", "as_of": "2026-01-01"}
    refused = await app.client.post(
        f"/v1/customers/{customer['id']}/financial-profile", json=profile
    )
    assert_problem(refused, 422)
    assert (
        await app.scalar(
            "SELECT count(*) FROM credit_records WHERE customer_id = :c", c=customer["id"]
        )
        == 0
    )


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


async def test_malformed_cursors_are_a_422(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    customer = await create_customer()
    cursors = [
        "%%%",
        _cursor("2026-01-01T00:00:00+00:00|not-a-uuid"),
        _cursor("2026-01-01T00:00:00+00:00|99999999999999999999999"),
        _cursor("2026-01-01T00:00:00+00:00|\x00"),
    ]
    for cursor in cursors:
        for path in ("/v1/customers", f"/v1/customers/{customer['id']}/transactions"):
            assert_problem(await app.client.get(path, params={"cursor": cursor}), 422)
    # A well-formed cursor of another list (an audit entry's integer id) is refused too.
    audit_cursor = _cursor("2026-01-01T00:00:00+00:00|12")
    response = await app.client.get("/v1/customers", params={"cursor": audit_cursor})
    assert_problem(response, 422)


async def test_explicit_null_in_patch_is_a_422_or_clears_an_optional_field(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    customer = await create_customer()
    url = f"/v1/customers/{customer['id']}"
    for field in ("name", "kind", "document_number", "tags", "status"):
        problem = assert_problem(await app.client.patch(url, json={field: None}), 422)
        assert field in json.dumps(problem["errors"])
    unchanged = (await app.client.get(url)).json()
    assert unchanged["name"] == customer["name"]
    cleared = await app.client.patch(url, json={"phone": None, "segment": None})
    assert cleared.status_code == 200, cleared.text
    assert (cleared.json()["phone"], cleared.json()["segment"]) == (None, None)
    account_id = await open_account(app, customer["id"])
    account_url = f"{url}/accounts/{account_id}"
    assert_problem(await app.client.patch(account_url, json={"status": None}), 422)


async def test_a_deeply_nested_item_is_rejected_alone_and_the_others_are_stored(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    customer = await create_customer()
    good = [transaction_body(customer["id"]) for _ in range(2)]
    nested = "[" * 50_000 + "]" * 50_000
    body = (
        '{"items": ['
        + json.dumps(good[0])
        + ', {"external_id": "deep", "amount": '
        + nested
        + "}, "
        + json.dumps(good[1])
        + "]}"
    )
    response = await app.client.post(
        "/v1/transactions/batch",
        content=body.encode(),
        headers={**app.as_(INGEST), "content-type": "application/json"},
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert [item["status"] for item in report["items"]] == ["accepted", "rejected", "accepted"]
    assert report["items"][1]["errors"][0]["type"] == "json_too_deep"
    stored = await app.scalar(
        "SELECT count(*) FROM transactions WHERE external_id IN (:a, :b)",
        a=good[0]["external_id"],
        b=good[1]["external_id"],
    )
    assert stored == 2


async def test_a_deeply_nested_body_elsewhere_is_a_400(app: CustomerApp) -> None:
    nested = '{"name": ' + "[" * 50_000 + "]" * 50_000 + "}"
    response = await app.client.post(
        "/v1/customers", content=nested.encode(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_csv_cell_over_the_field_limit_is_a_422_and_imports_nothing(
    app: CustomerApp,
) -> None:
    before = await customer_count(app)
    header = "kind,name,document_type,document_number\n"
    rows = [
        f"individual,Ada,passport,{unique('P')}\n",
        f'individual,"{"x" * (129 * 1024)}",passport,{unique("P")}\n',
    ]
    text = header + "".join(rows)
    response = await app.client.post(
        "/v1/customers/import", content=text.encode(), headers={"content-type": "text/csv"}
    )
    assert "unreadable CSV" in assert_problem(response, 422)["detail"]
    nul = header + f"individual,A\x00da,passport,{unique('P')}\n"
    report = await app.client.post(
        "/v1/customers/import", content=nul.encode(), headers={"content-type": "text/csv"}
    )
    assert [row["status"] for row in report.json()["rows"]] == ["rejected"]
    assert await customer_count(app) == before


# --- masking, search, intake answers, headers -----------------------------------------------


async def test_accounts_transactions_and_360_are_masked_for_masked_roles(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    customer = await create_customer(relationship_manager="rm-1")
    number = unique("ACC") + "12345678"
    opened = await app.client.post(
        f"/v1/customers/{customer['id']}/accounts",
        json={"number": number, "type": "current", "currency": "EUR", "opened_at": "2024-01-01"},
    )
    assert opened.status_code == 201, opened.text
    body = transaction_body(
        customer["id"], counterparty_account="GB29NWBK60161331926819", ip_address="203.0.113.7"
    )
    sent = await app.client.post("/v1/transactions", json=body, headers=app.as_(INGEST))
    assert sent.status_code == 201, sent.text
    transaction_id = sent.json()["transaction_id"]
    cid = customer["id"]
    for identity in (VIEWER, RM_1):
        headers = app.as_(identity)
        accounts = (await app.client.get(f"/v1/customers/{cid}/accounts", headers=headers)).json()
        assert [a["number"] for a in accounts] == ["****5678"]
        one = await app.client.get(f"/v1/transactions/{transaction_id}", headers=headers)
        listed = await app.client.get(f"/v1/customers/{cid}/transactions", headers=headers)
        page = (await app.client.get(f"/v1/customers/{cid}/360", headers=headers)).json()
        for shown in (one.json(), listed.json()["items"][0], page["recent_transactions"][0]):
            assert shown["counterparty_account"] == "****6819"
            assert shown["ip_address"] == "203.0.*.*"
        assert [a["number"] for a in page["accounts"]] == ["****5678"]
    unmasked = (await app.client.get(f"/v1/transactions/{transaction_id}")).json()
    assert unmasked["counterparty_account"] == "GB29NWBK60161331926819"
    assert unmasked["ip_address"] == "203.0.113.7"


async def test_exact_document_or_phone_search_is_only_for_unmasking_roles(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    customer = await create_customer()
    for params in ({"document_number": customer["document_number"]}, {"phone": "+44 1"}):
        refused = await app.client.get("/v1/customers", params=params, headers=app.as_(VIEWER))
        assert_problem(refused, 403)
    found = await app.client.get(
        "/v1/customers", params={"document_number": customer["document_number"]}
    )
    assert [c["id"] for c in found.json()["items"]] == [customer["id"]]


async def test_intake_answers_alike_for_unknown_customer_unknown_account_and_others_account(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    customer, other = await create_customer(), await create_customer()
    foreign_account = await open_account(app, other["id"])
    bodies = [
        transaction_body(str(uuid.uuid4())),
        transaction_body(customer["id"], account_id=str(uuid.uuid4())),
        transaction_body(customer["id"], account_id=foreign_account),
    ]
    answers = []
    for body in bodies:
        response = await app.client.post("/v1/transactions", json=body, headers=app.as_(INGEST))
        problem = assert_problem(response, 422)
        answers.append((problem["title"], problem["detail"], problem["errors"]))
    assert answers[0] == answers[1] == answers[2]
    batch = await app.client.post(
        "/v1/transactions/batch", json={"items": bodies}, headers=app.as_(INGEST)
    )
    errors = [item["errors"] for item in batch.json()["items"]]
    assert errors[0] == errors[1] == errors[2]


async def test_every_response_carries_security_headers(app: CustomerApp) -> None:
    for response in (
        await app.client.get("/v1/customers"),
        await app.client.get("/v1/customers/not-a-uuid"),
        await app.client.get("/healthz"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "default-src 'none'" in response.headers["content-security-policy"]
        assert response.headers["cache-control"] == "no-store"
