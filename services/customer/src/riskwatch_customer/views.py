"""Rows as API bodies and event payloads (masking personal data where the caller may not see it)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

import msgspec

from riskwatch_customer.domain.figures import derive_figures
from riskwatch_customer.domain.masking import (
    PERSONAL_FIELDS,
    mask_account,
    mask_field,
    mask_transaction,
)
from riskwatch_customer.domain.reference_data import in_minor_units
from riskwatch_customer.models import (
    Account,
    CreditRecord,
    Customer,
    CustomerRiskLevels,
    FinancialProfile,
    Interaction,
    RiskMeasure,
    Transaction,
)
from riskwatch_customer.schemas import (
    AccountOut,
    CreditRecordOut,
    CustomerOut,
    FinancialPoint,
    FinancialProfileOut,
    InteractionOut,
    RiskLevelsOut,
    RiskMeasureOut,
    TransactionOut,
)
from riskwatch_shared.events.common import (
    AccountData,
    CreditRecordData,
    CustomerKind,
    CustomerSnapshot,
    CustomerStatus,
    FinancialProfileData,
    InteractionData,
    TransactionData,
)
from riskwatch_shared.masking import mask_tail
from riskwatch_shared.security import Identity

CUSTOMER_FIELDS = (
    "kind",
    "name",
    "document_type",
    "document_number",
    "phone",
    "email",
    "address",
    "country",
    "segment",
    "kyc_status",
    "relationship_manager",
    "tags",
    "status",
)


def customer_fields(customer: Customer) -> dict[str, Any]:
    return {field: getattr(customer, field) for field in CUSTOMER_FIELDS}


def risk_levels_out(levels: CustomerRiskLevels | None) -> RiskLevelsOut:
    if levels is None:
        return RiskLevelsOut()
    return RiskLevelsOut(
        credit=levels.credit_level,
        anomaly=levels.anomaly_level,
        churn=levels.churn_level,
        overall=levels.overall_level,
        updated_at=levels.updated_at,
    )


def customer_out(
    customer: Customer, *, identity: Identity, levels: CustomerRiskLevels | None = None
) -> CustomerOut:
    """The customer as this caller may see it: personal fields masked unless they may unmask."""
    fields = customer_fields(customer)
    masked = not identity.may_unmask
    if masked:
        fields = {
            name: mask_field(name, value) if name in PERSONAL_FIELDS else value
            for name, value in fields.items()
        }
    return CustomerOut(
        id=customer.id,
        created_at=customer.created_at,
        updated_at=customer.updated_at,
        personal_data_masked=masked,
        risk_levels=risk_levels_out(levels),
        **fields,
    )


def customer_snapshot(customer: Customer) -> CustomerSnapshot:
    # The ORM's columns are plain text; the values are the event's (every decode checks them).
    return CustomerSnapshot(
        kind=cast(CustomerKind, customer.kind),
        name=customer.name,
        segment=customer.segment,
        country=customer.country,
        status=cast(CustomerStatus, customer.status),
        kyc_status=customer.kyc_status,
        relationship_manager=customer.relationship_manager,
        email=customer.email,
        tags=list(customer.tags),
    )


def credit_record_out(record: CreditRecord) -> CreditRecordOut:
    return CreditRecordOut.model_validate(record, from_attributes=True)


def credit_record_data(record: CreditRecord) -> CreditRecordData:
    return msgspec.convert(
        {**credit_record_out(record).model_dump(), "credit_record_id": record.id},
        CreditRecordData,
    )


def _amounts(stored: dict[str, str]) -> dict[str, Decimal]:
    return {kind: Decimal(amount) for kind, amount in stored.items()}


def financial_profile_out(profile: FinancialProfile) -> FinancialProfileOut:
    assets, liabilities = _amounts(profile.assets), _amounts(profile.liabilities)
    figures = derive_figures(
        annual_income=profile.annual_income, assets=assets, liabilities=liabilities
    )
    return FinancialProfileOut(
        id=profile.id,
        customer_id=profile.customer_id,
        annual_income=profile.annual_income,
        currency=profile.currency,
        assets=assets,
        liabilities=liabilities,
        total_assets=figures.total_assets,
        total_liabilities=figures.total_liabilities,
        net_worth=figures.net_worth,
        debt_to_income=figures.debt_to_income,
        as_of=profile.as_of,
        created_at=profile.created_at,
    )


def financial_point(profile: FinancialProfile) -> FinancialPoint:
    figures = derive_figures(
        annual_income=profile.annual_income,
        assets=_amounts(profile.assets),
        liabilities=_amounts(profile.liabilities),
    )
    return FinancialPoint(
        as_of=profile.as_of,
        currency=profile.currency,
        annual_income=profile.annual_income,
        total_assets=figures.total_assets,
        total_liabilities=figures.total_liabilities,
        net_worth=figures.net_worth,
        debt_to_income=figures.debt_to_income,
        profile_id=profile.id,
        recorded_at=profile.created_at,
    )


def financial_profile_data(profile: FinancialProfile) -> FinancialProfileData:
    return FinancialProfileData(
        financial_profile_id=profile.id,
        annual_income=profile.annual_income,
        currency=profile.currency,
        assets=_amounts(profile.assets),
        liabilities=_amounts(profile.liabilities),
        as_of=profile.as_of,
    )


def account_out(account: Account) -> AccountOut:
    return AccountOut.model_validate(account, from_attributes=True)


def account_view(account: Account, identity: Identity) -> AccountOut:
    """The account as this caller may see it: the number masked unless they may unmask."""
    out = account_out(account)
    if identity.may_unmask:
        return out
    return out.model_copy(update={"number": mask_account(out.number)})


def account_data(account: Account) -> AccountData:
    return msgspec.convert(
        {**account_out(account).model_dump(), "account_id": account.id}, AccountData
    )


def interaction_out(interaction: Interaction) -> InteractionOut:
    return InteractionOut.model_validate(interaction, from_attributes=True)


def interaction_data(interaction: Interaction) -> InteractionData:
    return msgspec.convert(
        {**interaction_out(interaction).model_dump(), "interaction_id": interaction.id},
        InteractionData,
    )


def transaction_fields(transaction: Transaction) -> dict[str, Any]:
    """The stored transaction as the `TransactionData` fields (the amount in minor units)."""
    fields = {name: getattr(transaction, name) for name in _TRANSACTION_FIELDS}
    fields["transaction_id"] = transaction.id
    fields["amount"] = in_minor_units(transaction.amount, transaction.currency)
    return fields


_TRANSACTION_FIELDS = tuple(
    name for name in TransactionData.__struct_fields__ if name != "transaction_id"
)


def transaction_view(transaction: Transaction, identity: Identity) -> TransactionOut:
    """The transaction as this caller may see it: counterparty account and IP masked unless
    they may unmask."""
    fields = transaction_fields(transaction)
    if not identity.may_unmask:
        fields.update(mask_transaction({name: fields[name] for name in _MASKED_FIELDS}))
    return TransactionOut.model_validate(fields)


_MASKED_FIELDS = ("counterparty_account", "ip_address")


def measure_out(measure: RiskMeasure) -> RiskMeasureOut:
    return RiskMeasureOut.model_validate(measure, from_attributes=True)


def measure_view(measure: RiskMeasure, identity: Identity) -> RiskMeasureOut:
    """The measure as this caller may see it: a listed value (an account, a device, an IP) is
    masked unless they may unmask."""
    out = measure_out(measure)
    if identity.may_unmask or out.list_value is None:
        return out
    return out.model_copy(update={"list_value": mask_tail(out.list_value)})
