"""Plain builders for domain inputs."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID, uuid4

from riskwatch_scoring.domain.inputs import (
    CreditRecord,
    Direction,
    FinancialProfile,
    Transaction,
    TransactionChannel,
)

CUSTOMER_ID = UUID("00000000-0000-0000-0000-000000000001")
T0 = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)


def make_txn(
    occurred_at: datetime,
    amount: str,
    *,
    direction: Direction = "outbound",
    counterparty: str = "DE89370400440532013000",
    counterparty_country: str = "DE",
    device_id: str | None = "device-1",
    currency: str = "EUR",
    channel: TransactionChannel = "transfer",
    account_id: str = "acc-1",
) -> Transaction:
    return Transaction(
        transaction_id=uuid4(),
        customer_id=CUSTOMER_ID,
        account_id=account_id,
        direction=direction,
        amount=Decimal(amount),
        currency=currency,
        channel=channel,
        counterparty_account=counterparty,
        counterparty_country=counterparty_country,
        country="DE",
        occurred_at=occurred_at,
        device_id=device_id,
    )


def make_credit_record(
    as_of: date,
    *,
    score: int | None = 740,
    debt: str = "2000",
    limit: str = "10000",
    delinquencies_30: int = 0,
    delinquencies_60: int = 0,
    delinquencies_90: int = 0,
    missed_payments: int = 0,
) -> CreditRecord:
    return CreditRecord(
        source="bureau",
        as_of=as_of,
        outstanding_debt=Decimal(debt),
        credit_limit=Decimal(limit),
        credit_score=score,
        delinquencies_30=delinquencies_30,
        delinquencies_60=delinquencies_60,
        delinquencies_90=delinquencies_90,
        missed_payments=missed_payments,
    )


def make_profile(
    as_of: date, *, income: str, liabilities: str, assets: str = "50000"
) -> FinancialProfile:
    return FinancialProfile(
        annual_income=Decimal(income),
        as_of=as_of,
        assets={"savings": Decimal(assets)},
        liabilities={"mortgage": Decimal(liabilities)},
    )
