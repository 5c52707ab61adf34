"""Routes: rule proposals (maker-checker) and a rule's governance history."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from riskwatch_alerting import rule_governance, service
from riskwatch_alerting.api.common import CONFLICT, NOT_FOUND, ApproverDep
from riskwatch_alerting.errors import ApprovalNotAllowed
from riskwatch_alerting.models import RuleProposal
from riskwatch_alerting.schemas import (
    ProposalDecision,
    ProposalOut,
    ProposalRejection,
    ProposalStatus,
    RuleAuditOut,
)
from riskwatch_shared.app import IdentityDep, SessionDep
from riskwatch_shared.roles import MANAGERS, require_role
from riskwatch_shared.security import Identity

router = APIRouter()

DECIDE: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    **CONFLICT,
    403: {
        "description": "Not a risk manager or admin, or the proposal's own author (problem+json)"
    },
}


def _out(proposal: RuleProposal, approver: rule_governance.Approver) -> ProposalOut:
    out = ProposalOut.model_validate(proposal)
    out.self_approval_allowed = approver.allow_self_approval
    return out


def _require_checker(identity: Identity) -> None:
    """Risk managers and admins decide proposals (the service's own identity passes)."""
    require_role(identity, MANAGERS, action="deciding a rule proposal", error=ApprovalNotAllowed)


@router.get("/rule-proposals", operation_id="alerting-rule-proposals-list")
async def list_proposals(
    session: SessionDep,
    approver: ApproverDep,
    status: ProposalStatus | None = None,
    rule_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ProposalOut]:
    """Rule proposals, oldest first (`status=pending`: what awaits a second person)."""
    found = await rule_governance.list_proposals(
        session, status=status, rule_id=rule_id, limit=limit
    )
    return [_out(proposal, approver) for proposal in found]


@router.get(
    "/rule-proposals/{proposal_id}",
    operation_id="alerting-rule-proposals-get",
    responses=NOT_FOUND,
)
async def get_proposal(
    proposal_id: uuid.UUID, session: SessionDep, approver: ApproverDep
) -> ProposalOut:
    """One rule proposal (the proposed version: GET /v1/rules/{id}/versions/{version})."""
    return _out(await rule_governance.get_proposal(session, proposal_id), approver)


@router.post(
    "/rule-proposals/{proposal_id}/approve",
    operation_id="alerting-rule-proposals-approve",
    responses=DECIDE,
)
async def approve_proposal(
    proposal_id: uuid.UUID,
    session: SessionDep,
    approver: ApproverDep,
    identity: IdentityDep,
    body: ProposalDecision | None = None,
) -> ProposalOut:
    """Approve a pending proposal: its version goes live (with `rollout_percent`, for that
    share of customers first). Never by its author."""
    _require_checker(identity)
    proposal = await service.approve_proposal(
        session,
        proposal_id,
        approver=approver,
        comment=None if body is None else body.comment,
        rollout_percent=None if body is None else body.rollout_percent,
    )
    return _out(proposal, approver)


@router.post(
    "/rule-proposals/{proposal_id}/reject",
    operation_id="alerting-rule-proposals-reject",
    responses=DECIDE,
)
async def reject_proposal(
    proposal_id: uuid.UUID,
    body: ProposalRejection,
    session: SessionDep,
    approver: ApproverDep,
    identity: IdentityDep,
) -> ProposalOut:
    """Reject a pending proposal with a reason; the live rule stays as it is."""
    _require_checker(identity)
    proposal = await service.reject_proposal(
        session, proposal_id, approver=approver, comment=body.comment
    )
    return _out(proposal, approver)


@router.get("/rules/{rule_id}/history", operation_id="alerting-rules-history", responses=NOT_FOUND)
async def rule_history(rule_id: uuid.UUID, session: SessionDep) -> list[RuleAuditOut]:
    """Every governance step of a rule: proposed, approved (and how), rejected, disabled."""
    await service.get_rule(session, rule_id)
    entries = await rule_governance.history_of(session, rule_id)
    return [RuleAuditOut.model_validate(entry) for entry in entries]
