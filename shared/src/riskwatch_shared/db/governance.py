"""Maker-checker bookkeeping in a service's own database: its `<thing>_proposals` and
`<thing>_audit` tables (the columns are the mixins here) and the steps every governed kind
shares (propose, supersede, approve, reject, list, history). The decisions are pure
(`riskwatch_shared.governance`); what an approved change does is the service's.

`subject` names what a proposal changes, as text: a model's or a list's id, an escalation
policy's severity. Every step is written in the transaction of the change itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy import BigInteger, DateTime, Identity, String, Text, Uuid, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.schema import SchemaItem

from riskwatch_shared.errors import Conflict, Forbidden, NotFound
from riskwatch_shared.governance import (
    PENDING,
    Approval,
    Approver,
    ProposalAlreadyDecided,
    SelfApprovalRefused,
    approval_of,
    audit_step,
    decide,
)


class ProposalColumns:
    """A proposed change awaiting a second person: `pending`, then `approved`, `rejected` or
    `superseded` (a later proposal of the same subject replaced it)."""

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    subject: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(30), nullable=False)
    change: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, index=True)
    proposed_by: Mapped[str] = mapped_column(String(200), nullable=False)
    proposed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    comment: Mapped[str | None] = mapped_column(Text)
    approval: Mapped[str | None] = mapped_column(String(30))


class AuditColumns:
    """One step in a governed subject's history (`riskwatch_shared.governance.audit_step`)."""

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    subject: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    proposal_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    action: Mapped[str] = mapped_column(String(40), nullable=False)
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    actor_roles: Mapped[str] = mapped_column(String(200), nullable=False)
    comment: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    occurred_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )


P = TypeVar("P", bound=ProposalColumns)
A = TypeVar("A", bound=AuditColumns)


@dataclass(frozen=True)
class Governed(Generic[P, A]):
    """One governed kind of a service: its two tables and its problem types."""

    proposals: type[P]
    audit_entries: type[A]
    not_found: type[NotFound]
    not_pending: type[Conflict]
    self_approval: type[Forbidden]
    noun: str  # "model", "list", "escalation policy": for the messages

    def audit(
        self,
        session: AsyncSession,
        subject: str,
        action: str,
        *,
        actor: str,
        roles: Sequence[str] = (),
        proposal_id: uuid.UUID | None = None,
        comment: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """One step in the subject's history, in the transaction of the change itself."""
        entry = self.audit_entries()
        entry.subject = subject
        for column, value in audit_step(
            action,
            actor=actor,
            roles=roles,
            proposal_id=proposal_id,
            comment=comment,
            detail=detail,
        ).items():
            setattr(entry, column, value)
        session.add(entry)

    async def propose(
        self,
        session: AsyncSession,
        *,
        subject: str,
        kind: str,
        change: dict[str, Any],
        approver: Approver,
        supersedes: bool = False,
        detail: dict[str, Any] | None = None,
    ) -> P:
        """Propose `change` of `subject`; with `supersedes`, a pending proposal of the same
        subject is replaced by it (the new one says everything, e.g. a whole policy). The
        history's entry holds `detail` (a summary of a large change) or the change itself."""
        if supersedes:
            await self.supersede_pending(session, subject, approver)
        proposal = self.proposals()
        proposal.id, proposal.subject, proposal.kind = uuid.uuid4(), subject, kind
        proposal.change, proposal.status = change, PENDING
        proposal.proposed_by, proposal.proposed_at = approver.subject, datetime.now(UTC)
        session.add(proposal)
        self.audit(
            session,
            subject,
            "proposed",
            actor=approver.subject,
            roles=approver.roles,
            proposal_id=proposal.id,
            comment=kind,
            detail=change if detail is None else detail,
        )
        await session.flush()
        return proposal

    async def supersede_pending(
        self, session: AsyncSession, subject: str, approver: Approver, comment: str | None = None
    ) -> None:
        """Every pending proposal of `subject` is superseded (a later change replaced it, or
        the subject is gone)."""
        for earlier in await self.pending_of(session, subject):
            earlier.status = decide(earlier.status, "superseded")
            earlier.decided_at = datetime.now(UTC)
            self.audit(
                session,
                subject,
                "superseded",
                actor=approver.subject,
                roles=approver.roles,
                proposal_id=earlier.id,
                comment=comment,
            )

    async def pending_of(self, session: AsyncSession, subject: str) -> Sequence[P]:
        """The subject's pending proposals, locked (decisions of this transaction included)."""
        await session.flush()
        model = self.proposals
        result = await session.scalars(
            select(model)
            .where(model.subject == subject, model.status == PENDING)
            .order_by(model.proposed_at, model.id)
            .with_for_update()
        )
        return result.all()

    async def pending_counts(self, session: AsyncSession) -> dict[str, int]:
        """How many proposals wait, per subject."""
        model = self.proposals
        rows = await session.execute(
            select(model.subject, func.count())
            .where(model.status == PENDING)
            .group_by(model.subject)
        )
        return {str(subject): int(count) for subject, count in rows.all()}

    async def get(
        self, session: AsyncSession, proposal_id: uuid.UUID, *, for_update: bool = False
    ) -> P:
        statement = select(self.proposals).where(self.proposals.id == proposal_id)
        if for_update:
            statement = statement.with_for_update()
        proposal = await session.scalar(statement)
        if proposal is None:
            raise self.not_found(f"no {self.noun} proposal {proposal_id}")
        return proposal

    async def pending(self, session: AsyncSession, proposal_id: uuid.UUID) -> P:
        """The proposal, locked, if it is still pending (409 otherwise)."""
        proposal = await self.get(session, proposal_id, for_update=True)
        if proposal.status != PENDING:
            raise self.not_pending(
                f"{self.noun} proposal {proposal_id} is already {proposal.status}"
            )
        return proposal

    async def list(
        self,
        session: AsyncSession,
        *,
        status: str | None,
        subject: str | None,
        limit: int,
    ) -> Sequence[P]:
        """Oldest first: what waits longest comes first."""
        model = self.proposals
        statement = select(model).order_by(model.proposed_at, model.id)
        if status is not None:
            statement = statement.where(model.status == status)
        if subject is not None:
            statement = statement.where(model.subject == subject)
        return (await session.scalars(statement.limit(limit))).all()

    async def history(self, session: AsyncSession, subject: str) -> Sequence[A]:
        model = self.audit_entries
        result = await session.scalars(
            select(model).where(model.subject == subject).order_by(model.id)
        )
        return result.all()

    def check(
        self, proposal: P, approver: Approver, *, system_configuration: bool = False
    ) -> Approval:
        """How `approver` may approve `proposal`, or 403 (problem+json): never its author."""
        try:
            return approval_of(
                authors=frozenset({proposal.proposed_by}),
                approver=approver,
                system_configuration=system_configuration,
            )
        except SelfApprovalRefused as exc:
            raise self.self_approval(str(exc)) from exc

    def approved(
        self,
        session: AsyncSession,
        proposal: P,
        approver: Approver,
        approval: Approval,
        comment: str | None,
        *,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Record the approval (the caller has applied the change in the same transaction)."""
        self._decide(proposal, "approved", approver, comment)
        proposal.approval = approval
        self.audit(
            session,
            proposal.subject,
            "approved",
            actor=approver.subject,
            roles=approver.roles,
            proposal_id=proposal.id,
            comment=f"[{approval}] {comment}" if comment else f"[{approval}]",
            detail=detail,
        )

    def rejected(
        self, session: AsyncSession, proposal: P, approver: Approver, comment: str
    ) -> None:
        """Turn a proposal down with a reason: nothing it proposed changes."""
        self._decide(proposal, "rejected", approver, comment)
        self.audit(
            session,
            proposal.subject,
            "rejected",
            actor=approver.subject,
            roles=approver.roles,
            proposal_id=proposal.id,
            comment=comment,
        )

    def _decide(self, proposal: P, decision: str, approver: Approver, comment: str | None) -> None:
        try:
            proposal.status = decide(proposal.status, decision)  # type: ignore[arg-type]
        except ProposalAlreadyDecided as exc:
            raise self.not_pending(str(exc)) from exc
        proposal.decided_by, proposal.decided_at = approver.subject, datetime.now(UTC)
        proposal.comment = comment


def governance_tables(prefix: str) -> list[tuple[str, list[SchemaItem]]]:
    """The two tables' columns for a migration (`op.create_table(name, *columns)`), as the
    mixins declare them (names as the services' naming convention gives them)."""
    return [
        (
            f"{prefix}_proposals",
            [
                sa.Column("id", sa.Uuid(), nullable=False),
                sa.PrimaryKeyConstraint("id", name=f"pk_{prefix}_proposals"),
                sa.Column("subject", sa.String(200), nullable=False, index=True),
                sa.Column("kind", sa.String(30), nullable=False),
                sa.Column("change", JSONB(), nullable=False),
                sa.Column("status", sa.String(20), nullable=False, index=True),
                sa.Column("proposed_by", sa.String(200), nullable=False),
                sa.Column(
                    "proposed_at",
                    sa.DateTime(timezone=True),
                    nullable=False,
                    server_default=sa.func.now(),
                ),
                sa.Column("decided_by", sa.String(200)),
                sa.Column("decided_at", sa.DateTime(timezone=True)),
                sa.Column("comment", sa.Text()),
                sa.Column("approval", sa.String(30)),
            ],
        ),
        (
            f"{prefix}_audit",
            [
                sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
                sa.PrimaryKeyConstraint("id", name=f"pk_{prefix}_audit"),
                sa.Column("subject", sa.String(200), nullable=False, index=True),
                sa.Column("proposal_id", sa.Uuid()),
                sa.Column("action", sa.String(40), nullable=False),
                sa.Column("actor", sa.String(200), nullable=False),
                sa.Column("actor_roles", sa.String(200), nullable=False),
                sa.Column("comment", sa.Text()),
                sa.Column("detail", JSONB()),
                sa.Column(
                    "occurred_at",
                    sa.DateTime(timezone=True),
                    nullable=False,
                    server_default=sa.func.now(),
                ),
            ],
        ),
    ]
