"""A pre-authorisation request maps to the same domain transaction a stored one would."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from riskwatch_scoring.domain.convert import to_transaction
from riskwatch_scoring.schemas import TransactionScoreIn
from riskwatch_scoring.service import preauthorisation_transaction
from riskwatch_shared.events.common import TransactionData

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
FULL: dict[str, Any] = {
    "customer_id": uuid.UUID(int=5),
    "transaction_id": uuid.UUID(int=6),
    "account_id": uuid.UUID(int=7),
    "direction": "inbound",
    "amount": Decimal("12.3400"),
    "currency": "EUR",
    "channel": "card",
    "counterparty_name": "Shop",
    "counterparty_account": "DE00",
    "counterparty_country": "FR",
    "country": "DE",
    "device_id": "d-1",
    "merchant_category_code": "5411",
    "occurred_at": datetime(2026, 11, 1, 9, 0, tzinfo=UTC),
}
MINIMAL = {key: FULL[key] for key in ("customer_id", "direction", "amount", "currency", "channel")}


def _reference(request: TransactionScoreIn, transaction_id: uuid.UUID) -> Any:
    """What the service did before: a `TransactionData` through `to_transaction`."""
    data = TransactionData(
        transaction_id=transaction_id,
        external_id="preauthorisation",
        received_at=NOW,
        **request.model_dump(exclude={"transaction_id", "occurred_at"}),
        occurred_at=request.occurred_at or NOW,
    )
    return to_transaction(data)


@pytest.mark.parametrize(
    "fields",
    [
        FULL,
        MINIMAL,
        {**MINIMAL, "counterparty_name": "Shop only"},
        {**MINIMAL, "country": "AT"},
        {**MINIMAL, "counterparty_country": "KP", "account_id": None},
    ],
)
def test_request_maps_like_a_stored_transaction(fields: dict[str, Any]) -> None:
    request = TransactionScoreIn(**fields)
    txn = preauthorisation_transaction(request, NOW)
    if request.transaction_id is not None:
        assert txn.transaction_id == request.transaction_id
    assert txn == _reference(request, txn.transaction_id)
