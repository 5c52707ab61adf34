"""ORM models of the notify service's own database."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    Time,
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


# Each customer's relationship manager, as the alerts raised about them said: RMs see only
# their own customers' alert notifications and inbox items.
CUSTOMER_OWNERS = owners_table(Base.metadata)


def _created_at() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class RecipientRow(Base):
    """A person (or system) notify can reach: addresses, locale, time zone, quiet hours."""

    __tablename__ = "recipients"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(32))
    webhook_url: Mapped[str | None] = mapped_column(String(2000))
    locale: Mapped[str] = mapped_column(String(16), nullable=False, default="en")
    time_zone: Mapped[str] = mapped_column(String(64), nullable=False, default="UTC")
    quiet_start: Mapped[time | None] = mapped_column(Time)
    quiet_end: Mapped[time | None] = mapped_column(Time)
    staff_id: Mapped[str | None] = mapped_column(String(120), unique=True)
    user_subject: Mapped[str | None] = mapped_column(String(200), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = _created_at()


class TeamRow(Base):
    __tablename__ = "teams"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200), nullable=False, unique=True)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = _created_at()


class TeamMemberRow(Base):
    __tablename__ = "team_members"

    team_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    recipient_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("recipients.id", ondelete="CASCADE"), primary_key=True
    )


class SubscriptionRow(Base):
    """Which alert types, from which severity, go to a team or a person, over which channels."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        CheckConstraint("(team_id IS NULL) <> (recipient_id IS NULL)", name="one_target"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    recipient_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("recipients.id", ondelete="CASCADE")
    )
    channels: Mapped[list[str]] = mapped_column(ARRAY(String(16)), nullable=False)
    alert_types: Mapped[list[str]] = mapped_column(ARRAY(String(40)), nullable=False)
    min_severity: Mapped[str] = mapped_column(String(16), nullable=False)
    # Also notify the relationship manager of the alert's customer (matched on staff_id).
    include_relationship_manager: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=text("false")
    )
    created_at: Mapped[datetime] = _created_at()
    # The watch list's events it also delivers (entered, reviewed, exited, review_due), and
    # whether it delivers alerts at all (false: the watch list only).
    watchlist_events: Mapped[list[str]] = mapped_column(
        ARRAY(String(20)), nullable=False, default=list, server_default="{}"
    )
    alerts: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=True, server_default=text("true")
    )


class EscalationPolicyRow(Base):
    """One policy per severity; `levels` is a list of {after_seconds, channels, team_ids,
    recipient_ids}."""

    __tablename__ = "escalation_policies"

    severity: Mapped[str] = mapped_column(String(16), primary_key=True)
    levels: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    repeat: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    cycle_seconds: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = _created_at()


class EscalationPolicyProposal(ProposalColumns, Base):
    """A proposed change of an escalation policy (maker-checker): `put` (the whole policy) or
    `delete`, of the severity `subject`."""

    __tablename__ = "escalation_policy_proposals"


class EscalationPolicyAuditEntry(AuditColumns, Base):
    """One step in an escalation policy's governance history (`subject`: its severity)."""

    __tablename__ = "escalation_policy_audit"


class AlertRow(Base):
    """What notify was told of an alert (rendering escalations and digests needs it later)."""

    __tablename__ = "alerts"

    alert_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    severity: Mapped[str] = mapped_column(String(16), nullable=False)
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Why notifications (or an escalation step) could not be planned for this alert; the
    # other alerts of the batch went on (the planner isolates each one).
    planning_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created_at()


class NotificationRow(Base):
    """One message to one recipient on one channel, and where its delivery stands.

    status: queued | sending | sent | failed (retry scheduled) | dead | held (quiet hours,
    until `held_until`) | cancelled (an escalation the alert's acknowledgement made moot) |
    bundled (held for, or folded into, the digest `digest_notification_id`).
    """

    __tablename__ = "notifications"
    __table_args__ = (
        Index(
            "ix_notifications_due",
            "next_attempt_at",
            postgresql_where=text("status IN ('queued', 'failed')"),
        ),
        Index(
            "ix_notifications_lease",
            "lease_expires_at",
            postgresql_where=text("status = 'sending'"),
        ),
        Index("ix_notifications_status_seq", "status", "seq"),
        Index(
            "ix_notifications_held",
            "held_until",
            postgresql_where=text("status = 'held'"),
        ),
        Index(
            "ix_notifications_waiting_digest",
            "recipient_id",
            "channel",
            postgresql_where=text("status = 'bundled' AND digest_notification_id IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), nullable=False, unique=True)
    dedup_key: Mapped[str] = mapped_column(String(200), nullable=False, unique=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # alert|escalation|digest
    alert_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    bundled_alert_ids: Mapped[list[uuid.UUID]] = mapped_column(
        ARRAY(Uuid), nullable=False, server_default="{}"
    )
    digest_notification_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    escalation_step: Mapped[int | None] = mapped_column(Integer)
    recipient_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("recipients.id", ondelete="CASCADE"), nullable=False, index=True
    )
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    address: Mapped[str] = mapped_column(String(2000), nullable=False)
    severity: Mapped[str] = mapped_column(String(16), nullable=False)
    subject: Mapped[str] = mapped_column(Text, nullable=False, default="")
    body_text: Mapped[str] = mapped_column(Text, nullable=False, default="")
    body_html: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    held_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lease_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    provider: Mapped[str | None] = mapped_column(String(120))
    provider_message_id: Mapped[str | None] = mapped_column(String(500))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _created_at()
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The trace of the alert it tells of (W3C trace id, or a legacy `x-trace-id`).
    trace_id: Mapped[str | None] = mapped_column(String(128))


class DeliveryAttemptRow(Base):
    """One try at sending a notification, with what the provider answered."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    notification_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE"), nullable=False, index=True
    )
    attempt: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # sent|failed|dead
    provider: Mapped[str] = mapped_column(String(120), nullable=False)
    provider_message_id: Mapped[str | None] = mapped_column(String(500))
    detail: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # The remote HTTP server's status code; its body is never stored.
    remote_status: Mapped[int | None] = mapped_column(SmallInteger)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    duration_ms: Mapped[int] = mapped_column(Integer, nullable=False)


class InboxMessageRow(Base):
    """An in-app message in one recipient's inbox."""

    __tablename__ = "inbox_messages"
    __table_args__ = (
        Index("ix_inbox_messages_recipient_seq", "recipient_id", "seq"),
        Index(
            "ix_inbox_messages_unread",
            "recipient_id",
            postgresql_where=text("read_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), nullable=False, unique=True)
    recipient_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("recipients.id", ondelete="CASCADE"), nullable=False
    )
    notification_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("notifications.id", ondelete="SET NULL"), unique=True
    )
    alert_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # The customer a message without an alert is about (a watch-list event): what confines
    # it to the customer's relationship manager.
    customer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    title: Mapped[str] = mapped_column(Text, nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    severity: Mapped[str] = mapped_column(String(16), nullable=False)
    link: Mapped[str] = mapped_column(String(2000), nullable=False, default="")
    created_at: Mapped[datetime] = _created_at()
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class EscalationRow(Base):
    """The escalation chain of one alert; the policy is copied so later edits do not rewrite it."""

    __tablename__ = "escalations"
    __table_args__ = (
        Index(
            "ix_escalations_due",
            "next_due_at",
            postgresql_where=text("cancelled_at IS NULL AND completed_at IS NULL"),
        ),
    )

    alert_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("alerts.alert_id", ondelete="CASCADE"), primary_key=True
    )
    policy: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    steps_done: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = _created_at()


class DigestWindowRow(Base):
    """The open digest window of one recipient and channel (storm.DigestWindow, persisted)."""

    __tablename__ = "digest_windows"

    recipient_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("recipients.id", ondelete="CASCADE"), primary_key=True
    )
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    closes_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, index=True)
    held_alert_ids: Mapped[list[uuid.UUID]] = mapped_column(
        ARRAY(Uuid), nullable=False, server_default="{}"
    )


class ConfigAuditEntry(AuditColumns, Base):
    """What a configuration import changed (a team, recipient, subscription or escalation
    policy), by whom; `subject` is `<kind>:<key>`, `detail` the fields it changed."""

    __tablename__ = "config_audit"
