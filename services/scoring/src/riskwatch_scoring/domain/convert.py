"""Event payloads into domain inputs, and domain results into stored rows. Pure (the scoring
events themselves are built in `riskwatch_scoring.events`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from riskwatch_scoring.domain.advice import advice_of, reason_params
from riskwatch_scoring.domain.assessment import Assessment
from riskwatch_scoring.domain.inputs import CreditRecord, FinancialProfile, Interaction, Transaction
from riskwatch_shared.events.common import (
    CreditRecordData,
    FinancialProfileData,
    InteractionData,
    TransactionData,
)

UNKNOWN = "unknown"
UNKNOWN_COUNTRY = "XX"


def to_transaction(data: TransactionData) -> Transaction:
    country = data.country or UNKNOWN_COUNTRY
    return Transaction(
        transaction_id=data.transaction_id,
        customer_id=data.customer_id,
        account_id=str(data.account_id) if data.account_id else UNKNOWN,
        direction=data.direction,
        amount=data.amount,
        currency=data.currency,
        channel=data.channel,
        counterparty_account=data.counterparty_account or data.counterparty_name or UNKNOWN,
        counterparty_country=data.counterparty_country or country,
        country=country,
        occurred_at=data.occurred_at,
        device_id=data.device_id,
        mcc=data.merchant_category_code,
        status=data.status,
    )


def to_credit_record(data: CreditRecordData) -> CreditRecord:
    return CreditRecord(
        source=data.source,
        as_of=data.as_of,
        outstanding_debt=data.outstanding_debt,
        credit_limit=data.credit_limit,
        credit_score=data.credit_score,
        delinquencies_30=data.delinquencies_30,
        delinquencies_60=data.delinquencies_60,
        delinquencies_90=data.delinquencies_90,
        missed_payments=data.missed_payments,
        defaults=data.defaults,
        recent_inquiries=data.recent_inquiries,
        utilisation=data.utilisation,
        days_past_due=data.days_past_due,
        monthly_instalment=data.monthly_instalment,
    )


def to_financial_profile(data: FinancialProfileData) -> FinancialProfile:
    return FinancialProfile(
        annual_income=data.annual_income,
        as_of=data.as_of,
        assets=dict(data.assets),
        liabilities=dict(data.liabilities),
    )


def to_interaction(data: InteractionData) -> Interaction:
    return Interaction(
        channel=data.channel,
        direction=data.direction,
        outcome=data.outcome or "",
        occurred_at=data.occurred_at,
    )


def convert_amount(
    amount: Decimal, currency: str, base_currency: str, rates_per_usd: dict[str, Decimal]
) -> Decimal | None:
    """`amount` in `base_currency` through USD rates; None when a rate is unknown."""
    if currency == base_currency:
        return amount
    source, target = rates_per_usd.get(currency), rates_per_usd.get(base_currency)
    if not source or not target:
        return None
    return amount / source * target


def reason_rows(assessment: Assessment, limit: int | None = None) -> list[dict[str, Any]]:
    """The reasons (all, or the `limit` strongest) as stored with an assessment: each once,
    with its code, parameters, contribution and advice."""
    return [
        {**reason.to_state(), "params": reason_params(reason), "advice": advice_of(reason)}
        for reason in assessment.reasons[:limit]
    ]
