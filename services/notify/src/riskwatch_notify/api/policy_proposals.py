"""Routes: escalation policy proposals (maker-checker for who is paged, and when)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from riskwatch_notify import policy_governance
from riskwatch_notify.api.common import READERS, errors, require
from riskwatch_notify.errors import PolicyApprovalNotAllowed
from riskwatch_notify.models import EscalationPolicyProposal
from riskwatch_notify.schemas import EscalationPolicyProposalOut
from riskwatch_shared.app import IdentityDep, SessionDep
from riskwatch_shared.governance import (
    Approver,
    ProposalDecision,
    ProposalRejection,
    ProposalStatus,
)
from riskwatch_shared.governance_api import ApproverDep, proposal_fields, require_checker
from riskwatch_shared.risk import RiskLevelName

router = APIRouter()


def policy_proposal_out(
    proposal: EscalationPolicyProposal, approver: Approver
) -> EscalationPolicyProposalOut:
    return EscalationPolicyProposalOut(
        severity=proposal.subject, **proposal_fields(proposal, approver)
    )


@router.get(
    "/escalation-policy-proposals",
    operation_id="notify-escalation-policy-proposals-list",
    responses=errors(),
)
async def list_policy_proposals(
    session: SessionDep,
    approver: ApproverDep,
    identity: IdentityDep,
    status: ProposalStatus | None = None,
    severity: RiskLevelName | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[EscalationPolicyProposalOut]:
    """Escalation policy proposals, oldest first (`status=pending`: what awaits a second
    person)."""
    require(identity, READERS)
    found = await policy_governance.list_proposals(
        session, status=status, severity=severity, limit=limit
    )
    return [policy_proposal_out(proposal, approver) for proposal in found]


@router.get(
    "/escalation-policy-proposals/{proposal_id}",
    operation_id="notify-escalation-policy-proposals-get",
    responses=errors(404),
)
async def get_policy_proposal(
    proposal_id: uuid.UUID, session: SessionDep, approver: ApproverDep, identity: IdentityDep
) -> EscalationPolicyProposalOut:
    """One escalation policy proposal."""
    require(identity, READERS)
    proposal = await policy_governance.POLICIES.get(session, proposal_id)
    return policy_proposal_out(proposal, approver)


@router.post(
    "/escalation-policy-proposals/{proposal_id}/approve",
    operation_id="notify-escalation-policy-proposals-approve",
    responses=errors(404, 409),
)
async def approve_policy_proposal(
    proposal_id: uuid.UUID,
    session: SessionDep,
    approver: ApproverDep,
    identity: IdentityDep,
    body: ProposalDecision | None = None,
) -> EscalationPolicyProposalOut:
    """Approve a pending proposal: the policy changes as proposed. Never by its author."""
    require_checker(identity, noun="escalation policy", error=PolicyApprovalNotAllowed)
    comment = None if body is None else body.comment
    proposal = await policy_governance.approve(session, proposal_id, approver, comment)
    return policy_proposal_out(proposal, approver)


@router.post(
    "/escalation-policy-proposals/{proposal_id}/reject",
    operation_id="notify-escalation-policy-proposals-reject",
    responses=errors(404, 409),
)
async def reject_policy_proposal(
    proposal_id: uuid.UUID,
    body: ProposalRejection,
    session: SessionDep,
    approver: ApproverDep,
    identity: IdentityDep,
) -> EscalationPolicyProposalOut:
    """Reject a pending proposal with a reason; the live policy stays as it is."""
    require_checker(identity, noun="escalation policy", error=PolicyApprovalNotAllowed)
    proposal = await policy_governance.reject(session, proposal_id, approver, body.comment)
    return policy_proposal_out(proposal, approver)
