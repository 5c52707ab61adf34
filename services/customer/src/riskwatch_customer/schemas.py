"""Request and response bodies of the customer service's API."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from ipaddress import IPv4Address, IPv6Address
from typing import Annotated, Any, Generic, Literal, TypeVar
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from riskwatch_customer.domain.reference_data import is_country, is_currency
from riskwatch_customer.domain.validation import parse_amount
from riskwatch_shared.contact import EmailAddress, PhoneNumber
from riskwatch_shared.db.totals import PageTotal

# The wire vocabulary is the events' own; re-exported for the API modules.
from riskwatch_shared.events.common import CustomerKind as CustomerKind
from riskwatch_shared.events.common import CustomerStatus as CustomerStatus
from riskwatch_shared.events.common import Direction as Direction
from riskwatch_shared.events.common import RiskLevel
from riskwatch_shared.events.common import TransactionChannel as TransactionChannel
from riskwatch_shared.text import (
    NonNegativeInt32,
    PatchBody,
    SafeMultilineText,
    SafeText,
    bounded_decimal,
)

KycStatus = Literal["pending", "verified", "rejected", "expired"]
AccountStatus = Literal["active", "dormant", "frozen", "closed"]
InteractionChannel = Literal[
    "call", "email", "sms", "branch_visit", "app", "complaint", "meeting", "other"
]
TransactionStatus = Literal["completed", "pending", "failed", "reversed"]

CountryCode = Annotated[SafeText, Field(pattern=r"^[A-Z]{2}$", examples=["GB"])]
CurrencyCode = Annotated[SafeText, Field(pattern=r"^[A-Z]{3}$", examples=["EUR"])]
ExactAmount = Annotated[
    Decimal,
    BeforeValidator(parse_amount),
    Field(description="A JSON number or decimal string, converted exactly"),
]
# Money columns are NUMERIC(20, 4).
NonNegativeMoney = Annotated[
    Decimal, BeforeValidator(parse_amount), Field(ge=0), bounded_decimal(20, 4)
]
ShortText = Annotated[SafeText, Field(min_length=1, max_length=300)]

ItemT = TypeVar("ItemT")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _known_country(value: str | None) -> str | None:
    if value is not None and not is_country(value):
        raise ValueError(f"{value!r} is not an ISO 3166 alpha-2 country")
    return value


def _known_currency(value: str) -> str:
    if not is_currency(value):
        raise ValueError(f"{value!r} is not an active ISO 4217 currency")
    return value


class Page(PageTotal, Generic[ItemT]):
    items: list[ItemT]
    next_cursor: str | None = None


# --- customers ---------------------------------------------------------------------------

# One customer as a bank sends it: the create body's example, and the read's with what the
# service adds.
CUSTOMER_EXAMPLE: dict[str, Any] = {
    "kind": "individual",
    "name": "Ana Pereira",
    "document_type": "passport",
    "document_number": "P4821937",
    "phone": "+351 912 345 678",
    "email": "ana.pereira@example.pt",
    "address": "Rua Augusta 120, 1100-053 Lisboa",
    "country": "PT",
    "segment": "retail",
    "kyc_status": "verified",
    "relationship_manager": "rm-lisbon-1",
    "tags": ["payroll"],
}


class CustomerCreate(Strict):
    model_config = ConfigDict(json_schema_extra={"examples": [CUSTOMER_EXAMPLE]})
    kind: CustomerKind
    name: ShortText
    document_type: Annotated[SafeText, Field(min_length=1, max_length=40, examples=["passport"])]
    document_number: Annotated[SafeText, Field(min_length=1, max_length=80)]
    phone: PhoneNumber | None = None
    email: EmailAddress | None = None
    address: Annotated[SafeMultilineText, Field(max_length=1000)] | None = None
    country: CountryCode | None = None
    segment: Annotated[SafeText, Field(max_length=60)] | None = None
    kyc_status: KycStatus = "pending"
    relationship_manager: Annotated[SafeText, Field(max_length=120)] | None = None
    tags: list[Annotated[SafeText, Field(min_length=1, max_length=60)]] = []
    status: CustomerStatus = "active"

    _country = field_validator("country")(_known_country)


class CustomerUpdate(Strict, PatchBody):
    """Only the fields sent are changed; `null` clears an optional field (phone, email...)."""

    NULLABLE = frozenset(
        {"phone", "email", "address", "country", "segment", "relationship_manager"}
    )

    kind: CustomerKind | None = None
    name: ShortText | None = None
    document_type: Annotated[SafeText, Field(min_length=1, max_length=40)] | None = None
    document_number: Annotated[SafeText, Field(min_length=1, max_length=80)] | None = None
    phone: PhoneNumber | None = None
    email: EmailAddress | None = None
    address: Annotated[SafeMultilineText, Field(max_length=1000)] | None = None
    country: CountryCode | None = None
    segment: Annotated[SafeText, Field(max_length=60)] | None = None
    kyc_status: KycStatus | None = None
    relationship_manager: Annotated[SafeText, Field(max_length=120)] | None = None
    tags: list[Annotated[SafeText, Field(min_length=1, max_length=60)]] | None = None
    status: CustomerStatus | None = None

    _country = field_validator("country")(_known_country)


class RiskLevelsOut(BaseModel):
    credit: RiskLevel | None = None
    anomaly: RiskLevel | None = None
    churn: RiskLevel | None = None
    overall: RiskLevel | None = None
    updated_at: datetime | None = None


class CustomerOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0f8fad5b-d9cb-469f-a165-70867728950e",
                    **CUSTOMER_EXAMPLE,
                    "phone": "+351912345678",  # stored and returned in E.164
                    "status": "active",
                    "created_at": "2026-03-02T09:12:44Z",
                    "updated_at": "2026-03-02T09:12:44Z",
                    "personal_data_masked": False,
                    "risk_levels": {
                        "credit": "low",
                        "anomaly": "medium",
                        "churn": "low",
                        "overall": "medium",
                    },
                }
            ]
        }
    )
    id: UUID
    kind: CustomerKind
    name: str
    document_type: str
    document_number: str
    phone: str | None
    email: str | None
    address: str | None
    country: str | None
    segment: str | None
    kyc_status: str
    relationship_manager: str | None
    tags: list[str]
    status: CustomerStatus
    created_at: datetime
    updated_at: datetime
    personal_data_masked: bool
    risk_levels: RiskLevelsOut | None = None
    active_measures: list[RiskMeasureOut] | None = Field(
        default=None, description="Risk-control measures in force (single-customer reads)"
    )


# --- credit, financial profile, accounts, interactions -----------------------------------


class CreditRecordCreate(Strict):
    source: Literal["bureau", "internal"]
    credit_score: Annotated[int, Field(ge=0, le=1000)] | None = None
    delinquencies_30: NonNegativeInt32 = 0
    delinquencies_60: NonNegativeInt32 = 0
    delinquencies_90: NonNegativeInt32 = 0
    missed_payments: NonNegativeInt32 = 0
    outstanding_debt: NonNegativeMoney = Decimal(0)
    credit_limit: NonNegativeMoney = Decimal(0)
    utilisation: Annotated[Decimal, Field(ge=0, le=100)] | None = Field(
        default=None, description="Derived from debt / limit when not given"
    )
    defaults: NonNegativeInt32 = 0
    recent_inquiries: NonNegativeInt32 = 0
    currency: CurrencyCode = "USD"
    as_of: date
    days_past_due: Annotated[int, Field(ge=0, le=36_500)] | None = Field(
        default=None,
        description="Days the oldest unpaid instalment is overdue on `as_of` (0: up to date)",
    )
    monthly_instalment: NonNegativeMoney | None = Field(
        default=None, description="Instalments due per month on the credit the record covers"
    )

    _currency = field_validator("currency")(_known_currency)


class CreditRecordOut(BaseModel):
    id: UUID
    customer_id: UUID
    source: str
    credit_score: int | None
    delinquencies_30: int
    delinquencies_60: int
    delinquencies_90: int
    missed_payments: int
    outstanding_debt: Decimal
    credit_limit: Decimal
    utilisation: Decimal | None
    defaults: int
    recent_inquiries: int
    currency: str
    as_of: date
    created_at: datetime
    days_past_due: int | None = None
    monthly_instalment: Decimal | None = None


class FinancialProfileCreate(Strict):
    annual_income: NonNegativeMoney
    currency: CurrencyCode
    assets: dict[Annotated[SafeText, Field(max_length=60)], NonNegativeMoney] = {}
    liabilities: dict[Annotated[SafeText, Field(max_length=60)], NonNegativeMoney] = {}
    as_of: date

    _currency = field_validator("currency")(_known_currency)


class FinancialProfileOut(BaseModel):
    id: UUID
    customer_id: UUID
    annual_income: Decimal
    currency: str
    assets: dict[str, Decimal]
    liabilities: dict[str, Decimal]
    total_assets: Decimal
    total_liabilities: Decimal
    net_worth: Decimal
    debt_to_income: Decimal | None
    as_of: date
    created_at: datetime


class FinancialPoint(BaseModel):
    """One financial profile as a point of the customer's history (for charts)."""

    as_of: date
    currency: str
    annual_income: Decimal
    total_assets: Decimal
    total_liabilities: Decimal
    net_worth: Decimal
    debt_to_income: Decimal | None
    profile_id: UUID
    recorded_at: datetime


class FinancialHistory(BaseModel):
    customer_id: UUID
    points: list[FinancialPoint] = Field(
        description="Oldest first by as-of date: the latest `limit` profiles in the range"
    )
    currencies: list[str] = Field(description="The currencies the points are in, as recorded")


class AccountCreate(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "number": "PT50000201231234567890154",
                    "type": "current",
                    "currency": "EUR",
                    "status": "active",
                    "opened_at": "2019-05-14",
                }
            ]
        }
    )
    number: Annotated[SafeText, Field(min_length=1, max_length=64)]
    type: Annotated[SafeText, Field(min_length=1, max_length=40, examples=["current"])]
    currency: CurrencyCode
    status: AccountStatus = "active"
    opened_at: date
    closed_at: date | None = None

    _currency = field_validator("currency")(_known_currency)


class AccountUpdate(Strict, PatchBody):
    NULLABLE = frozenset({"closed_at"})

    type: Annotated[SafeText, Field(min_length=1, max_length=40)] | None = None
    status: AccountStatus | None = None
    closed_at: date | None = None


class AccountOut(BaseModel):
    id: UUID
    customer_id: UUID
    number: str
    type: str
    currency: str
    status: AccountStatus
    opened_at: date
    closed_at: date | None
    created_at: datetime
    updated_at: datetime


class InteractionCreate(Strict):
    channel: InteractionChannel
    direction: Direction
    summary: Annotated[SafeMultilineText, Field(min_length=1, max_length=5000)]
    outcome: Annotated[SafeMultilineText, Field(max_length=2000)] | None = None
    staff_member: Annotated[SafeText, Field(max_length=120)] | None = Field(
        default=None, description="Defaults to the caller's staff id"
    )
    occurred_at: AwareDatetime | None = Field(default=None, description="Defaults to now")


class InteractionUpdate(Strict, PatchBody):
    NULLABLE = frozenset({"outcome"})

    summary: Annotated[SafeMultilineText, Field(min_length=1, max_length=5000)] | None = None
    outcome: Annotated[SafeMultilineText, Field(max_length=2000)] | None = None


class InteractionOut(BaseModel):
    id: UUID
    customer_id: UUID
    channel: InteractionChannel
    direction: Direction
    summary: str
    outcome: str | None
    staff_member: str | None
    staff_name: str | None = None
    alert_id: UUID | None = None
    occurred_at: datetime
    created_at: datetime


RiskMeasureKind = Literal["reduce_limit", "freeze_account", "require_payment_review", "add_to_list"]


class RiskMeasureOut(BaseModel):
    """A risk-control measure on the customer; `status` says whether it is still in force."""

    id: UUID
    customer_id: UUID
    kind: RiskMeasureKind
    status: Literal["active", "lifted"]
    account_id: UUID | None
    limit_amount: Decimal | None
    limit_currency: str | None
    list_id: UUID | None
    list_name: str | None
    list_value: str | None
    reason: str | None
    alert_id: UUID | None
    taken_by: str | None
    taken_by_name: str | None
    taken_at: datetime
    lifted_by: str | None
    lifted_at: datetime | None
    lift_reason: str | None


class MeasureLift(Strict):
    reason: Annotated[SafeMultilineText, Field(max_length=2000)] | None = None


class AuditEntryOut(BaseModel):
    id: int
    customer_id: UUID
    entity_type: str
    entity_id: UUID
    action: str
    actor: str
    changes: dict[str, Any]
    at: datetime


# --- transactions -------------------------------------------------------------------------


class TransactionIn(Strict):
    """A transaction as a bank core system sends it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "external_id": "core-2026-03-02-000184",
                    "customer_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
                    "direction": "outbound",
                    "amount": "1250.00",
                    "currency": "EUR",
                    "channel": "transfer",
                    "counterparty_name": "Nordlicht Logistik GmbH",
                    "counterparty_account": "DE89370400440532013000",
                    "counterparty_country": "DE",
                    "country": "PT",
                    "occurred_at": "2026-03-02T09:14:05Z",
                }
            ]
        }
    )

    external_id: Annotated[SafeText, Field(min_length=1, max_length=128)]
    customer_id: UUID
    account_id: UUID | None = None
    direction: Direction
    amount: ExactAmount
    currency: CurrencyCode
    channel: TransactionChannel
    counterparty_name: Annotated[SafeText, Field(max_length=300)] | None = None
    counterparty_account: Annotated[SafeText, Field(max_length=64)] | None = None
    counterparty_bank: Annotated[SafeText, Field(max_length=120)] | None = None
    counterparty_country: CountryCode | None = None
    merchant_category_code: Annotated[SafeText, Field(pattern=r"^[0-9]{4}$")] | None = None
    device_id: Annotated[SafeText, Field(max_length=128)] | None = None
    ip_address: IPv4Address | IPv6Address | None = None
    country: CountryCode | None = None
    status: TransactionStatus = "completed"
    occurred_at: AwareDatetime


class TransactionBatchIn(BaseModel):
    """Each item is answered on its own (accepted, duplicate, rejected with reasons), so one
    bad item never rejects the others. Documents the body; the route parses it itself."""

    items: Annotated[
        list[dict[str, Any]],
        Field(min_length=1, description="Transactions shaped like `TransactionIn`"),
    ]


class ErrorItem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class BatchItemResult(BaseModel):
    index: int
    external_id: str | None
    status: Literal["accepted", "duplicate", "rejected"]
    transaction_id: UUID | None = None
    errors: list[ErrorItem] = []


class TransactionBatchOut(BaseModel):
    accepted: int
    duplicates: int
    rejected: int
    items: list[BatchItemResult]


class TransactionOut(BaseModel):
    """A transaction exactly as the customer service stored it (the API's view of the
    `TransactionData` its events carry; personal fields masked for roles that may not see them)."""

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
    occurred_at: datetime
    received_at: datetime


# --- import and 360 -----------------------------------------------------------------------


class ImportRowResult(BaseModel):
    row: int = Field(description="Line number in the CSV (the header is line 1)")
    status: Literal["created", "updated", "unchanged", "rejected"]
    customer_id: UUID | None = None
    errors: list[ErrorItem] = []


class ImportReport(BaseModel):
    created: int
    updated: int
    unchanged: int
    rejected: int
    rows: list[ImportRowResult]


class Customer360(BaseModel):
    """Everything a customer page needs, in one call."""

    customer: CustomerOut
    risk_levels: RiskLevelsOut
    credit_record: CreditRecordOut | None
    financial_profile: FinancialProfileOut | None
    accounts: list[AccountOut]
    recent_transactions: list[TransactionOut]
    recent_interactions: list[InteractionOut]
    active_measures: list[RiskMeasureOut] = []
