"""Events the customer service produces (stream CUSTOMER, subjects `customer.>`)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal
from uuid import UUID

from riskwatch_shared.events.base import Event, register
from riskwatch_shared.events.common import (
    AccountData,
    CreditRecordData,
    CustomerSnapshot,
    FinancialProfileData,
    InteractionData,
    RiskMeasureData,
    TransactionData,
)


class CustomerEvent(Event, frozen=True, kw_only=True):
    stream: ClassVar[str] = "CUSTOMER"
    source: str = "customer"
    customer_id: UUID


@register
class CustomerCreated(CustomerEvent, frozen=True, kw_only=True):
    type: Literal["customer.created.v1"] = "customer.created.v1"
    customer: CustomerSnapshot


@register
class CustomerUpdated(CustomerEvent, frozen=True, kw_only=True):
    type: Literal["customer.updated.v1"] = "customer.updated.v1"
    customer: CustomerSnapshot
    changed_fields: list[str] = []
    changes: dict[str, Any] = {}


@register
class CreditRecordAdded(CustomerEvent, frozen=True, kw_only=True):
    type: Literal["customer.credit_record_added.v1"] = "customer.credit_record_added.v1"
    credit_record: CreditRecordData


@register
class FinancialProfileUpdated(CustomerEvent, frozen=True, kw_only=True):
    type: Literal["customer.financial_profile_updated.v1"] = "customer.financial_profile_updated.v1"
    financial_profile: FinancialProfileData


@register
class InteractionLogged(CustomerEvent, frozen=True, kw_only=True):
    type: Literal["customer.interaction_logged.v1"] = "customer.interaction_logged.v1"
    interaction: InteractionData


@register
class AccountChanged(CustomerEvent, frozen=True, kw_only=True):
    type: Literal["customer.account_changed.v1"] = "customer.account_changed.v1"
    account: AccountData


@register
class TransactionReceived(CustomerEvent, frozen=True, kw_only=True):
    type: Literal["customer.transaction_received.v1"] = "customer.transaction_received.v1"
    transaction: TransactionData


@register
class RiskMeasureRecorded(CustomerEvent, frozen=True, kw_only=True):
    """A risk-control measure recorded on the customer, or lifted (`measure.status`): the
    customer's record is the authority on which measures are in force."""

    type: Literal["customer.risk_measure_recorded.v1"] = "customer.risk_measure_recorded.v1"
    measure: RiskMeasureData
