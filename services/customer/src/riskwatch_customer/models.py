"""ORM models of the customer service's own database."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CHAR,
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from riskwatch_shared.db.base import new_metadata

Money = Numeric(20, 4)


class Base(DeclarativeBase):
    metadata = new_metadata()


def _uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(Uuid, primary_key=True, default=uuid.uuid4)


def _created_at() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("document_type", "document_number", name="uq_customers_document"),
        Index("ix_customers_created_at_id", "created_at", "id"),
        Index("ix_customers_relationship_manager", "relationship_manager"),
        Index("ix_customers_phone", "phone"),
        Index("ix_customers_segment", "segment"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    document_type: Mapped[str] = mapped_column(String(40), nullable=False)
    document_number: Mapped[str] = mapped_column(String(80), nullable=False)
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(320))
    address: Mapped[str | None] = mapped_column(Text)
    country: Mapped[str | None] = mapped_column(CHAR(2))
    segment: Mapped[str | None] = mapped_column(String(60))
    kyc_status: Mapped[str] = mapped_column(String(20), nullable=False)
    relationship_manager: Mapped[str | None] = mapped_column(String(120))
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(60)), nullable=False, default=list)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )


class CreditRecord(Base):
    __tablename__ = "credit_records"
    __table_args__ = (Index("ix_credit_records_customer", "customer_id", "as_of", "created_at"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), nullable=False)
    source: Mapped[str] = mapped_column(String(20), nullable=False)
    credit_score: Mapped[int | None] = mapped_column(Integer)
    delinquencies_30: Mapped[int] = mapped_column(Integer, nullable=False)
    delinquencies_60: Mapped[int] = mapped_column(Integer, nullable=False)
    delinquencies_90: Mapped[int] = mapped_column(Integer, nullable=False)
    missed_payments: Mapped[int] = mapped_column(Integer, nullable=False)
    outstanding_debt: Mapped[Decimal] = mapped_column(Money, nullable=False)
    credit_limit: Mapped[Decimal] = mapped_column(Money, nullable=False)
    utilisation: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))
    defaults: Mapped[int] = mapped_column(Integer, nullable=False)
    recent_inquiries: Mapped[int] = mapped_column(Integer, nullable=False)
    currency: Mapped[str] = mapped_column(CHAR(3), nullable=False)
    as_of: Mapped[date] = mapped_column(Date, nullable=False)
    created_at: Mapped[datetime] = _created_at()
    days_past_due: Mapped[int | None] = mapped_column(Integer)
    monthly_instalment: Mapped[Decimal | None] = mapped_column(Money)


class FinancialProfile(Base):
    __tablename__ = "financial_profiles"
    __table_args__ = (
        Index("ix_financial_profiles_customer", "customer_id", "as_of", "created_at"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), nullable=False)
    annual_income: Mapped[Decimal] = mapped_column(Money, nullable=False)
    currency: Mapped[str] = mapped_column(CHAR(3), nullable=False)
    # Amounts by type, stored as decimal strings so no float ever touches them.
    assets: Mapped[dict[str, str]] = mapped_column(JSONB, nullable=False)
    liabilities: Mapped[dict[str, str]] = mapped_column(JSONB, nullable=False)
    as_of: Mapped[date] = mapped_column(Date, nullable=False)
    created_at: Mapped[datetime] = _created_at()


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (Index("ix_accounts_customer", "customer_id", "created_at"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), nullable=False)
    number: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    type: Mapped[str] = mapped_column(String(40), nullable=False)
    currency: Mapped[str] = mapped_column(CHAR(3), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    opened_at: Mapped[date] = mapped_column(Date, nullable=False)
    closed_at: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )


class Interaction(Base):
    __tablename__ = "interactions"
    __table_args__ = (Index("ix_interactions_customer", "customer_id", "created_at", "id"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), nullable=False)
    channel: Mapped[str] = mapped_column(String(20), nullable=False)
    direction: Mapped[str] = mapped_column(String(10), nullable=False)
    summary: Mapped[str] = mapped_column(Text, nullable=False)
    outcome: Mapped[str | None] = mapped_column(Text)
    staff_member: Mapped[str | None] = mapped_column(String(120))
    # Who, by name, when the interaction came from an alert's follow-up; and that alert.
    staff_name: Mapped[str | None] = mapped_column(String(200))
    alert_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_at: Mapped[datetime] = _created_at()


class RiskMeasure(Base):
    """A risk-control measure on a customer (taken on an alert), in force until lifted.

    Its id is the measure's id from the alert, so a re-delivered event finds it again."""

    __tablename__ = "risk_measures"
    __table_args__ = (Index("ix_risk_measures_customer", "customer_id", "taken_at", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), nullable=False)
    kind: Mapped[str] = mapped_column(String(30), nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False)
    account_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    limit_amount: Mapped[Decimal | None] = mapped_column(Money)
    limit_currency: Mapped[str | None] = mapped_column(CHAR(3))
    list_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    list_name: Mapped[str | None] = mapped_column(String(200))
    list_value: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    alert_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    taken_by: Mapped[str | None] = mapped_column(String(200))
    taken_by_name: Mapped[str | None] = mapped_column(String(200))
    taken_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    lifted_by: Mapped[str | None] = mapped_column(String(200))
    lifted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lift_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created_at()


class Transaction(Base):
    __tablename__ = "transactions"
    __table_args__ = (Index("ix_transactions_customer", "customer_id", "received_at", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), nullable=False, unique=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), nullable=False)
    account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    direction: Mapped[str] = mapped_column(String(10), nullable=False)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    currency: Mapped[str] = mapped_column(CHAR(3), nullable=False)
    channel: Mapped[str] = mapped_column(String(20), nullable=False)
    counterparty_name: Mapped[str | None] = mapped_column(String(300))
    counterparty_account: Mapped[str | None] = mapped_column(String(64))
    counterparty_bank: Mapped[str | None] = mapped_column(String(120))
    counterparty_country: Mapped[str | None] = mapped_column(CHAR(2))
    merchant_category_code: Mapped[str | None] = mapped_column(String(4))
    device_id: Mapped[str | None] = mapped_column(String(128))
    ip_address: Mapped[str | None] = mapped_column(String(45))
    country: Mapped[str | None] = mapped_column(CHAR(2))
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class IdempotencyKey(Base):
    """What an `Idempotency-Key` answered, so a retry gets the same answer."""

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_fingerprint: Mapped[str] = mapped_column(CHAR(64), nullable=False)
    transaction_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    created_at: Mapped[datetime] = _created_at()


class CustomerRiskLevels(Base):
    """The latest levels the scoring service announced; one sequence per model kind."""

    __tablename__ = "customer_risk_levels"
    __table_args__ = (Index("ix_customer_risk_levels_overall", "overall_level"),)

    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    credit_level: Mapped[str | None] = mapped_column(String(10))
    credit_sequence: Mapped[int | None] = mapped_column(BigInteger)
    anomaly_level: Mapped[str | None] = mapped_column(String(10))
    anomaly_sequence: Mapped[int | None] = mapped_column(BigInteger)
    churn_level: Mapped[str | None] = mapped_column(String(10))
    churn_sequence: Mapped[int | None] = mapped_column(BigInteger)
    overall_level: Mapped[str | None] = mapped_column(String(10))
    overall_sequence: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_customer", "customer_id", "at", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    entity_type: Mapped[str] = mapped_column(String(40), nullable=False)
    entity_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    action: Mapped[str] = mapped_column(String(20), nullable=False)
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    # {field: {"before": ..., "after": ...}}, personal data masked.
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
