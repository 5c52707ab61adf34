"""Maker-checker for escalation policies (issue 23): replacing or removing the policy of a
severity is a proposal; someone other than its author approves it, and only then does it
change. The live policy keeps paging while one is pending. Every step is in the severity's
history (`escalation_policy_audit`), written in the transaction of the change itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_notify import repository, service
from riskwatch_notify.errors import (
    EscalationPolicyNotFound,
    PolicyProposalNotFound,
    PolicyProposalNotPending,
    PolicySelfApprovalNotAllowed,
)
from riskwatch_notify.models import EscalationPolicyAuditEntry, EscalationPolicyProposal
from riskwatch_notify.schemas import EscalationPolicyIn
from riskwatch_shared.db.governance import Governed
from riskwatch_shared.governance import Approver

POLICIES: Governed[EscalationPolicyProposal, EscalationPolicyAuditEntry] = Governed(
    proposals=EscalationPolicyProposal,
    audit_entries=EscalationPolicyAuditEntry,
    not_found=PolicyProposalNotFound,
    not_pending=PolicyProposalNotPending,
    self_approval=PolicySelfApprovalNotAllowed,
    noun="escalation policy",
)


async def _live(session: AsyncSession, severity: str) -> dict[str, Any] | None:
    row = await repository.get_policy(session, severity)
    if row is None:
        return None
    return {"levels": row.levels, "repeat": row.repeat, "cycle_seconds": row.cycle_seconds}


async def _propose(
    session: AsyncSession, severity: str, kind: str, change: dict[str, Any], approver: Approver
) -> EscalationPolicyProposal:
    """A later proposal of the severity replaces a pending one (it says the whole policy);
    the same proposal again (a retry) is the pending one."""
    for pending in await POLICIES.pending_of(session, severity):
        if pending.kind == kind and pending.change == change:
            return pending
    return await POLICIES.propose(
        session,
        subject=severity,
        kind=kind,
        change=change,
        approver=approver,
        supersedes=True,
    )


async def propose_put(
    session: AsyncSession, severity: str, body: EscalationPolicyIn, approver: Approver
) -> EscalationPolicyProposal:
    """Propose the whole policy of `severity` (checked now: a bad policy is 422 at once)."""
    policy = await service.validated_policy(session, severity=severity, body=body)
    change = {**policy, "before": await _live(session, severity)}
    return await _propose(session, severity, "put", change, approver)


async def propose_delete(
    session: AsyncSession, severity: str, approver: Approver
) -> EscalationPolicyProposal:
    """Propose removing the policy of `severity` (404 when there is none)."""
    before = await _live(session, severity)
    if before is None:
        raise EscalationPolicyNotFound(f"no escalation policy for {severity}")
    return await _propose(
        session, severity, "delete", {"severity": severity, "before": before}, approver
    )


async def approve(
    session: AsyncSession, proposal_id: uuid.UUID, approver: Approver, comment: str | None
) -> EscalationPolicyProposal:
    """The proposed policy (or its removal) takes effect; alerts raised later use it. Checked
    again: a team or recipient removed while it waited makes it 404/422, still pending."""
    proposal = await POLICIES.pending(session, proposal_id)
    approval = POLICIES.check(proposal, approver)
    severity = proposal.subject
    if proposal.kind == "delete":
        if await _live(session, severity) is not None:
            await service.delete_policy(session, severity=severity)
    else:
        change = proposal.change
        body = EscalationPolicyIn.model_validate(
            {
                "levels": change["levels"],
                "repeat": change["repeat"],
                "cycle_seconds": change["cycle_seconds"],
            }
        )
        await service.put_policy(session, severity=severity, body=body)
    POLICIES.approved(session, proposal, approver, approval, comment)
    await session.flush()
    return proposal


async def reject(
    session: AsyncSession, proposal_id: uuid.UUID, approver: Approver, comment: str
) -> EscalationPolicyProposal:
    """Turn the proposal down with a reason: the live policy stays as it is."""
    proposal = await POLICIES.pending(session, proposal_id)
    POLICIES.rejected(session, proposal, approver, comment)
    await session.flush()
    return proposal


async def history(session: AsyncSession, severity: str) -> Sequence[EscalationPolicyAuditEntry]:
    return await POLICIES.history(session, severity)


async def list_proposals(
    session: AsyncSession, *, status: str | None, severity: str | None, limit: int
) -> Sequence[EscalationPolicyProposal]:
    return await POLICIES.list(session, status=status, subject=severity, limit=limit)
