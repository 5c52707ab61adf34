"""Routes: model proposals (maker-checker for which model serves)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from riskwatch_scoring import model_governance
from riskwatch_scoring.api.common import NOT_FOUND, ScoringDep
from riskwatch_scoring.errors import ModelApprovalNotAllowed
from riskwatch_scoring.models import ModelProposal
from riskwatch_scoring.schemas import ModelProposalOut
from riskwatch_shared.app import IdentityDep, SessionDep
from riskwatch_shared.db.unit_of_work import after_commit
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
    409: {"description": "Already decided, or the model cannot serve (problem+json)"},
    403: {
        "description": "Not a risk manager or admin, or the proposal's own author (problem+json)"
    },
}


def proposal_out(proposal: ModelProposal, approver: Approver) -> ModelProposalOut:
    return ModelProposalOut(
        model_id=uuid.UUID(proposal.subject), **proposal_fields(proposal, approver)
    )


@router.get("/model-proposals", operation_id="scoring-model-proposals-list")
async def list_model_proposals(
    session: SessionDep,
    approver: ApproverDep,
    status: ProposalStatus | None = None,
    model_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ModelProposalOut]:
    """Model proposals, oldest first (`status=pending`: what awaits a second person)."""
    found = await model_governance.list_proposals(
        session, status=status, model_id=model_id, limit=limit
    )
    return [proposal_out(proposal, approver) for proposal in found]


@router.get(
    "/model-proposals/{proposal_id}",
    operation_id="scoring-model-proposals-get",
    responses=NOT_FOUND,
)
async def get_model_proposal(
    proposal_id: uuid.UUID, session: SessionDep, approver: ApproverDep
) -> ModelProposalOut:
    """One model proposal."""
    return proposal_out(await model_governance.MODELS.get(session, proposal_id), approver)


@router.post(
    "/model-proposals/{proposal_id}/approve",
    operation_id="scoring-model-proposals-approve",
    responses=DECIDE,
)
async def approve_model_proposal(
    proposal_id: uuid.UUID,
    session: SessionDep,
    scoring: ScoringDep,
    approver: ApproverDep,
    identity: IdentityDep,
    body: ProposalDecision | None = None,
) -> ModelProposalOut:
    """Approve a pending proposal: the model serves as proposed. Never by its author."""
    require_checker(identity, noun="model", error=ModelApprovalNotAllowed)
    comment = None if body is None else body.comment
    proposal, _ = await model_governance.approve(session, proposal_id, approver, comment)
    after_commit(session, scoring.model_cache.invalidate)
    return proposal_out(proposal, approver)


@router.post(
    "/model-proposals/{proposal_id}/reject",
    operation_id="scoring-model-proposals-reject",
    responses=DECIDE,
)
async def reject_model_proposal(
    proposal_id: uuid.UUID,
    body: ProposalRejection,
    session: SessionDep,
    approver: ApproverDep,
    identity: IdentityDep,
) -> ModelProposalOut:
    """Reject a pending proposal with a reason; which models serve stays as it is."""
    require_checker(identity, noun="model", error=ModelApprovalNotAllowed)
    proposal = await model_governance.reject(session, proposal_id, approver, body.comment)
    return proposal_out(proposal, approver)
