"""Maker-checker for which model serves (issue 23): making a model its kind's champion
(`activate`, a rollback too) or challenger (`shadow`) is a proposal; someone other than its
author approves it, and only then does it serve. Retiring a challenger or candidate (it stops
shadowing: nothing new serves) takes effect at once and is audited. Every step is in the
model's history (`model_audit`), written in the transaction of the change itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_scoring import repository
from riskwatch_scoring.errors import (
    InvalidModelTransition,
    ModelNotDeployable,
    ModelProposalNotFound,
    ModelProposalNotPending,
    ModelSelfApprovalNotAllowed,
)
from riskwatch_scoring.models import ModelAuditEntry, ModelProposal, ScoringModel
from riskwatch_scoring.registry import get_model_or_404, is_deployable, promote, retire
from riskwatch_shared.db.governance import Governed
from riskwatch_shared.governance import PENDING, Approver

MODELS: Governed[ModelProposal, ModelAuditEntry] = Governed(
    proposals=ModelProposal,
    audit_entries=ModelAuditEntry,
    not_found=ModelProposalNotFound,
    not_pending=ModelProposalNotPending,
    self_approval=ModelSelfApprovalNotAllowed,
    noun="model",
)

Promotion = Literal["activate", "shadow"]
TARGET_STATUS: dict[str, str] = {"activate": "champion", "shadow": "challenger"}


def _describe(row: ScoringModel) -> dict[str, Any]:
    return {
        "model_id": str(row.id),
        "model_kind": row.kind,
        "version": row.version,
        "model_version": row.model_version,
    }


def _check_promotable(row: ScoringModel, target: str) -> None:
    """Refuse at once what could never be approved (it would only wait to fail)."""
    if not is_deployable(row):
        raise ModelNotDeployable(
            "the model was trained on columns that are not customer features; it can be "
            "inspected but not serve"
        )
    if target == "challenger" and row.status == "champion":
        raise InvalidModelTransition("the champion cannot also be its own challenger")
    if row.status == target:
        raise InvalidModelTransition(f"the model is already the {target}")


async def propose(
    session: AsyncSession, model_id: uuid.UUID, promotion: Promotion, approver: Approver
) -> ModelProposal:
    """Propose the model as champion or challenger; the models serving now keep serving. The
    same pending proposal again (a retry) is that proposal, not a second one."""
    row = await get_model_or_404(session, model_id)
    target = TARGET_STATUS[promotion]
    _check_promotable(row, target)
    await repository.lock_model_kind(session, row.kind)
    for pending in await MODELS.pending_of(session, str(row.id)):
        if pending.kind == promotion:
            return pending
    change = {**_describe(row), "status": target, "status_before": row.status}
    return await MODELS.propose(
        session, subject=str(row.id), kind=promotion, change=change, approver=approver
    )


async def approve(
    session: AsyncSession, proposal_id: uuid.UUID, approver: Approver, comment: str | None
) -> tuple[ModelProposal, ScoringModel]:
    """The proposed model serves (never approved by its author: 403); a model it replaces as
    champion or challenger is retired, and that is in its history too."""
    proposal = await MODELS.pending(session, proposal_id)
    approval = MODELS.check(proposal, approver)
    target = TARGET_STATUS[proposal.kind]
    row = await get_model_or_404(session, uuid.UUID(proposal.subject))
    _check_promotable(row, target)
    await repository.lock_model_kind(session, row.kind)
    replaced = [
        other
        for other in await repository.models_of_kind(session, row.kind)
        if other.status == target and other.id != row.id
    ]
    promoted = await promote(session, row.id, status=target)
    MODELS.approved(session, proposal, approver, approval, comment, detail=proposal.change)
    for other in replaced:
        MODELS.audit(
            session,
            str(other.id),
            "retired",
            actor=approver.subject,
            roles=approver.roles,
            proposal_id=proposal.id,
            comment=f"replaced as {target} by {row.model_version}",
            detail=_describe(other),
        )
    await session.flush()
    return proposal, promoted


async def reject(
    session: AsyncSession, proposal_id: uuid.UUID, approver: Approver, comment: str
) -> ModelProposal:
    """Turn the proposal down with a reason: which models serve does not change."""
    proposal = await MODELS.pending(session, proposal_id)
    MODELS.rejected(session, proposal, approver, comment)
    await session.flush()
    return proposal


async def retire_now(
    session: AsyncSession, model_id: uuid.UUID, approver: Approver
) -> ScoringModel:
    """Retire a candidate or challenger at once (switching a shadow off is not held up);
    audited when it changed something."""
    before = (await get_model_or_404(session, model_id)).status
    row = await retire(session, model_id)
    if before != row.status:
        MODELS.audit(
            session,
            str(row.id),
            "retired",
            actor=approver.subject,
            roles=approver.roles,
            detail={**_describe(row), "status_before": before},
        )
        await session.flush()
    return row


async def history(session: AsyncSession, model_id: uuid.UUID) -> Sequence[ModelAuditEntry]:
    await get_model_or_404(session, model_id)
    return await MODELS.history(session, str(model_id))


async def list_proposals(
    session: AsyncSession, *, status: str | None, model_id: uuid.UUID | None, limit: int
) -> Sequence[ModelProposal]:
    subject = None if model_id is None else str(model_id)
    return await MODELS.list(session, status=status, subject=subject, limit=limit)


__all__ = ["MODELS", "PENDING", "approve", "history", "list_proposals", "propose", "reject"]


async def owners_of(session: AsyncSession, model_id: uuid.UUID) -> list[str]:
    """Who put the model into service: the proposer and approver of its latest approved
    promotion (none for a model serving from the start, promoted by no one)."""
    statement = (
        select(ModelProposal)
        .where(ModelProposal.subject == str(model_id), ModelProposal.status == "approved")
        .order_by(ModelProposal.decided_at.desc().nulls_last())
        .limit(1)
    )
    proposal = (await session.execute(statement)).scalar_one_or_none()
    if proposal is None:
        return []
    return list(dict.fromkeys(p for p in (proposal.proposed_by, proposal.decided_by) if p))
