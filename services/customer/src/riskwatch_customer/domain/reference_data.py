"""Reference code lists: ISO 4217 currencies and ISO 3166 countries, from maintained packages.

The lists come from `iso4217` (the ISO 4217 maintenance agency's table, with minor units) and
`pycountry` (the Debian iso-codes data), so a currency or country introduced by ISO (XCG in
2025, ZWG in 2024) is accepted by upgrading a package rather than by editing a list. Pure data,
no I/O: both packages ship their tables and are read once at import.

Funds, precious metals and the testing codes are left out: no payment is made in them (they
have no minor unit, or are flagged `IsFund` in the ISO table).
"""

from __future__ import annotations

from decimal import Decimal

import iso4217
import pycountry


def _currencies() -> dict[str, int]:
    funds = {
        entry.findtext("Ccy")
        for entry in iso4217.raw_xml.iter("CcyNtry")
        if (name := entry.find("CcyNm")) is not None and name.get("IsFund") == "true"
    }
    return {
        currency.code: currency.exponent
        for currency in iso4217.Currency
        if currency.exponent is not None and currency.code not in funds
    }


# ISO 4217 active currency code -> minor unit (number of decimals a payment may carry).
CURRENCY_MINOR_UNITS: dict[str, int] = _currencies()

# ISO 3166-1 alpha-2 officially assigned codes.
COUNTRY_CODES: frozenset[str] = frozenset(country.alpha_2 for country in pycountry.countries)


def is_currency(code: str) -> bool:
    return code in CURRENCY_MINOR_UNITS


def is_country(code: str) -> bool:
    return code in COUNTRY_CODES


def in_minor_units(amount: Decimal, currency: str) -> Decimal:
    """The amount with exactly the currency's decimals (`99.9900` EUR -> `99.99`).

    Callers pass amounts already validated to carry no more decimals than that, so this
    never rounds; an unknown currency keeps the amount as given.
    """
    minor_units = CURRENCY_MINOR_UNITS.get(currency)
    if minor_units is None:
        return amount
    return amount.quantize(Decimal(1).scaleb(-minor_units))
