"""Maker-checker bookkeeping for rules: proposals (a proposed version awaiting approval) and
the audit history of every step. The decisions themselves are pure
(`domain.governance`); the rule changes they lead to are `service`'s.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_alerting import repository
from riskwatch_alerting.domain.cases import roles_text
from riskwatch_alerting.domain.governance import (
    Approval,
    SelfApprovalRefused,
    approval_of,
    is_shipped_template,
)
from riskwatch_alerting.errors import ProposalNotFound, SelfApprovalNotAllowed
from riskwatch_alerting.models import RuleAuditEntry, RuleProposal, ShadowRun
from riskwatch_alerting.rules.templates import TEMPLATES_BY_KEY
from riskwatch_shared.events.alerting import RuleChangeApproved, RuleChangeProposed
from riskwatch_shared.governance import SERVICE_APPROVER as SERVICE_APPROVER
from riskwatch_shared.governance import Approver as Approver
from riskwatch_shared.messaging.outbox import add_events

# Approver and SERVICE_APPROVER (who acts on a rule, with this install's self-approval
# setting; the services' own identity for tools and tests) are every governed kind's.
PENDING = "pending"


def audit(
    session: AsyncSession,
    rule_id: uuid.UUID,
    action: str,
    *,
    actor: str,
    roles: Sequence[str] = (),
    version: int | None = None,
    proposal_id: uuid.UUID | None = None,
    comment: str | None = None,
) -> None:
    """One step in the rule's history, in the transaction of the change itself."""
    session.add(
        RuleAuditEntry(
            rule_id=rule_id,
            proposal_id=proposal_id,
            action=action,
            version=version,
            actor=actor,
            actor_roles=roles_text(roles),
            comment=comment,
            occurred_at=datetime.now(UTC),
        )
    )


async def open_proposal(
    session: AsyncSession,
    *,
    rule_id: uuid.UUID,
    rule_name: str,
    version: int,
    kind: Literal["create", "change"],
    actor: str,
    roles: Sequence[str],
) -> RuleProposal:
    """Propose `version`; an earlier pending proposal of the rule is superseded by it (the new
    version builds on it)."""
    await supersede_pending(session, rule_id, actor=actor, roles=roles)
    proposal = RuleProposal(
        id=uuid.uuid4(),
        rule_id=rule_id,
        version=version,
        kind=kind,
        status=PENDING,
        proposed_by=actor,
        proposed_at=datetime.now(UTC),
    )
    session.add(proposal)
    audit(
        session,
        rule_id,
        "proposed",
        actor=actor,
        roles=roles,
        version=version,
        proposal_id=proposal.id,
        comment=kind,
    )
    await add_events(
        session,
        RuleChangeProposed(
            proposal_id=proposal.id,
            rule_id=rule_id,
            rule_name=rule_name,
            version=version,
            kind=kind,
            proposed_by=actor,
        ),
    )
    await session.flush()
    return proposal


async def supersede_pending(
    session: AsyncSession, rule_id: uuid.UUID, *, actor: str, roles: Sequence[str]
) -> None:
    for proposal in await pending_of(session, rule_id):
        proposal.status = "superseded"
        proposal.decided_at = datetime.now(UTC)
        await stop_shadow(session, proposal.id, reason="superseded", actor=actor, roles=roles)
        audit(
            session,
            rule_id,
            "superseded",
            actor=actor,
            roles=roles,
            version=proposal.version,
            proposal_id=proposal.id,
        )


async def pending_of(session: AsyncSession, rule_id: uuid.UUID) -> Sequence[RuleProposal]:
    result = await session.scalars(
        select(RuleProposal)
        .where(RuleProposal.rule_id == rule_id, RuleProposal.status == PENDING)
        .with_for_update()
    )
    return result.all()


async def get_proposal(
    session: AsyncSession, proposal_id: uuid.UUID, *, for_update: bool = False
) -> RuleProposal:
    statement = select(RuleProposal).where(RuleProposal.id == proposal_id)
    if for_update:
        statement = statement.with_for_update()
    proposal = await session.scalar(statement)
    if proposal is None:
        raise ProposalNotFound(f"no rule proposal {proposal_id}")
    return proposal


async def list_proposals(
    session: AsyncSession,
    *,
    status: str | None,
    rule_id: uuid.UUID | None,
    limit: int,
) -> Sequence[RuleProposal]:
    statement = select(RuleProposal).order_by(RuleProposal.proposed_at, RuleProposal.id)
    if status is not None:
        statement = statement.where(RuleProposal.status == status)
    if rule_id is not None:
        statement = statement.where(RuleProposal.rule_id == rule_id)
    return (await session.scalars(statement.limit(limit))).all()


async def history_of(session: AsyncSession, rule_id: uuid.UUID) -> Sequence[RuleAuditEntry]:
    result = await session.scalars(
        select(RuleAuditEntry).where(RuleAuditEntry.rule_id == rule_id).order_by(RuleAuditEntry.id)
    )
    return result.all()


async def proposal_authors(
    session: AsyncSession, rule_id: uuid.UUID, version: int
) -> frozenset[str] | None:
    """Who wrote the pending proposal of `version`: its author and those of the proposals it
    superseded since the rule's last decision (their changes are in it). None: no proposal."""
    result = await session.scalars(
        select(RuleProposal)
        .where(RuleProposal.rule_id == rule_id)
        .order_by(RuleProposal.proposed_at, RuleProposal.id)
    )
    authors: set[str] = set()
    for proposal in result.all():
        if proposal.status not in (PENDING, "superseded"):
            authors.clear()  # decided: what came before was approved or rejected on its own
            continue
        authors.add(proposal.proposed_by)
        if proposal.status == PENDING and proposal.version == version:
            return frozenset(authors)
    return None


def check_approval(
    approver: Approver, *, authors: frozenset[str], snapshot: dict[str, Any]
) -> Approval:
    """How `approver` may make a version `authors` wrote live, or 403 (problem+json)."""
    template = TEMPLATES_BY_KEY.get(str(snapshot.get("template_key") or ""))
    shipped = is_shipped_template(
        snapshot,
        template_condition=None if template is None else template.condition,
        template_triggers=None if template is None else template.trigger_event_types,
    )
    try:
        return approval_of(
            authors=authors,
            approver=approver.subject,
            is_service=approver.is_service,
            shipped_template=shipped,
            allow_self_approval=approver.allow_self_approval,
        )
    except SelfApprovalRefused as exc:
        raise SelfApprovalNotAllowed(str(exc)) from exc


async def mark_approved(
    session: AsyncSession,
    rule_id: uuid.UUID,
    version: int,
    *,
    rule_name: str,
    approver: Approver,
    approval: Approval,
    comment: str | None,
) -> uuid.UUID | None:
    """The pending proposal of `version` (if any) is approved (and announced); the others are
    superseded."""
    now = datetime.now(UTC)
    approved: uuid.UUID | None = None
    for proposal in await pending_of(session, rule_id):
        if proposal.version == version:
            proposal.status, approved = "approved", proposal.id
            proposal.decided_by, proposal.comment, proposal.approval = (
                approver.subject,
                comment,
                approval,
            )
        else:
            proposal.status = "superseded"
        proposal.decided_at = now
        await stop_shadow(
            session,
            proposal.id,
            reason=proposal.status,
            actor=approver.subject,
            roles=approver.roles,
        )
        if proposal.status == "approved":
            await add_events(
                session,
                RuleChangeApproved(
                    proposal_id=proposal.id,
                    rule_id=rule_id,
                    rule_name=rule_name,
                    version=version,
                    kind=_kind(proposal.kind),
                    proposed_by=proposal.proposed_by,
                    approved_by=approver.subject,
                    approval=approval,
                    comment=comment,
                ),
            )
    return approved


def _kind(kind: str) -> Literal["create", "change"]:
    return "create" if kind == "create" else "change"


async def stop_shadow(
    session: AsyncSession,
    proposal_id: uuid.UUID,
    *,
    reason: str,
    actor: str,
    roles: Sequence[str],
) -> bool:
    """Stop the proposal's running shadow (a manager's stop, or its proposal decided): the
    event path stops evaluating it at its next batch. False: none was running."""
    stopped = (
        await session.execute(
            update(ShadowRun)
            .where(ShadowRun.proposal_id == proposal_id, ShadowRun.status == "running")
            .values(
                status="stopped",
                stop_reason=reason,
                stopped_by=actor,
                stopped_at=datetime.now(UTC),
            )
            .returning(ShadowRun.rule_id, ShadowRun.version, ShadowRun.hit_count)
        )
    ).first()
    if stopped is None:
        return False
    audit(
        session,
        stopped[0],
        "shadow_stopped",
        actor=actor,
        roles=roles,
        version=stopped[1],
        proposal_id=proposal_id,
        comment=f"{reason}; {stopped[2]} would-be hits",
    )
    await repository.bump_cache_version(session, repository.RULES_CACHE)
    return True
