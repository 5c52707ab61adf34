"""The intake's fast path: its event carries the stored row, its quick check gives the same
verdicts as every rule, its batch report renders as the model; the token cache is safe."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import to_json

from riskwatch_customer.domain.reference_data import CURRENCY_MINOR_UNITS, in_minor_units
from riskwatch_customer.domain.validation import FieldError, TransactionRules
from riskwatch_customer.intake import (
    _item_result,
    checked_amount,
    event_json,
    rule_errors,
    to_row,
)
from riskwatch_customer.schemas import TransactionBatchOut, TransactionIn
from riskwatch_shared.events.customer import TransactionReceived

RULES = TransactionRules(max_amount=Decimal(10) ** 12, max_future_skew=timedelta(minutes=5))
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CUSTOMER = uuid.UUID(int=7)


def item(**overrides: Any) -> TransactionIn:
    body: dict[str, Any] = {
        "external_id": "core-1",
        "customer_id": str(CUSTOMER),
        "direction": "outbound",
        "amount": "125.5",
        "currency": "EUR",
        "channel": "card",
        "occurred_at": "2026-12-01T11:00:00+01:00",
    }
    return TransactionIn.model_validate(body | overrides)


def new_event(sent: TransactionIn, *, transaction_id: uuid.UUID, event_id: uuid.UUID) -> bytes:
    amount = checked_amount(sent, RULES, NOW)
    assert isinstance(amount, Decimal)
    row = to_row(sent, amount=amount, transaction_id=transaction_id, received_at=NOW)
    return event_json(row, event_id=event_id, occurred_at=NOW, trace_id="t1")


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"amount": 99.99, "currency": "EUR"},
        {"amount": "1000", "currency": "JPY"},
        {"amount": "10.5", "currency": "BHD"},
        {"account_id": str(uuid.UUID(int=9)), "ip_address": "2001:db8::1", "device_id": "d-1"},
        {"ip_address": "192.0.2.10", "country": "GB", "counterparty_country": "FR"},
        {"counterparty_name": "  Coffee Ltd  ", "merchant_category_code": "5814"},
        {"occurred_at": "2026-12-01T11:59:59.123456Z", "status": "pending"},
    ],
)
def test_the_event_carries_the_stored_row(overrides: dict[str, Any]) -> None:
    sent = item(**overrides)
    ids = {"transaction_id": uuid.uuid4(), "event_id": uuid.uuid4()}
    parsed = msgspec.json.decode(new_event(sent, **ids), type=TransactionReceived)
    assert (parsed.id, parsed.occurred_at, parsed.trace_id) == (ids["event_id"], NOW, "t1")
    assert parsed.customer_id == sent.customer_id
    txn = parsed.transaction
    assert txn.transaction_id == ids["transaction_id"]
    assert txn.amount == in_minor_units(sent.amount, sent.currency)
    assert txn.ip_address == (None if sent.ip_address is None else str(sent.ip_address))
    assert txn.occurred_at == sent.occurred_at
    assert txn.received_at == NOW
    for name in ("external_id", "currency", "channel", "counterparty_name", "status"):
        assert getattr(txn, name) == getattr(sent, name)


@settings(max_examples=300)
@given(
    units=st.integers(min_value=-(10**14), max_value=10**15),
    places=st.integers(min_value=0, max_value=5),
    currency=st.sampled_from([*sorted(CURRENCY_MINOR_UNITS), "XYZ"]),
    country=st.sampled_from([None, "GB", "QQ"]),
    counterparty_country=st.sampled_from([None, "FR", "ZZ"]),
    offset=st.integers(min_value=-3600, max_value=3600),
    tz_hours=st.integers(min_value=-12, max_value=12),
)
def test_the_quick_check_agrees_with_every_rule(
    units: int,
    places: int,
    currency: str,
    country: str | None,
    counterparty_country: str | None,
    offset: int,
    tz_hours: int,
) -> None:
    occurred_at = (NOW + timedelta(seconds=offset)).astimezone(timezone(timedelta(hours=tz_hours)))
    sent = TransactionIn.model_construct(
        external_id="e",
        customer_id=CUSTOMER,
        direction="inbound",
        amount=Decimal(units).scaleb(-places),
        currency=currency,
        channel="card",
        country=country,
        counterparty_country=counterparty_country,
        occurred_at=occurred_at,
    )
    verdict = checked_amount(sent, RULES, NOW)
    errors = rule_errors(sent, RULES, NOW)
    if errors:
        assert verdict == errors
    else:
        assert verdict == in_minor_units(sent.amount, sent.currency)
        assert str(verdict) == str(in_minor_units(sent.amount, sent.currency))


def test_item_results_render_as_the_batch_report_model() -> None:
    transaction_id = uuid.uuid4()
    items = [
        _item_result(0, "a", "accepted", transaction_id=transaction_id),
        _item_result(1, "a", "duplicate", transaction_id=transaction_id),
        _item_result(
            2, None, "rejected", errors=[FieldError(("amount",), "bad", "amount.not_positive")]
        ),
    ]
    report = {"accepted": 1, "duplicates": 1, "rejected": 1, "items": items}
    assert to_json(report) == TransactionBatchOut.model_validate(report).model_dump_json().encode()
    assert json.loads(to_json(report))["items"][2]["errors"] == [
        {"loc": ["amount"], "msg": "bad", "type": "amount.not_positive"}
    ]
