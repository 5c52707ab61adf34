"""The hostile-input sweep over every write endpoint of the scoring service: no answer of 500
or more, and a refused request stores nothing."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy import text

from riskwatch_shared.testing.sweep import count_rows, hostile_sweep

from .conftest import ScoringHarness

# What the write endpoints store (the consumer's tables change with events, not requests).
WRITTEN_BY_REQUESTS = ["scoring_model", "outcome_label"]


async def test_no_write_endpoint_answers_hostile_input_with_a_server_error(
    scoring: ScoringHarness,
) -> None:
    document = (await scoring.client.get("/openapi.json")).json()

    async def scalar(sql: str) -> Any:
        async with scoring.runtime.engine.connect() as conn:
            return await conn.scalar(text(sql))

    async def count_records() -> dict[str, int]:
        return await count_rows(scalar, WRITTEN_BY_REQUESTS)

    customer_id = str(uuid.uuid4())
    report = await asyncio.to_thread(
        hostile_sweep,
        scoring.client,
        document,
        loop=asyncio.get_running_loop(),
        count_records=count_records,
        valid_bodies={
            "POST /v1/scores/transaction": {
                "customer_id": customer_id,
                "direction": "outbound",
                "amount": "125.50",
                "currency": "EUR",
                "channel": "card",
                "counterparty_name": "Coffee Ltd",
                "counterparty_account": "DE1234",
                "device_id": "d-1",
            },
            "POST /v1/labels": {
                "labels": [
                    {
                        "customer_id": customer_id,
                        "kind": "credit",
                        "outcome": 1,
                        "observed_at": "2026-01-01T00:00:00Z",
                    }
                ]
            },
        },
    )
    assert len(report.operations) >= 5
    assert report.refused > 0
    assert not report.findings, "\n".join(report.findings)
