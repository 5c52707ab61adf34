"""Plain builders of the customer events scoring consumes, and waits on its state."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from riskwatch_shared.events.common import (
    CreditRecordData,
    CustomerSnapshot,
    FinancialProfileData,
    InteractionData,
    TransactionData,
)
from riskwatch_shared.events.customer import (
    CreditRecordAdded,
    CustomerCreated,
    FinancialProfileUpdated,
    InteractionLogged,
    TransactionReceived,
)
from riskwatch_shared.testing import checker_headers, wait_until

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def created(customer_id: uuid.UUID) -> CustomerCreated:
    snapshot = CustomerSnapshot(kind="individual", name="Test Customer", status="active")
    return CustomerCreated(customer_id=customer_id, customer=snapshot)


def transaction(
    customer_id: uuid.UUID,
    occurred_at: datetime,
    amount: str,
    *,
    direction: Literal["inbound", "outbound"] = "outbound",
    counterparty: str = "DE89370400440532013000",
    counterparty_country: str = "DE",
    currency: str = "EUR",
    transaction_id: uuid.UUID | None = None,
    device_id: str = "device-1",
) -> TransactionReceived:
    data = TransactionData(
        transaction_id=transaction_id or uuid.uuid4(),
        external_id=uuid.uuid4().hex,
        customer_id=customer_id,
        account_id=uuid.UUID(int=customer_id.int ^ 1),
        direction=direction,
        amount=Decimal(amount),
        currency=currency,
        channel="transfer",
        counterparty_account=counterparty,
        counterparty_country=counterparty_country,
        country="DE",
        device_id=device_id,
        occurred_at=occurred_at,
        received_at=occurred_at,
    )
    return TransactionReceived(customer_id=customer_id, transaction=data, occurred_at=occurred_at)


def credit_record(
    customer_id: uuid.UUID,
    as_of: date,
    *,
    score: int = 760,
    debt: str = "2000",
    limit: str = "10000",
    delinquencies_90: int = 0,
    delinquencies_30: int = 0,
    missed_payments: int = 0,
    occurred_at: datetime = T0,
    record_id: uuid.UUID | None = None,
) -> CreditRecordAdded:
    record = CreditRecordData(
        credit_record_id=record_id or uuid.uuid4(),
        source="bureau",
        credit_score=score,
        outstanding_debt=Decimal(debt),
        credit_limit=Decimal(limit),
        delinquencies_30=delinquencies_30,
        delinquencies_90=delinquencies_90,
        missed_payments=missed_payments,
        as_of=as_of,
    )
    return CreditRecordAdded(customer_id=customer_id, credit_record=record, occurred_at=occurred_at)


def financial_profile(
    customer_id: uuid.UUID, as_of: date, *, income: str, liabilities: str, occurred_at: datetime
) -> FinancialProfileUpdated:
    profile = FinancialProfileData(
        financial_profile_id=uuid.uuid4(),
        annual_income=Decimal(income),
        currency="EUR",
        assets={"savings": Decimal("20000")},
        liabilities={"mortgage": Decimal(liabilities)},
        as_of=as_of,
    )
    return FinancialProfileUpdated(
        customer_id=customer_id, financial_profile=profile, occurred_at=occurred_at
    )


def complaint(customer_id: uuid.UUID, occurred_at: datetime) -> InteractionLogged:
    interaction = InteractionData(
        interaction_id=uuid.uuid4(),
        channel="complaint",
        direction="inbound",
        summary="fees too high",
        occurred_at=occurred_at,
    )
    return InteractionLogged(
        customer_id=customer_id, interaction=interaction, occurred_at=occurred_at
    )


async def scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return await conn.scalar(text(sql), params)


async def state_version(engine: AsyncEngine, customer_id: uuid.UUID) -> int:
    sql = "SELECT version FROM customer_state WHERE customer_id = :id"
    return int(await scalar(engine, sql, id=customer_id) or 0)


async def count_rows(engine: AsyncEngine, sql: str, **params: Any) -> int:
    return int(await scalar(engine, sql, **params) or 0)


async def wait_for_version(engine: AsyncEngine, customer_id: uuid.UUID, version: int) -> None:
    async def reached() -> bool:
        return await state_version(engine, customer_id) >= version

    await wait_until(reached, timeout=20, interval=0.05, message=f"state version {version}")


async def promoted(client: Any, model_id: str, action: Literal["activate", "shadow"]) -> Any:
    """Propose the model as champion (`activate`) or challenger (`shadow`) with the test's
    identity and approve it as CHECKER, the second person (maker-checker): the decision's
    response (the approved proposal)."""
    proposed = await client.post(f"/v1/models/{model_id}/{action}")
    assert proposed.status_code == 202, proposed.text
    approved = await client.post(
        f"/v1/model-proposals/{proposed.json()['id']}/approve",
        json={"comment": "second pair of eyes"},
        headers=checker_headers(),
    )
    assert approved.status_code == 200, approved.text
    return approved
