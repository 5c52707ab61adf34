"""The hostile-input sweep over every write endpoint of the customer service: no answer of 500
or more, and a refused request stores nothing."""

from __future__ import annotations

import asyncio
from typing import Any

from riskwatch_shared.testing.sweep import count_rows, hostile_sweep

from ..conftest import CreateCustomer, CustomerApp, customer_body, transaction_body, unique
from .test_transactions import open_account

BUSINESS_TABLES = """
    SELECT array_agg(tablename::text ORDER BY tablename) FROM pg_tables
    WHERE schemaname = 'public' AND tablename NOT LIKE 'outbox%'
      AND tablename NOT LIKE 'inbox%' AND tablename <> 'alembic_version'
"""


async def test_no_write_endpoint_answers_hostile_input_with_a_server_error(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    customer = await create_customer()
    account_id = await open_account(app, customer["id"])
    tables = list(await app.scalar(BUSINESS_TABLES))
    document = (await app.client.get("/openapi.json")).json()

    async def count_records() -> dict[str, int]:
        return await count_rows(app.scalar, tables)

    report = await asyncio.to_thread(
        hostile_sweep,
        app.client,
        document,
        loop=asyncio.get_running_loop(),
        count_records=count_records,
        known_path_parameters={"customer_id": customer["id"], "account_id": account_id},
        valid_bodies=valid_bodies(customer["id"]),
    )
    assert len(report.operations) >= 10
    assert report.refused > 0
    assert not report.findings, "\n".join(report.findings)


def valid_bodies(customer_id: str) -> dict[str, dict[str, Any]]:
    """One accepted body per write operation, for the sweep to make hostile field by field."""
    return {
        "POST /v1/customers": customer_body(),
        "PUT /v1/customers/{customer_id}": customer_body(),
        "PATCH /v1/customers/{customer_id}": {"name": "Ada", "segment": "retail", "tags": ["a"]},
        "POST /v1/customers/{customer_id}/credit-records": {
            "source": "bureau",
            "credit_score": 700,
            "delinquencies_30": 1,
            "outstanding_debt": "100.00",
            "credit_limit": "1000.00",
            "as_of": "2026-01-01",
        },
        "POST /v1/customers/{customer_id}/financial-profile": {
            "annual_income": "50000",
            "currency": "EUR",
            "assets": {"cash": "10"},
            "as_of": "2026-01-01",
        },
        "POST /v1/customers/{customer_id}/accounts": {
            "number": unique("ACC"),
            "type": "current",
            "currency": "EUR",
            "opened_at": "2024-01-01",
        },
        "PATCH /v1/customers/{customer_id}/accounts/{account_id}": {
            "type": "savings",
            "status": "active",
        },
        "POST /v1/customers/{customer_id}/interactions": {
            "channel": "call",
            "direction": "inbound",
            "summary": "Asked about fees",
            "outcome": "Explained",
        },
        "POST /v1/transactions": transaction_body(customer_id),
        "POST /v1/transactions/batch": {"items": [transaction_body(customer_id)]},
    }
