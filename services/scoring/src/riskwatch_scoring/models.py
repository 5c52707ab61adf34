"""ORM models of the scoring service's own database."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from riskwatch_shared.db.base import new_metadata
from riskwatch_shared.db.governance import AuditColumns, ProposalColumns
from riskwatch_shared.ownership import owners_table


class Base(DeclarativeBase):
    metadata = new_metadata()


# Who each customer's relationship manager is (customer events): RMs see only their own.
CUSTOMER_OWNERS = owners_table(Base.metadata)

# The largest toast_tuple_target PostgreSQL accepts with 8 KB pages.
CUSTOMER_STATE_TOAST_TUPLE_TARGET = 8160


class CustomerStateRow(Base):
    """A customer's behavioural state and current risk, as one versioned blob (orjson)."""

    __tablename__ = "customer_state"
    # Rewritten on every transaction: blobs up to ~8 KB stay inline and uncompressed rather
    # than be pglz-compressed and moved to the TOAST table on each write past 2 KB.
    __table_args__ = (
        {"postgresql_with": {"toast_tuple_target": CUSTOMER_STATE_TOAST_TUPLE_TARGET}},
    )

    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    state: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    # The event time the state is current to (see `ScoredCustomer.as_of_epoch`); its maximum
    # is the stream's time, the idle re-assessment's clock.
    # Not indexed: it changes with nearly every write, which must stay a HOT update.
    as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ScoringModel(Base):
    """One version of a model; per kind at most one champion and one challenger."""

    __tablename__ = "scoring_model"
    __table_args__ = (
        Index("uq_scoring_model_kind_version", "kind", "version", unique=True),
        Index(
            "uq_scoring_model_one_champion",
            "kind",
            unique=True,
            postgresql_where=text("status = 'champion'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    model_version: Mapped[str] = mapped_column(String(80), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    model_json: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    training_fingerprint: Mapped[str | None] = mapped_column(String(64))
    features: Mapped[list[str]] = mapped_column(JSONB, nullable=False)
    # Quantiles of the score distribution the model was trained (or first ran) on: PSI baseline.
    baseline_scores: Mapped[list[float] | None] = mapped_column(JSONB)
    drift_alerted_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AssessmentRow(Base):
    """Every score ever given, reproducible from its model version and inputs hash."""

    __tablename__ = "assessment"
    __table_args__ = (
        Index("ix_assessment_customer_assessed", "customer_id", "assessed_at"),
        Index("ix_assessment_model_assessed", "model_id", "assessed_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    score: Mapped[float] = mapped_column(Float, nullable=False)
    level: Mapped[str] = mapped_column(String(16), nullable=False)
    model_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    model_version: Mapped[str] = mapped_column(String(80), nullable=False)
    inputs_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    is_shadow: Mapped[bool] = mapped_column(Boolean, nullable=False)
    transaction_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    trigger_event_type: Mapped[str] = mapped_column(String(80), nullable=False)
    trigger_event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    sequence: Mapped[int | None] = mapped_column(Integer)
    # Customer features the score was computed from (credit/churn only): training rows.
    features: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    assessed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class OutcomeLabel(Base):
    """An observed outcome (defaulted, churned) for training on the institution's history."""

    __tablename__ = "outcome_label"
    __table_args__ = (Index("ix_outcome_label_kind_observed", "kind", "observed_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    outcome: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    observed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_by: Mapped[str] = mapped_column(String(120), nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )


class ModelProposal(ProposalColumns, Base):
    """A proposed change of which model serves (maker-checker): `activate` (champion) or
    `shadow` (challenger) of the model `subject` (its id)."""

    __tablename__ = "model_proposals"


class ModelAuditEntry(AuditColumns, Base):
    """One step in a model's governance history (`subject`: the model's id)."""

    __tablename__ = "model_audit"


class CustomerRiskCurrent(Base):
    """Each customer's current (non-shadow) level and score per model kind: a rollup kept by
    a statement-level trigger on `assessment` (migration scoring_0009), one upsert per insert
    or COPY batch, so the dashboards count levels without scanning every assessment."""

    __tablename__ = "customer_risk_current"
    __table_args__ = (
        Index("ix_customer_risk_current_kind_assessed", "kind", "assessed_at"),
        Index("ix_customer_risk_current_kind_week", "kind", "week_of"),
    )

    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    level: Mapped[str] = mapped_column(String(16), nullable=False)
    score: Mapped[float] = mapped_column(Float, nullable=False)
    assessed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # The UTC week (its Monday) of `assessed_at`, and the last score before that week began:
    # this week's risers (migration scoring_0010).
    week_of: Mapped[date | None] = mapped_column(Date)
    week_score: Mapped[float | None] = mapped_column(Float)
    week_level: Mapped[str | None] = mapped_column(String(16))
    week_score_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CustomerDirectoryRow(Base):
    """Who a customer is, for the dashboards (name, segment), from the customer events."""

    __tablename__ = "customer_directory"

    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(300))
    segment: Mapped[str | None] = mapped_column(String(80))
    # The event time of the snapshot stored: an older one never overwrites it.
    as_of: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
