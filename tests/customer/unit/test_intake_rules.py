"""Pure intake rules: exact amounts, currency decimals, clock skew, batch collapsing."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskwatch_customer.consumers import latest_levels
from riskwatch_customer.domain.reference_data import CURRENCY_MINOR_UNITS, in_minor_units
from riskwatch_customer.domain.validation import (
    TransactionRules,
    check_amount,
    check_occurred_at,
    decimal_places,
    parse_amount,
)
from riskwatch_customer.errors import InvalidTransaction
from riskwatch_customer.intake import parse_batch
from riskwatch_shared.events.scoring import CustomerRiskLevelChanged

RULES = TransactionRules(max_amount=Decimal(10) ** 12, max_future_skew=timedelta(minutes=5))
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
currencies = st.sampled_from(sorted(CURRENCY_MINOR_UNITS))


@given(st.decimals(allow_nan=False, allow_infinity=False, places=4))
def test_parse_amount_is_exact_for_decimal_strings(amount: Decimal) -> None:
    assert parse_amount(str(amount)) == amount


@given(st.floats(min_value=0.01, max_value=1e9, allow_nan=False).map(lambda f: round(f, 2)))
def test_parse_amount_keeps_a_json_number_as_written(value: float) -> None:
    assert parse_amount(value) == Decimal(repr(value))


@pytest.mark.parametrize("raw", ["abc", "NaN", "Infinity", True, None, [1]])
def test_parse_amount_refuses_non_numbers(raw: object) -> None:
    with pytest.raises(ValueError):
        parse_amount(raw)


@given(
    currencies,
    st.integers(min_value=1, max_value=10**9).filter(lambda units: units % 10 != 0),
    st.integers(min_value=0, max_value=3),
)
def test_amounts_within_the_currency_decimals_pass_and_normalise(
    currency: str, units: int, places: int
) -> None:
    amount = Decimal(units).scaleb(-places)
    errors = check_amount(amount, currency, RULES)
    allowed = CURRENCY_MINOR_UNITS[currency]
    if places <= allowed:
        assert errors == []
        normalised = in_minor_units(amount, currency)
        assert normalised == amount
        assert -normalised.as_tuple().exponent == allowed  # type: ignore[operator]
    else:
        assert [e.type for e in errors] == ["amount.too_many_decimals"]
        assert decimal_places(amount) > allowed


@given(st.decimals(max_value=0, allow_nan=False, allow_infinity=False, places=2))
def test_zero_and_negative_amounts_are_refused(amount: Decimal) -> None:
    assert "amount.not_positive" in {e.type for e in check_amount(amount, "EUR", RULES)}


def test_absurd_amount_and_unknown_currency() -> None:
    assert [e.type for e in check_amount(Decimal(10) ** 13, "EUR", RULES)] == ["amount.absurd"]
    assert [e.type for e in check_amount(Decimal(1), "EUX", RULES)] == ["currency.unknown"]


@given(st.integers(min_value=-(10**6), max_value=10**6))
def test_future_timestamps_beyond_the_skew_are_refused(offset_seconds: int) -> None:
    errors = check_occurred_at(NOW + timedelta(seconds=offset_seconds), NOW, RULES)
    assert bool(errors) == (offset_seconds > 300)


def test_latest_levels_keep_the_highest_sequence_per_kind() -> None:
    customer = uuid.uuid4()

    def event(kind: str, level: str, seq: int) -> CustomerRiskLevelChanged:
        return CustomerRiskLevelChanged(
            customer_id=customer,
            model_kind=kind,
            from_level=None,  # type: ignore[arg-type]
            to_level=level,
            score=0.0,
            sequence=seq,
            model_version="m",  # type: ignore[arg-type]
        )

    updates = latest_levels(
        [event("overall", "high", 5), event("overall", "low", 2), event("credit", "medium", 1)]
    )
    assert sorted((u.kind, u.level, u.sequence) for u in updates) == [
        ("credit", "medium", 1),
        ("overall", "high", 5),
    ]


def _item(external_id: str, amount: object) -> dict[str, object]:
    return {
        "external_id": external_id,
        "customer_id": str(uuid.UUID(int=1)),
        "direction": "inbound",
        "amount": amount,
        "currency": "EUR",
        "channel": "card",
        "occurred_at": "2026-11-30T10:00:00+00:00",
    }


@given(st.lists(st.booleans(), min_size=1, max_size=30))
def test_parse_batch_answers_every_item_once(valid_flags: list[bool]) -> None:
    items = [
        _item(f"e{n}", "12.50") if valid else _item(f"e{n}", "twelve")
        for n, valid in enumerate(valid_flags)
    ]
    parsed, rejected = parse_batch(json.dumps({"items": items}).encode(), max_items=100)
    assert [index for index, _ in parsed] == [n for n, ok in enumerate(valid_flags) if ok]
    assert sorted(rejected) == [n for n, ok in enumerate(valid_flags) if not ok]
    assert all(result["errors"][0]["loc"] == ["amount"] for result in rejected.values())
    assert all(item.amount == Decimal("12.50") for _, item in parsed)


def test_parse_batch_refuses_bad_envelopes() -> None:
    for body in (b"not json", b"[]", b'{"items": []}', b'{"items": {}}'):
        with pytest.raises(InvalidTransaction):
            parse_batch(body, max_items=10)
    many = json.dumps({"items": [_item(f"e{n}", "1") for n in range(11)]}).encode()
    with pytest.raises(InvalidTransaction):
        parse_batch(many, max_items=10)
