"""What the in-process contract tests share: a migrated database per service, and the scored
payment event that makes alerting raise."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from riskwatch_shared.events.common import TransactionData
from riskwatch_shared.events.scoring import (
    CustomerFeatures,
    CustomerRiskLevels,
    TransactionScoredV2,
    TransactionSignals,
)
from riskwatch_shared.testing.fixtures import Infra, migrated_database


@contextlib.asynccontextmanager
async def database(infra: Infra, package: Any, prefix: str) -> AsyncIterator[str]:
    """A fresh database for the service `package`, migrated with its own alembic.ini."""
    ini = Path(package.__file__).parent / "alembic.ini"
    async for url in migrated_database(infra, ini, prefix):
        yield url


def payment_scored(customer_id: uuid.UUID, amount: str, *, tag: str) -> TransactionScoredV2:
    """An outbound EUR transfer as scoring announces it, in the version scoring writes (low
    anomaly: rules decide)."""
    now = datetime.now(UTC)
    transaction = TransactionData(
        transaction_id=uuid.uuid4(),
        external_id=f"{tag}-{uuid.uuid4().hex[:8]}",
        customer_id=customer_id,
        direction="outbound",
        amount=Decimal(amount),
        currency="EUR",
        channel="transfer",
        occurred_at=now,
        received_at=now,
    )
    return TransactionScoredV2(
        customer_id=customer_id,
        occurred_at=now,
        transaction=transaction,
        anomaly_score=0.1,
        anomaly_level="low",
        recommended_action="approve",
        model_version=tag,
        transaction_features=TransactionSignals(
            is_cross_border=False,
            is_new_country=False,
            is_new_device=False,
            is_new_counterparty=False,
            history_count=250,
        ),
        customer_features=CustomerFeatures(),
        risk_levels=CustomerRiskLevels(),
    )
