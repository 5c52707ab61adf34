"""Maker-checker in a service's API: the acting approver (with this install's self-approval
setting), who may decide proposals, and the loud warning of an install that lets authors
approve their own changes. The rules are `riskwatch_shared.governance`'s."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends

from riskwatch_shared.app import IdentityDep, RuntimeDep, ServiceRuntime
from riskwatch_shared.db.governance import ProposalColumns
from riskwatch_shared.errors import Forbidden
from riskwatch_shared.governance import Approver, self_approval_warning
from riskwatch_shared.logging import get_logger
from riskwatch_shared.roles import MANAGERS, require_role
from riskwatch_shared.security import Identity


def allows_self_approval(runtime: ServiceRuntime) -> bool:
    """`<SVC>_ALLOW_SELF_APPROVAL` of the service (off unless the service's settings say)."""
    return bool(getattr(runtime.settings, "allow_self_approval", False))


async def _approver_dependency(identity: IdentityDep, runtime: RuntimeDep) -> Approver:
    return Approver.of(identity, allow_self_approval=allows_self_approval(runtime))


# Who proposes or decides, with this install's self-approval setting.
ApproverDep = Annotated[Approver, Depends(_approver_dependency)]


def proposal_fields(proposal: ProposalColumns, approver: Approver) -> dict[str, Any]:
    """What every kind's proposal answer shows, from its row; each kind adds its subject
    (a list's or a model's id, a severity) under its own name."""
    return {
        "id": proposal.id,
        "kind": proposal.kind,
        "change": proposal.change,
        "status": proposal.status,
        "proposed_by": proposal.proposed_by,
        "proposed_at": proposal.proposed_at,
        "decided_by": proposal.decided_by,
        "decided_at": proposal.decided_at,
        "comment": proposal.comment,
        "approval": proposal.approval,
        "self_approval_allowed": approver.allow_self_approval,
    }


def require_checker(identity: Identity, *, noun: str, error: type[Forbidden]) -> None:
    """Risk managers and admins decide proposals (the service's own identity passes); whether
    this one may decide this proposal (not its author) is checked with the proposal."""
    require_role(identity, MANAGERS, action=f"deciding a {noun} proposal", error=error)


def warn_self_approval(env_var: str, what: str) -> Callable[[ServiceRuntime], Awaitable[None]]:
    """A start hook: when self-approval is on, say so with a warning at every start."""

    async def warn(runtime: ServiceRuntime) -> None:
        if allows_self_approval(runtime):
            # A logger of this start: a module-level one is cached at first use and would
            # keep what the logging setup was then.
            get_logger(__name__).warning(
                "governance.self_approval_allowed", warning=self_approval_warning(env_var, what)
            )

    return warn
