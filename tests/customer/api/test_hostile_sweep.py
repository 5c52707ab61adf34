"""The hostile-input sweep over every write endpoint of the customer service: no answer of 500
or more, and a refused request stores nothing."""

from __future__ import annotations

import asyncio

from riskwatch_shared.testing.sweep import count_rows, hostile_sweep

from ..conftest import CreateCustomer, CustomerApp
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
    )
    assert len(report.operations) >= 10
    assert report.refused > 0
    assert not report.findings, "\n".join(report.findings)
    print(report.requests, report.refused, report.operations)
