"""Payload types several events share."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from riskwatch_shared.events.base import AwareDatetime, Payload
from riskwatch_shared.risk import RiskLevelName

# Risk levels and severities are the one scale of `riskwatch_shared.risk`.
RiskLevel = RiskLevelName
Severity = RiskLevelName
ModelKind = Literal["credit", "anomaly", "churn"]
RuleType = Literal["transaction_anomaly", "credit_risk", "churn", "custom"]
CustomerKind = Literal["individual", "corporate"]
CustomerStatus = Literal["active", "dormant", "closed"]
Direction = Literal["inbound", "outbound"]
TransactionChannel = Literal["card", "transfer", "atm", "online", "mobile"]


class TransactionData(Payload, frozen=True, kw_only=True):
    """A validated transaction exactly as the customer service stored it."""

    transaction_id: UUID
    external_id: str
    customer_id: UUID
    account_id: UUID | None = None
    direction: Direction
    amount: Decimal
    currency: str
    channel: TransactionChannel
    counterparty_name: str | None = None
    counterparty_account: str | None = None
    counterparty_bank: str | None = None
    counterparty_country: str | None = None
    merchant_category_code: str | None = None
    device_id: str | None = None
    ip_address: str | None = None
    country: str | None = None
    status: str = "completed"
    occurred_at: AwareDatetime
    received_at: AwareDatetime


class CreditRecordData(Payload, frozen=True, kw_only=True):
    credit_record_id: UUID
    source: Literal["bureau", "internal"]
    credit_score: int | None = None
    delinquencies_30: int = 0
    delinquencies_60: int = 0
    delinquencies_90: int = 0
    missed_payments: int = 0
    outstanding_debt: Decimal = Decimal("0")
    credit_limit: Decimal = Decimal("0")
    utilisation: Decimal | None = None
    defaults: int = 0
    recent_inquiries: int = 0
    currency: str = "USD"
    as_of: date
    # Added in place (v1, optional): the early-warning catalogue's arrears and debt service.
    days_past_due: int | None = None
    monthly_instalment: Decimal | None = None


class FinancialProfileData(Payload, frozen=True, kw_only=True):
    financial_profile_id: UUID
    annual_income: Decimal
    currency: str
    assets: dict[str, Decimal] = {}
    liabilities: dict[str, Decimal] = {}
    as_of: date


class InteractionData(Payload, frozen=True, kw_only=True):
    interaction_id: UUID
    channel: Literal["call", "email", "sms", "branch_visit", "app", "complaint", "meeting", "other"]
    direction: Direction
    summary: str
    outcome: str | None = None
    staff_member: str | None = None
    staff_name: str | None = None
    alert_id: UUID | None = None
    occurred_at: AwareDatetime


class AccountData(Payload, frozen=True, kw_only=True):
    account_id: UUID
    number: str
    type: str
    currency: str
    status: Literal["active", "dormant", "frozen", "closed"]
    opened_at: date
    closed_at: date | None = None


class CustomerSnapshot(Payload, frozen=True, kw_only=True):
    kind: CustomerKind
    name: str
    segment: str | None = None
    country: str | None = None
    status: CustomerStatus
    kyc_status: str | None = None
    relationship_manager: str | None = None
    email: str | None = None
    tags: list[str] = []


class Reason(Payload, frozen=True, kw_only=True):
    """One reason behind a score: a stable `code`, the sentence, its contribution, the value
    it read (`params`, by name), and what to do about it (`advice`), each once."""

    code: str
    message: str
    contribution: float = 0.0
    value: str | None = None
    params: dict[str, Any] = {}
    advice: str | None = None


RiskMeasureKind = Literal["reduce_limit", "freeze_account", "require_payment_review", "add_to_list"]
RiskMeasureStatus = Literal["active", "lifted"]


class RiskMeasureData(Payload, frozen=True, kw_only=True):
    """A risk-control measure taken on a customer, as the alert it came from set it.

    Which fields are filled depends on `kind`: `reduce_limit` the new limit (`limit_amount`,
    `limit_currency`), `freeze_account` the `account_id`, `add_to_list` the managed list
    (`list_id`, `list_name`) and `list_value`; `require_payment_review` none.
    """

    measure_id: UUID
    kind: RiskMeasureKind
    status: RiskMeasureStatus = "active"
    account_id: UUID | None = None
    limit_amount: Decimal | None = None
    limit_currency: str | None = None
    list_id: UUID | None = None
    list_name: str | None = None
    list_value: str | None = None
    reason: str | None = None
    alert_id: UUID | None = None
    taken_by: str | None = None
    taken_by_name: str | None = None
    taken_at: AwareDatetime
    lifted_by: str | None = None
    lifted_at: AwareDatetime | None = None
    lift_reason: str | None = None
