"""Routes: managed list proposals (maker-checker for lists active rules name)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from riskwatch_alerting import list_governance
from riskwatch_alerting.api.common import CONFLICT, NOT_FOUND
from riskwatch_alerting.errors import ListApprovalNotAllowed
from riskwatch_alerting.models import ListProposal
from riskwatch_alerting.schemas import ListProposalOut
from riskwatch_shared.app import IdentityDep, SessionDep
from riskwatch_shared.governance import (
    Approver,
    ProposalDecision,
    ProposalRejection,
    ProposalStatus,
)
from riskwatch_shared.governance_api import ApproverDep, proposal_fields, require_checker

router = APIRouter()

DECIDE: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    **CONFLICT,
    403: {
        "description": "Not a risk manager or admin, or the proposal's own author (problem+json)"
    },
}


def list_proposal_out(proposal: ListProposal, approver: Approver) -> ListProposalOut:
    return ListProposalOut(
        list_id=uuid.UUID(proposal.subject), **proposal_fields(proposal, approver)
    )


@router.get("/list-proposals", operation_id="alerting-list-proposals-list")
async def list_list_proposals(
    session: SessionDep,
    approver: ApproverDep,
    status: ProposalStatus | None = None,
    list_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ListProposalOut]:
    """List proposals, oldest first (`status=pending`: what awaits a second person)."""
    found = await list_governance.list_proposals(
        session, status=status, list_id=list_id, limit=limit
    )
    return [list_proposal_out(proposal, approver) for proposal in found]


@router.get(
    "/list-proposals/{proposal_id}",
    operation_id="alerting-list-proposals-get",
    responses=NOT_FOUND,
)
async def get_list_proposal(
    proposal_id: uuid.UUID, session: SessionDep, approver: ApproverDep
) -> ListProposalOut:
    """One list proposal."""
    return list_proposal_out(await list_governance.LISTS.get(session, proposal_id), approver)


@router.post(
    "/list-proposals/{proposal_id}/approve",
    operation_id="alerting-list-proposals-approve",
    responses=DECIDE,
)
async def approve_list_proposal(
    proposal_id: uuid.UUID,
    session: SessionDep,
    approver: ApproverDep,
    identity: IdentityDep,
    body: ProposalDecision | None = None,
) -> ListProposalOut:
    """Approve a pending proposal: the list changes as proposed. Never by its author."""
    require_checker(identity, noun="list", error=ListApprovalNotAllowed)
    comment = None if body is None else body.comment
    proposal = await list_governance.approve(session, proposal_id, approver, comment)
    return list_proposal_out(proposal, approver)


@router.post(
    "/list-proposals/{proposal_id}/reject",
    operation_id="alerting-list-proposals-reject",
    responses=DECIDE,
)
async def reject_list_proposal(
    proposal_id: uuid.UUID,
    body: ProposalRejection,
    session: SessionDep,
    approver: ApproverDep,
    identity: IdentityDep,
) -> ListProposalOut:
    """Reject a pending proposal with a reason; the list stays as it is."""
    require_checker(identity, noun="list", error=ListApprovalNotAllowed)
    proposal = await list_governance.reject(session, proposal_id, approver, body.comment)
    return list_proposal_out(proposal, approver)
