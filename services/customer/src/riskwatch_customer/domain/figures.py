"""Derived financial figures of a financial profile. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

_RATIO_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class FinancialFigures:
    total_assets: Decimal
    total_liabilities: Decimal
    net_worth: Decimal
    debt_to_income: Decimal | None


def derive_figures(
    *,
    annual_income: Decimal,
    assets: Mapping[str, Decimal],
    liabilities: Mapping[str, Decimal],
) -> FinancialFigures:
    """Net worth = assets - liabilities; debt-to-income = liabilities / annual income."""
    total_assets = sum(assets.values(), Decimal(0))
    total_liabilities = sum(liabilities.values(), Decimal(0))
    debt_to_income = (
        (total_liabilities / annual_income).quantize(_RATIO_PLACES) if annual_income > 0 else None
    )
    return FinancialFigures(
        total_assets=total_assets,
        total_liabilities=total_liabilities,
        net_worth=total_assets - total_liabilities,
        debt_to_income=debt_to_income,
    )


def utilisation(outstanding_debt: Decimal, credit_limit: Decimal) -> Decimal | None:
    """Share of the credit limit in use, or None without a limit."""
    if credit_limit <= 0:
        return None
    return (outstanding_debt / credit_limit).quantize(_RATIO_PLACES)
