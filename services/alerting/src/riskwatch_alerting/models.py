"""ORM models of the alerting service's own database."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Dialect,
    FetchedValue,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Text,
    TypeDecorator,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from riskwatch_alerting.domain.desk import SlaState, sla_state
from riskwatch_alerting.domain.evaluation_input import json_bytes
from riskwatch_shared.db.base import new_metadata
from riskwatch_shared.db.governance import AuditColumns, ProposalColumns


class Base(DeclarativeBase):
    metadata = new_metadata()


class JsonBytes(TypeDecorator[Any]):
    """JSON held as orjson's UTF-8 bytes in a `bytea` column, for what the event path writes
    per event and nobody queries inside: PostgreSQL stores the bytes as they come instead of
    parsing them into jsonb (and printing them back as text on every read)."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> bytes | None:
        return None if value is None else json_bytes(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else json_loads(value)


def json_loads(data: bytes) -> Any:
    """orjson, or the standard library for what orjson refuses (integers past 64 bits)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


def _now_column() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class Rule(Base):
    """The live state of a rule; every change also writes an immutable RuleVersion.

    An edit of an active rule does not touch this row: it is a draft RuleVersion numbered
    `pending_version`, live only once an admin activates it (as a new version).
    """

    __tablename__ = "rules"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    rule_type: Mapped[str] = mapped_column(String(40), nullable=False)
    severity: Mapped[str] = mapped_column(String(20), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    trigger_event_types: Mapped[list[str]] = mapped_column(JSONB, nullable=False)
    condition: Mapped[str] = mapped_column(Text, nullable=False)
    dedup_key: Mapped[str] = mapped_column(String(200), nullable=False)
    cooldown_seconds: Mapped[int] = mapped_column(Integer, nullable=False)
    owner_team: Mapped[str | None] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(Text)
    suggested_actions: Mapped[list[str]] = mapped_column(JSONB, nullable=False)
    template_key: Mapped[str | None] = mapped_column(String(80))
    # A user's own words for the rule's alerts (riskwatch_shared.messages parameters).
    title_template: Mapped[str | None] = mapped_column(String(300))
    summary_template: Mapped[str | None] = mapped_column(Text)
    pending_version: Mapped[int | None] = mapped_column(Integer)
    # An approved version in a percentage rollout: it evaluates for `rollout_percent` of the
    # customers (domain.rollout), this row's version for the rest, until completed at 100%.
    rollout_version: Mapped[int | None] = mapped_column(Integer)
    rollout_percent: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = _now_column()
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    updated_at: Mapped[datetime] = _now_column()
    updated_by: Mapped[str] = mapped_column(String(200), nullable=False)


class RuleVersion(Base):
    """One immutable snapshot of a rule, with who made it and which fields changed."""

    __tablename__ = "rule_versions"
    __table_args__ = (PrimaryKeyConstraint("rule_id", "version"),)

    rule_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("rules.id", ondelete="CASCADE"), nullable=False
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    changed_fields: Mapped[list[str]] = mapped_column(JSONB, nullable=False)
    changed_by: Mapped[str] = mapped_column(String(200), nullable=False)
    changed_at: Mapped[datetime] = _now_column()


class RuleProposal(Base):
    """A proposed rule version (a new rule, or a change of one) awaiting a second person's
    approval (maker-checker): `pending`, then `approved`, `rejected` or `superseded` (a later
    proposal of the same rule built on it). `approval` says how it was approved."""

    __tablename__ = "rule_proposals"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    rule_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("rules.id", ondelete="CASCADE"), nullable=False
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    proposed_by: Mapped[str] = mapped_column(String(200), nullable=False)
    proposed_at: Mapped[datetime] = _now_column()
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    comment: Mapped[str | None] = mapped_column(Text)
    approval: Mapped[str | None] = mapped_column(String(30))


class RuleAuditEntry(Base):
    """One step in a rule's governance history: proposed, approved, rejected, activated,
    disabled, superseded; who did it (with their roles), on which version, and why."""

    __tablename__ = "rule_audit"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    rule_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("rules.id", ondelete="CASCADE"), nullable=False
    )
    proposal_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    action: Mapped[str] = mapped_column(String(40), nullable=False)
    version: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    actor_roles: Mapped[str] = mapped_column(String(200), nullable=False)
    comment: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[datetime] = _now_column()


class ListProposal(ProposalColumns, Base):
    """A proposed change of a managed list used by active rules (maker-checker): `load`
    (entries, merged or replacing), `remove` (values), `update` (kind, description) or
    `delete`, of the list `subject` (its id)."""

    __tablename__ = "list_proposals"


class ListAuditEntry(AuditColumns, Base):
    """One step in a managed list's governance history (`subject`: the list's id); kept when
    the list is deleted."""

    __tablename__ = "list_audit"


class ShadowRun(Base):
    """A proposed rule version evaluated on live traffic beside the active rules, raising
    nothing (issue 23 item 2): `running` until stopped by a manager or by the proposal's
    decision (`stop_reason`: stopped, approved, rejected, superseded)."""

    __tablename__ = "shadow_runs"
    __table_args__ = (
        Index(
            "uq_shadow_runs_running",
            "proposal_id",
            unique=True,
            postgresql_where=text("status = 'running'"),
        ),
        Index("ix_shadow_runs_rule", "rule_id", "started_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    proposal_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("rule_proposals.id", ondelete="CASCADE"), nullable=False
    )
    rule_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("rules.id", ondelete="CASCADE"), nullable=False
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    started_by: Mapped[str] = mapped_column(String(200), nullable=False)
    started_at: Mapped[datetime] = _now_column()
    stopped_by: Mapped[str | None] = mapped_column(String(200))
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    stop_reason: Mapped[str | None] = mapped_column(String(40))
    hit_count: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")


class ShadowHit(Base):
    """One event a shadow version matched: the alert it would have raised or added to."""

    __tablename__ = "shadow_hits"
    __table_args__ = (Index("ix_shadow_hits_run", "run_id", "occurred_at", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    run_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("shadow_runs.id", ondelete="CASCADE"), nullable=False
    )
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    event_type: Mapped[str] = mapped_column(String(120), nullable=False)
    customer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    transaction_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    dedup_value: Mapped[str] = mapped_column(String(400), nullable=False)
    evidence: Mapped[dict[str, Any]] = mapped_column(JsonBytes, nullable=False)
    recorded_at: Mapped[datetime] = _now_column()


class BacktestJob(Base):
    """A backtest run as a job: `queued`, `running` (under a runner's lease), then
    `succeeded`, `failed`, `cancelled` or `timed_out`. `definition` is the rule as replayed,
    frozen when the job was submitted; progress counters move while it runs."""

    __tablename__ = "backtest_jobs"
    __table_args__ = (
        Index("ix_backtest_jobs_listed", "created_at", "id"),
        Index("ix_backtest_jobs_owner", "created_by", "created_at"),
        Index(
            "ix_backtest_jobs_unfinished",
            "status",
            "created_at",
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
        Index(
            "uq_backtest_jobs_idempotency",
            "created_by",
            "idempotency_key",
            unique=True,
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = _now_column()
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    rule_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    rule_version: Mapped[int | None] = mapped_column(Integer)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    range_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    range_end: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    cancel_requested: Mapped[bool] = mapped_column(
        Boolean, nullable=False, server_default=text("false")
    )
    events_replayed: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    events_evaluated: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    hits: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    replayed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deadline_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    error: Mapped[str | None] = mapped_column(Text)


class ManagedList(Base):
    __tablename__ = "managed_lists"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(120), nullable=False, unique=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _now_column()
    updated_at: Mapped[datetime] = _now_column()
    updated_by: Mapped[str] = mapped_column(String(200), nullable=False)


class ListEntry(Base):
    __tablename__ = "list_entries"
    __table_args__ = (PrimaryKeyConstraint("list_id", "value"),)

    list_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("managed_lists.id", ondelete="CASCADE"), nullable=False
    )
    value: Mapped[str] = mapped_column(String(200), nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    added_at: Mapped[datetime] = _now_column()
    added_by: Mapped[str] = mapped_column(String(200), nullable=False)


class CacheVersion(Base):
    """A counter per cached thing (rules, lists); bumped on every change so replicas reload."""

    __tablename__ = "cache_versions"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False)


class CustomerDirectoryEntry(Base):
    """Who a customer is, for alert reports (from customer.created / customer.updated)."""

    __tablename__ = "customer_directory"

    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    relationship_manager: Mapped[str | None] = mapped_column(String(200))
    segment: Mapped[str | None] = mapped_column(String(80))
    updated_at: Mapped[datetime] = _now_column()


class CustomerState(Base):
    """The latest assessment of a customer: features, risk levels and scores."""

    __tablename__ = "customer_state"

    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    features: Mapped[dict[str, Any]] = mapped_column(JsonBytes, nullable=False)
    levels: Mapped[dict[str, Any]] = mapped_column(JsonBytes, nullable=False)
    scores: Mapped[dict[str, Any]] = mapped_column(JsonBytes, nullable=False)
    sequence: Mapped[int] = mapped_column(BigInteger, nullable=False)
    updated_at: Mapped[datetime] = _now_column()


class WindowGroup(Base):
    """The sliding windows of one (group_by, group_id): WindowStore.key_state as JSON."""

    __tablename__ = "window_groups"
    __table_args__ = (PrimaryKeyConstraint("group_by", "group_id"),)

    group_by: Mapped[str] = mapped_column(String(20), nullable=False)
    group_id: Mapped[str] = mapped_column(String(200), nullable=False)
    state: Mapped[dict[str, Any]] = mapped_column(JsonBytes, nullable=False)
    updated_at: Mapped[datetime] = _now_column()


class EvaluationRecord(Base):
    """Every trigger event evaluated, with the flattened context it was evaluated on."""

    __tablename__ = "evaluation_history"
    # (occurred_at, seq): a replay's keyset pages are index ranges in arrival order.
    __table_args__ = (Index("ix_evaluation_history_replay", "occurred_at", "seq"),)

    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    # Arrival order, so a backtest replays same-instant events as live evaluation saw them.
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), nullable=False)
    event_type: Mapped[str] = mapped_column(String(120), nullable=False)
    customer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    context: Mapped[dict[str, Any]] = mapped_column(JsonBytes, nullable=False)


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        # One alert per (rule, dedup value) may collect occurrences at a time.
        Index(
            "uq_alerts_open_dedup",
            "rule_id",
            "dedup_value",
            unique=True,
            postgresql_where=text("dedup_open"),
        ),
        Index("ix_alerts_raised_at", "raised_at"),
        # The dashboards' per-day aggregates read only these: index-only scans of a period.
        Index(
            "ix_alerts_dashboard",
            "raised_at",
            postgresql_include=[
                "rule_type",
                "severity",
                "status",
                "outcome",
                "rule_id",
                "acknowledged_at",
                "resolved_at",
                "sla_due_at",
            ],
        ),
        Index("ix_alerts_happened_at", "happened_at"),
        Index("ix_alerts_customer_id", "customer_id"),
        Index("ix_alerts_trigger_event_id", "trigger_event_id"),
        Index("ix_alerts_rule_id", "rule_id"),
        # The desk's queues (migration alerting_0010_deskapi).
        Index("ix_alerts_change_seq", "change_seq", unique=True),
        Index("ix_alerts_assignee_raised_at", "assignee", "raised_at"),
        Index("ix_alerts_team_raised_at", "assignee_team", "raised_at"),
        Index("ix_alerts_status_raised_at", "status", "raised_at"),
        # Status and severity together (migration alerting_0012_console360).
        Index("ix_alerts_status_severity_raised_at", "status", "severity", "raised_at"),
        Index(
            "ix_alerts_unassigned_raised_at",
            "raised_at",
            postgresql_where=text("assignee IS NULL"),
        ),
        Index("ix_alerts_sla_due_at_id", "sla_due_at", "id"),
        Index(
            "ix_alerts_open_sla_due_at",
            "sla_due_at",
            postgresql_where=text("status <> 'resolved'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    rule_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("rules.id"), nullable=False)
    rule_version: Mapped[int] = mapped_column(Integer, nullable=False)
    rule_name: Mapped[str] = mapped_column(String(200), nullable=False)
    rule_type: Mapped[str] = mapped_column(String(40), nullable=False)
    severity: Mapped[str] = mapped_column(String(20), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    outcome: Mapped[str | None] = mapped_column(String(40))
    mitigation: Mapped[str | None] = mapped_column(String(60))
    customer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    customer_name: Mapped[str | None] = mapped_column(String(300))
    relationship_manager: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    summary: Mapped[str] = mapped_column(Text, nullable=False)
    trigger_event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    trigger_event_type: Mapped[str | None] = mapped_column(String(120))
    transaction_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    evidence: Mapped[dict[str, Any]] = mapped_column(JsonBytes, nullable=False)
    scores: Mapped[dict[str, Any]] = mapped_column(JsonBytes, nullable=False)
    reasons: Mapped[list[str]] = mapped_column(JsonBytes, nullable=False)
    suggested_actions: Mapped[list[str]] = mapped_column(JsonBytes, nullable=False)
    # The title and summary as a riskwatch_shared.messages code and parameters.
    message_code: Mapped[str | None] = mapped_column(String(80))
    message_params: Mapped[dict[str, Any] | None] = mapped_column(JsonBytes)
    # `reasons` with their codes, parameters, contributions and advice.
    coded_reasons: Mapped[list[dict[str, Any]] | None] = mapped_column(JsonBytes)
    dedup_value: Mapped[str] = mapped_column(String(400), nullable=False)
    dedup_open: Mapped[bool] = mapped_column(Boolean, nullable=False)
    occurrence_count: Mapped[int] = mapped_column(Integer, nullable=False)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # When the thing happened: the transaction's time, the credit record's as-of date...
    happened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sla_due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    assignee: Mapped[str | None] = mapped_column(String(200))
    assignee_team: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = _now_column()
    case_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    # Set by PostgreSQL on every insert and update (a sequence and a trigger): the live
    # stream's position.
    change_seq: Mapped[int] = mapped_column(
        BigInteger, nullable=False, server_default=FetchedValue(), server_onupdate=FetchedValue()
    )

    @property
    def sla_state(self) -> SlaState:
        """The SLA badge now (`riskwatch_alerting.domain.desk`)."""
        return sla_state(
            started_at=self.raised_at,
            due_at=self.sla_due_at,
            closed_at=self.resolved_at,
            now=datetime.now(UTC),
        )


class AlertOccurrence(Base):
    """A repeat of an open alert's dedup key inside its rule's cooldown."""

    __tablename__ = "alert_occurrences"
    __table_args__ = (Index("ix_alert_occurrences_alert_id", "alert_id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    alert_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False
    )
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    event_type: Mapped[str] = mapped_column(String(120), nullable=False)
    transaction_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    evidence: Mapped[dict[str, Any]] = mapped_column(JsonBytes, nullable=False)


class AlertTimelineEntry(Base):
    __tablename__ = "alert_timeline"
    __table_args__ = (Index("ix_alert_timeline_alert_id", "alert_id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    alert_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False
    )
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    actor: Mapped[str | None] = mapped_column(String(200))
    change: Mapped[str] = mapped_column(String(40), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    detail: Mapped[dict[str, Any]] = mapped_column(JsonBytes, nullable=False)
    # Who acted, as a person reads it (the identity's name and roles, comma-separated).
    actor_name: Mapped[str | None] = mapped_column(String(200))
    actor_roles: Mapped[str | None] = mapped_column(String(200))


class Case(Base):
    """An analyst's unit of work: the alerts of one customer (or one alert, for rule types
    whose policy is `separate`), with an owner, a status, an SLA and the worst alert's
    priority."""

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_assignee", "assignee", postgresql_where=text("status <> 'closed'")),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    group_key: Mapped[str] = mapped_column(String(120), nullable=False)
    customer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    customer_name: Mapped[str | None] = mapped_column(String(300))
    relationship_manager: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    priority: Mapped[str] = mapped_column(String(20), nullable=False)
    assignee: Mapped[str | None] = mapped_column(String(200))
    outcome: Mapped[str | None] = mapped_column(String(40))
    alert_count: Mapped[int] = mapped_column(Integer, nullable=False)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    sla_due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CaseTimelineEntry(Base):
    """What happened to the case itself (assigned, commented, closed...)."""

    __tablename__ = "case_timeline"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("cases.id", ondelete="CASCADE"), nullable=False, index=True
    )
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    actor: Mapped[str | None] = mapped_column(String(200))
    actor_name: Mapped[str | None] = mapped_column(String(200))
    actor_roles: Mapped[str | None] = mapped_column(String(200))
    change: Mapped[str] = mapped_column(String(40), nullable=False)
    detail: Mapped[dict[str, Any]] = mapped_column(JsonBytes, nullable=False)


class AlertDelivery(Base):
    """What notify did about an alert (sent, failed, escalation cancelled), from its events."""

    __tablename__ = "alert_deliveries"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False, unique=True)
    alert_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False, index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    change: Mapped[str] = mapped_column(String(40), nullable=False)
    detail: Mapped[dict[str, Any]] = mapped_column(JsonBytes, nullable=False)


class Suppression(Base):
    """A rule snoozed for one customer, account or counterparty until a time, with a reason."""

    __tablename__ = "suppressions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    rule_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("rules.id", ondelete="CASCADE"), nullable=False, index=True
    )
    target_kind: Mapped[str] = mapped_column(String(20), nullable=False)
    target_value: Mapped[str] = mapped_column(String(200), nullable=False)
    customer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    case_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    until: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_by_name: Mapped[str | None] = mapped_column(String(200))
    created_by_roles: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    lifted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lifted_by: Mapped[str | None] = mapped_column(String(200))


class WatchlistEntry(Base):
    """A customer followed closely (issue 22): why, who owns it, when it is reviewed next, what
    must be done and when it may leave. One active entry per customer at a time."""

    __tablename__ = "watchlist_entries"
    __table_args__ = (
        Index(
            "uq_watchlist_active_customer",
            "customer_id",
            unique=True,
            postgresql_where=text("status = 'active'"),
        ),
        Index("ix_watchlist_entered_at", "entered_at"),
        Index(
            "ix_watchlist_active_review_due",
            "review_due",
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    customer_name: Mapped[str | None] = mapped_column(String(300))
    relationship_manager: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    owner: Mapped[str] = mapped_column(String(200), nullable=False)
    review_due: Mapped[date] = mapped_column(Date, nullable=False)
    required_actions: Mapped[list[str]] = mapped_column(JSONB, nullable=False)
    exit_criteria: Mapped[str] = mapped_column(Text, nullable=False)
    origin: Mapped[str] = mapped_column(String(20), nullable=False)
    origin_ref: Mapped[str | None] = mapped_column(String(200))
    entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    entered_by: Mapped[str] = mapped_column(String(200), nullable=False)
    entered_by_name: Mapped[str | None] = mapped_column(String(200))
    last_reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    exited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    exited_by: Mapped[str | None] = mapped_column(String(200))
    exit_reason: Mapped[str | None] = mapped_column(Text)
    # The review date whose "review due" notice was sent (once per date).
    review_due_notified: Mapped[date | None] = mapped_column(Date)


class WatchlistReview(Base):
    """One review of a watch-list entry: what was found and when the next one is due."""

    __tablename__ = "watchlist_reviews"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    entry_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("watchlist_entries.id", ondelete="CASCADE"), nullable=False, index=True
    )
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    reviewer: Mapped[str] = mapped_column(String(200), nullable=False)
    reviewer_name: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, nullable=False)
    next_review_due: Mapped[date] = mapped_column(Date, nullable=False)


class WarningState(Base):
    """One early-warning indicator of one customer: its level now, since when, and its first
    amber and red (kept after it clears: the lead time to a default counts from them)."""

    __tablename__ = "warning_states"
    __table_args__ = (Index("ix_warning_states_first_amber_at", "first_amber_at"),)

    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    indicator: Mapped[str] = mapped_column(String(60), primary_key=True)
    level: Mapped[str | None] = mapped_column(String(10))
    since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_amber_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_red_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    value: Mapped[float | None] = mapped_column(Float)
    detail: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    segment: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class WarningMovement(Base):
    """An indicator's change of level (raised, escalated, eased, cleared), at event time."""

    __tablename__ = "warning_movements"
    __table_args__ = (
        Index("ix_warning_movements_at", "at"),
        Index("ix_warning_movements_customer", "customer_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    indicator: Mapped[str] = mapped_column(String(60), nullable=False)
    change: Mapped[str] = mapped_column(String(20), nullable=False)
    from_level: Mapped[str | None] = mapped_column(String(10))
    to_level: Mapped[str | None] = mapped_column(String(10))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    detail: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)


class WarningBaseline(Base):
    """A segment's percentiles of one catalogue metric, computed from the portfolio."""

    __tablename__ = "warning_baselines"

    segment: Mapped[str] = mapped_column(String(100), primary_key=True)
    metric: Mapped[str] = mapped_column(String(60), primary_key=True)
    population: Mapped[int] = mapped_column(Integer, nullable=False)
    percentiles: Mapped[dict[str, float]] = mapped_column(JSONB, nullable=False)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class OperationalAlert(Base):
    """Detection itself needs a look (issue 23): a rule firing far above its baseline or a
    model drifting. No customer; it goes to the rule's or model's owners. One per subject a
    day, and none while an earlier one is open (`status = 'open'`, until acknowledged): a
    spike that lasts updates the open one's figures instead."""

    __tablename__ = "operational_alerts"
    __table_args__ = (
        Index("uq_operational_alerts_day", "kind", "subject_id", "day", unique=True),
        Index(
            "uq_operational_alerts_open",
            "kind",
            "subject_id",
            unique=True,
            postgresql_where=text("status = 'open'"),
        ),
        Index("ix_operational_alerts_raised_at", "raised_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(30), nullable=False)
    subject_type: Mapped[str] = mapped_column(String(10), nullable=False)
    subject_id: Mapped[str] = mapped_column(String(64), nullable=False)
    subject_name: Mapped[str] = mapped_column(String(200), nullable=False)
    severity: Mapped[str] = mapped_column(String(20), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    report: Mapped[str] = mapped_column(Text, nullable=False)
    figures: Mapped[dict[str, float]] = mapped_column(JSONB, nullable=False)
    owners: Mapped[list[str]] = mapped_column(JSONB, nullable=False)
    owner_team: Mapped[str | None] = mapped_column(String(120))
    day: Mapped[date] = mapped_column(Date, nullable=False)
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    repeats: Mapped[int] = mapped_column(Integer, nullable=False)
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    comment: Mapped[str | None] = mapped_column(Text)
