"""Transaction intake: strict validation, idempotency under concurrency, batches."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from riskwatch_shared.messaging.outbox import OUTBOX_CHANNEL
from riskwatch_shared.security import Identity
from riskwatch_shared.settings import to_asyncpg_dsn
from riskwatch_shared.testing import wait_until

from ..conftest import (
    CreateCustomer,
    CustomerApp,
    published,
    stream_payloads,
    transaction_body,
    unique,
)

SUBJECT = "customer.transaction_received.v1"
INGEST = Identity(subject="core-banking", kind="api_key", roles=("ingest",))
VIEWER = Identity(subject="viewer-1", roles=("viewer",))


async def open_account(app: CustomerApp, customer_id: str, currency: str = "EUR") -> str:
    response = await app.client.post(
        f"/v1/customers/{customer_id}/accounts",
        json={
            "number": unique("ACC"),
            "type": "current",
            "currency": currency,
            "opened_at": "2022-01-01",
        },
    )
    assert response.status_code == 201, response.text
    account_id: str = response.json()["id"]
    return account_id


async def rows_with(app: CustomerApp, external_id: str) -> tuple[int, int]:
    """(stored transactions, events published) for an external id, once the outbox has no
    row about it left: the relay deletes each row as it publishes it."""
    stored = await app.scalar(
        "SELECT count(*) FROM transactions WHERE external_id = :e", e=external_id
    )
    mention = f'"external_id":"{external_id}"'

    async def drained() -> bool:
        staged = await app.scalar(
            "SELECT count(*) FROM outbox WHERE subject = :s "
            "AND position(:e in convert_from(payload, 'UTF8')) > 0",
            s=SUBJECT,
            e=mention,
        )
        return int(staged) == 0

    await wait_until(drained, timeout=15, message="outbox rows published")
    events = await stream_payloads(app, SUBJECT)
    return int(stored), sum(p["transaction"]["external_id"] == external_id for p in events)


async def test_accepted_transaction_is_stored_and_published_whole(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    customer = await create_customer()
    account_id = await open_account(app, customer["id"])
    body = transaction_body(customer["id"], account_id=account_id, amount=99.99)
    response = await app.client.post("/v1/transactions", json=body, headers=app.as_(INGEST))
    assert response.status_code == 201, response.text
    stored = response.json()
    assert stored["amount"] == "99.99"
    assert "Idempotent-Replayed" not in response.headers
    [event] = await published(
        app, SUBJECT, lambda p: p["transaction"]["external_id"] == body["external_id"]
    )
    assert event["transaction"] == stored
    assert event["customer_id"] == customer["id"]
    fetched = await app.client.get(f"/v1/transactions/{stored['transaction_id']}")
    assert fetched.json() == stored
    listed = (await app.client.get(f"/v1/customers/{customer['id']}/transactions")).json()
    assert [t["transaction_id"] for t in listed["items"]] == [stored["transaction_id"]]


@pytest.mark.parametrize(
    ("overrides", "location", "error_type"),
    [
        ({"currency": "XYZ"}, "currency", "currency.unknown"),
        ({"amount": "-5.00"}, "amount", "amount.not_positive"),
        ({"amount": "0"}, "amount", "amount.not_positive"),
        ({"amount": "1000000000000.01"}, "amount", "amount.absurd"),
        ({"amount": "10.123"}, "amount", "amount.too_many_decimals"),
        ({"amount": "10.5", "currency": "JPY"}, "amount", "amount.too_many_decimals"),
        ({"country": "QQ"}, "country", "country.unknown"),
        ({"counterparty_country": "ZZ"}, "counterparty_country", "country.unknown"),
        (
            {"occurred_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()},
            "occurred_at",
            "occurred_at.future",
        ),
        ({"customer_id": str(uuid.uuid4())}, "customer_id", "reference.unknown"),
        ({"account_id": str(uuid.uuid4())}, "customer_id", "reference.unknown"),
    ],
)
async def test_invalid_transactions_are_rejected_per_field(
    app: CustomerApp,
    create_customer: CreateCustomer,
    overrides: dict[str, Any],
    location: str,
    error_type: str,
) -> None:
    customer = await create_customer()
    body = transaction_body(customer["id"]) | overrides
    response = await app.client.post("/v1/transactions", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert {"loc": ["body", location], "type": error_type} in [
        {"loc": e["loc"], "type": e["type"]} for e in errors
    ]
    assert await rows_with(app, body["external_id"]) == (0, 0)


async def test_shape_errors_and_other_customers_account(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    customer, other = await create_customer(), await create_customer()
    foreign_account = await open_account(app, other["id"])
    wrong = await app.client.post(
        "/v1/transactions", json=transaction_body(customer["id"], account_id=foreign_account)
    )
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["type"] == "reference.unknown"
    naive = transaction_body(customer["id"], occurred_at="2026-01-01T10:00:00", channel="fax")
    shaped = await app.client.post("/v1/transactions", json=naive)
    assert shaped.status_code == 422
    assert {e["loc"][-1] for e in shaped.json()["errors"]} >= {"occurred_at", "channel"}


async def test_viewer_may_not_send_transactions(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    customer = await create_customer()
    response = await app.client.post(
        "/v1/transactions", json=transaction_body(customer["id"]), headers=app.as_(VIEWER)
    )
    assert response.status_code == 403


async def test_ten_concurrent_identical_sends_store_and_publish_once(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    customer = await create_customer()
    body = transaction_body(customer["id"])
    responses = await asyncio.gather(
        *(app.client.post("/v1/transactions", json=body) for _ in range(10))
    )
    assert [r.status_code for r in responses] == [201] * 10
    assert len({r.json()["transaction_id"] for r in responses}) == 1
    assert sum("Idempotent-Replayed" not in r.headers for r in responses) == 1
    assert await rows_with(app, body["external_id"]) == (1, 1)
    events = await published(
        app, SUBJECT, lambda p: p["transaction"]["external_id"] == body["external_id"]
    )
    assert len(events) == 1


async def test_same_external_id_with_other_content_is_a_conflict(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    customer = await create_customer()
    body = transaction_body(customer["id"])
    assert (await app.client.post("/v1/transactions", json=body)).status_code == 201
    changed = await app.client.post("/v1/transactions", json=body | {"amount": "1.00"})
    assert changed.status_code == 409
    assert changed.json()["type"].endswith("/duplicate-transaction")


async def test_idempotency_key_replays_the_original_answer(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    customer = await create_customer()
    body = transaction_body(customer["id"])
    key = {"Idempotency-Key": unique("key")}
    responses = await asyncio.gather(
        *(app.client.post("/v1/transactions", json=body, headers=key) for _ in range(10))
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.text for r in responses}) == 1
    assert await rows_with(app, body["external_id"]) == (1, 1)
    reused = await app.client.post(
        "/v1/transactions", json=transaction_body(customer["id"]), headers=key
    )
    assert reused.status_code == 409
    assert reused.json()["type"].endswith("/idempotency-key-reused")


async def test_batch_answers_per_item_and_keeps_the_good_ones(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    customer = await create_customer()
    stored_before = transaction_body(customer["id"])
    assert (await app.client.post("/v1/transactions", json=stored_before)).status_code == 201
    good = [transaction_body(customer["id"], amount=f"{n}.25") for n in range(1, 4)]
    conflicting = stored_before | {"amount": "7.77"}
    items: list[Any] = [
        good[0],
        transaction_body(customer["id"], currency="ABC", amount="-1"),
        good[1],
        stored_before,
        good[1],
        transaction_body(str(uuid.uuid4())),
        {"external_id": unique("x"), "amount": "NaN-ish"},
        conflicting,
        good[2],
    ]
    response = await app.client.post(
        "/v1/transactions/batch", json={"items": items}, headers=app.as_(INGEST)
    )
    assert response.status_code == 200, response.text
    report = response.json()
    statuses = [item["status"] for item in report["items"]]
    assert statuses == [
        "accepted",
        "rejected",
        "accepted",
        "duplicate",
        "duplicate",
        "rejected",
        "rejected",
        "rejected",
        "accepted",
    ]
    assert (report["accepted"], report["duplicates"], report["rejected"]) == (3, 2, 4)
    by_index = report["items"]
    assert {e["type"] for e in by_index[1]["errors"]} == {"currency.unknown", "amount.not_positive"}
    assert by_index[4]["transaction_id"] == by_index[2]["transaction_id"]
    assert by_index[5]["errors"][0]["loc"] == ["customer_id"]
    assert {e["loc"][0] for e in by_index[6]["errors"]} >= {"amount", "customer_id"}
    assert by_index[7]["errors"][0]["type"] == "external_id.conflict"
    for transaction in good:
        assert await rows_with(app, transaction["external_id"]) == (1, 1)
    events = await published(
        app,
        SUBJECT,
        lambda p: p["transaction"]["external_id"] in {g["external_id"] for g in good},
        count=3,
    )
    assert len(events) == 3
    again = await app.client.post("/v1/transactions/batch", json={"items": good})
    assert again.json()["duplicates"] == 3
    assert [i["transaction_id"] for i in again.json()["items"]] == [
        by_index[0]["transaction_id"],
        by_index[2]["transaction_id"],
        by_index[8]["transaction_id"],
    ]


async def test_batch_of_a_thousand_in_one_request(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    customer = await create_customer()
    account_id = await open_account(app, customer["id"])
    prefix = unique("bulk")
    items = [
        transaction_body(customer["id"], account_id=account_id, external_id=f"{prefix}-{n}")
        for n in range(1000)
    ]
    response = await app.client.post("/v1/transactions/batch", json={"items": items})
    assert response.json()["accepted"] == 1000
    count = await app.scalar(
        "SELECT count(*) FROM transactions WHERE external_id LIKE :p", p=f"{prefix}-%"
    )
    assert count == 1000


async def test_batch_limits(app: CustomerApp, create_customer: CreateCustomer) -> None:
    customer = await create_customer()
    empty = await app.client.post("/v1/transactions/batch", json={"items": []})
    assert empty.status_code == 422
    too_many = [transaction_body(customer["id"]) for _ in range(5001)]
    response = await app.client.post("/v1/transactions/batch", json={"items": too_many})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "items"]


async def test_reading_a_transaction_respects_the_relationship_manager(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    customer = await create_customer(relationship_manager="rm-owner")
    sent = await app.client.post("/v1/transactions", json=transaction_body(customer["id"]))
    path = f"/v1/transactions/{sent.json()['transaction_id']}"
    owner = Identity(subject="rm-owner", roles=("relationship_manager",))
    other = Identity(subject="rm-other", roles=("relationship_manager",))
    assert (await app.client.get(path, headers=app.as_(owner))).status_code == 200
    assert (await app.client.get(path, headers=app.as_(other))).status_code == 404
    missing = await app.client.get(f"/v1/transactions/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert missing.json()["type"].endswith("/transaction-not-found")


async def test_batch_events_carry_the_stored_transactions(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    customer = await create_customer()
    account_id = await open_account(app, customer["id"])
    items = [
        transaction_body(customer["id"], account_id=account_id, amount="10"),
        transaction_body(customer["id"], amount=12.5, ip_address="2001:db8::7"),
        transaction_body(customer["id"], amount="1000", currency="JPY", counterparty_country="FR"),
    ]
    response = await app.client.post(
        "/v1/transactions/batch",
        json={"items": items},
        headers=app.as_(INGEST) | {"x-trace-id": "trace-batch-1"},
    )
    assert response.status_code == 200, response.text
    ids = [result["transaction_id"] for result in response.json()["items"]]
    events = await published(
        app,
        SUBJECT,
        lambda p: p["transaction"]["external_id"] in {i["external_id"] for i in items},
        count=3,
    )
    by_id = {event["transaction"]["transaction_id"]: event for event in events}
    assert sorted(by_id) == sorted(ids)
    for transaction_id in ids:
        event = by_id[transaction_id]
        stored = (await app.client.get(f"/v1/transactions/{transaction_id}")).json()
        assert event["transaction"] == stored
        assert (event["source"], event["trace_id"]) == ("customer", "trace-batch-1")
        assert event["customer_id"] == customer["id"]
    amounts = [by_id[i]["transaction"]["amount"] for i in ids]
    assert amounts == ["10.00", "12.50", "1000"]
    for sent in items:
        assert await rows_with(app, sent["external_id"]) == (1, 1)


async def test_duplicates_inside_and_across_batches(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    customer, other = await create_customer(), await create_customer()
    foreign_account = await open_account(app, other["id"])
    first = transaction_body(customer["id"])
    foreign = transaction_body(customer["id"], account_id=foreign_account)
    items = [first, first, first | {"amount": "3.00"}, foreign, foreign]
    report = (await app.client.post("/v1/transactions/batch", json={"items": items})).json()
    results = report["items"]
    assert [r["status"] for r in results] == [
        "accepted",
        "duplicate",
        "rejected",
        "rejected",
        "rejected",
    ]
    assert results[1]["transaction_id"] == results[0]["transaction_id"]
    assert results[2]["errors"] == [
        {
            "loc": ["external_id"],
            "msg": "already used for a different transaction",
            "type": "external_id.conflict",
        }
    ]
    assert [r["errors"][0]["type"] for r in results[3:]] == [
        "reference.unknown",
        "reference.unknown",
    ]
    assert [r["external_id"] for r in results] == [i["external_id"] for i in items]
    assert await rows_with(app, first["external_id"]) == (1, 1)
    assert await rows_with(app, foreign["external_id"]) == (0, 0)

    again = (
        await app.client.post(
            "/v1/transactions/batch", json={"items": [first, first | {"amount": "4.00"}]}
        )
    ).json()
    assert [r["status"] for r in again["items"]] == ["duplicate", "rejected"]
    assert again["items"][0]["transaction_id"] == results[0]["transaction_id"]
    assert again["items"][1]["errors"][0]["type"] == "external_id.conflict"
    single = await app.client.post("/v1/transactions", json=first)
    assert single.status_code == 201
    assert single.headers["Idempotent-Replayed"] == "true"
    assert single.json()["transaction_id"] == results[0]["transaction_id"]
    assert await rows_with(app, first["external_id"]) == (1, 1)


async def test_idempotency_key_retry_gets_the_first_answer_back(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    customer = await create_customer()
    body = transaction_body(customer["id"], amount="42.1")
    key = {"Idempotency-Key": unique("key")}
    first = await app.client.post("/v1/transactions", json=body, headers=key)
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    retry = await app.client.post("/v1/transactions", json=body, headers=key)
    assert retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert first.json()["amount"] == "42.10"
    stored_key = await app.scalar(
        "SELECT transaction_id::text FROM idempotency_keys WHERE key = :k", k=key["Idempotency-Key"]
    )
    assert stored_key == first.json()["transaction_id"]
    assert await rows_with(app, body["external_id"]) == (1, 1)
    invalid = await app.client.post(
        "/v1/transactions",
        json=transaction_body(customer["id"], currency="XYZ"),
        headers={"Idempotency-Key": unique("key")},
    )
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["loc"] == ["body", "currency"]


async def test_a_forged_identity_is_refused(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    customer = await create_customer()
    token = app.as_(INGEST)["x-riskwatch-identity"]
    forged = {
        "x-riskwatch-identity": token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    }
    for _ in range(2):
        response = await app.client.post(
            "/v1/transactions", json=transaction_body(customer["id"]), headers=forged
        )
        assert response.status_code == 401
        assert response.json()["detail"].startswith("invalid gateway identity")
    assert (
        await app.client.post(
            "/v1/transactions", json=transaction_body(customer["id"]), headers=app.as_(INGEST)
        )
    ).status_code == 201


async def test_the_relay_is_woken_by_the_commit_of_an_intake(
    app: CustomerApp, create_customer: CreateCustomer, customer_db: str
) -> None:
    customer = await create_customer()
    woken: list[str] = []
    listener = await asyncpg.connect(to_asyncpg_dsn(customer_db))
    try:
        await listener.add_listener(OUTBOX_CHANNEL, lambda *args: woken.append(args[2]))
        sent = await app.client.post("/v1/transactions", json=transaction_body(customer["id"]))
        assert sent.status_code == 201
        await wait_until(lambda: _done(woken), timeout=5, message="outbox NOTIFY")
        woken.clear()
        items = [transaction_body(customer["id"]) for _ in range(3)]
        batch = await app.client.post("/v1/transactions/batch", json={"items": items})
        assert batch.json()["accepted"] == 3
        await wait_until(lambda: _done(woken), timeout=5, message="outbox NOTIFY")
    finally:
        await listener.close()


async def _done(woken: list[str]) -> bool:
    return bool(woken)


@pytest.mark.parametrize(
    ("content", "loc", "error_type"),
    [
        (b"", ["body"], "missing"),
        (b"{not json", ["body"], "json_invalid"),
        (b"[]", ["body"], "model_type"),
        (b'{"external_id": "x"}', ["body", "direction"], "missing"),
        (None, ["body", "colour"], "extra_forbidden"),
        (None, ["body", "channel"], "literal_error"),
    ],
)
async def test_a_single_call_body_is_validated_per_field(
    app: CustomerApp,
    create_customer: CreateCustomer,
    content: bytes | None,
    loc: list[str],
    error_type: str,
) -> None:
    customer = await create_customer()
    if content is None:
        extra = {"colour": "red"} if "colour" in loc else {"channel": "fax"}
        content = json.dumps(transaction_body(customer["id"]) | extra).encode()
    response = await app.client.post(
        "/v1/transactions", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert {"loc": loc, "type": error_type} in [
        {"loc": e["loc"], "type": e["type"]} for e in response.json()["errors"]
    ]


async def test_an_overlong_idempotency_key_is_refused_and_both_are_documented(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    customer = await create_customer()
    body = transaction_body(customer["id"])
    response = await app.client.post(
        "/v1/transactions", json=body, headers={"Idempotency-Key": "k" * 201}
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "loc": ["header", "Idempotency-Key"],
            "msg": "String should have at most 200 characters",
            "type": "string_too_long",
        }
    ]
    assert await rows_with(app, body["external_id"]) == (0, 0)
    operation = (await app.client.get("/openapi.json")).json()["paths"]["/v1/transactions"]["post"]
    assert operation["parameters"][0]["name"] == "Idempotency-Key"
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert set(schema["required"]) >= {"external_id", "customer_id", "amount", "occurred_at"}
