"""Strict validation of incoming transactions beyond their shape. Pure: no I/O.

Pydantic checks the shape (types, enums, lengths); these rules need configuration (amount
ceiling, clock skew) or reference data (ISO 4217 minor units, ISO 3166 countries).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from riskwatch_customer.domain.reference_data import CURRENCY_MINOR_UNITS, is_country


@dataclass(frozen=True)
class FieldError:
    """One problem with one field, rendered as problem+json `errors[]`."""

    loc: tuple[str | int, ...]
    msg: str
    type: str

    def as_dict(self) -> dict[str, object]:
        return {"loc": list(self.loc), "msg": self.msg, "type": self.type}


@dataclass(frozen=True)
class TransactionRules:
    max_amount: Decimal
    max_future_skew: timedelta


def parse_amount(raw: object) -> Decimal:
    """A JSON number or string as an exact Decimal; floats go through `str` so 0.1 stays 0.1."""
    if isinstance(raw, bool):
        raise ValueError("amount must be a number or a decimal string")
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise ValueError("amount must be finite")
        raw = str(raw)
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, Decimal):
        amount = raw
    elif isinstance(raw, str):
        try:
            amount = Decimal(raw.strip())
        except InvalidOperation as exc:
            raise ValueError("amount is not a decimal number") from exc
    else:
        raise ValueError("amount must be a number or a decimal string")
    if not amount.is_finite():
        raise ValueError("amount must be finite")
    return amount


def decimal_places(amount: Decimal) -> int:
    exponent = amount.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # finite amounts only
    return max(0, -exponent)


def check_amount(amount: Decimal, currency: str, rules: TransactionRules) -> list[FieldError]:
    errors: list[FieldError] = []
    if amount <= 0:
        errors.append(
            FieldError(("amount",), "amount must be greater than zero", "amount.not_positive")
        )
    elif amount > rules.max_amount:
        errors.append(
            FieldError(
                ("amount",), f"amount exceeds the limit of {rules.max_amount}", "amount.absurd"
            )
        )
    minor_units = CURRENCY_MINOR_UNITS.get(currency)
    if minor_units is None:
        errors.append(
            FieldError(
                ("currency",),
                f"{currency!r} is not an active ISO 4217 currency",
                "currency.unknown",
            )
        )
    elif amount.is_finite() and decimal_places(amount) > minor_units:
        errors.append(
            FieldError(
                ("amount",),
                f"{currency} allows {minor_units} decimal places",
                "amount.too_many_decimals",
            )
        )
    return errors


_QUANTUM = {code: Decimal(1).scaleb(-units) for code, units in CURRENCY_MINOR_UNITS.items()}


def amount_in_minor_units(
    amount: Decimal, currency: str, rules: TransactionRules
) -> Decimal | None:
    """The amount with exactly the currency's decimals when it plainly passes `check_amount`
    (positive, within the limit, an active currency, no decimals beyond its minor unit); None
    when `check_amount` must be asked. A few comparisons: the intake's common case."""
    quantum = _QUANTUM.get(currency)
    if quantum is None or not 0 < amount <= rules.max_amount:
        return None
    try:
        minor = amount.quantize(quantum)
    except InvalidOperation:
        return None
    return minor if minor == amount else None


def check_occurred_at(
    occurred_at: datetime, now: datetime, rules: TransactionRules
) -> list[FieldError]:
    if occurred_at.tzinfo is None or occurred_at.utcoffset() is None:
        return [
            FieldError(("occurred_at",), "occurred_at must carry a timezone", "occurred_at.naive")
        ]
    if occurred_at > now + rules.max_future_skew:
        return [
            FieldError(
                ("occurred_at",),
                f"occurred_at is more than {int(rules.max_future_skew.total_seconds())}s"
                " in the future",
                "occurred_at.future",
            )
        ]
    return []


def check_country(field: str, code: str | None) -> list[FieldError]:
    if code is None or is_country(code):
        return []
    return [FieldError((field,), f"{code!r} is not an ISO 3166 alpha-2 country", "country.unknown")]


def check_transaction(
    *,
    amount: Decimal,
    currency: str,
    occurred_at: datetime,
    country: str | None,
    counterparty_country: str | None,
    rules: TransactionRules,
    now: datetime,
) -> list[FieldError]:
    """Every rule a well-shaped transaction must still pass; empty when it is valid."""
    return [
        *check_amount(amount, currency, rules),
        *check_occurred_at(occurred_at, now, rules),
        *check_country("country", country),
        *check_country("counterparty_country", counterparty_country),
    ]
