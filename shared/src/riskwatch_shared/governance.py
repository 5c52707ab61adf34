"""Maker-checker, shared by every service that governs a change (pure: no I/O).

Banks do not let one person change what watches their money: a change of a rule, of a managed
list used by active rules, of an escalation policy or of which model serves is a *proposal*
that someone other than its author approves or rejects, with a comment. Each service keeps its
own proposal and audit tables; what is the same everywhere lives here:

- the proposal's life: `pending`, then `approved`, `rejected` or `superseded` (`decide`);
- who may approve (`approval_of`): never an author, except the named cases the audit records
  (`service`: the services' own identity; `system_configuration`: what ships with the release;
  `self`: a one-person development install that turned `<SVC>_ALLOW_SELF_APPROVAL` on);
- the loud warning such an install logs at every start (`self_approval_warning`);
- the audit entry's shape (`audit_step`) and the API's shapes (`ProposalDecision`,
  `ProposalRejection`, `ProposalFields`, `AuditOut`), so every kind reads like the rules'.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from riskwatch_shared.security import Identity
from riskwatch_shared.text import SafeMultilineText

Approval = Literal["four_eyes", "self", "system_configuration", "service"]
ProposalStatus = Literal["pending", "approved", "rejected", "superseded"]
Decision = Literal["approved", "rejected", "superseded"]

PENDING: Final = "pending"
# The services' own role (riskwatch_shared.roles.SERVICE_ROLE; roles is not pure).
SERVICE_ROLE: Final = "system"


class SelfApprovalRefused(Exception):
    """The approver wrote (part of) the change they would put live."""


class ProposalAlreadyDecided(Exception):
    """Only a pending proposal can be approved, rejected or superseded."""


@dataclass(frozen=True, slots=True)
class Approver:
    """Who acts on a governed thing, and whether this install allows self-approval."""

    subject: str
    roles: tuple[str, ...]
    is_service: bool = False
    allow_self_approval: bool = False

    @classmethod
    def of(cls, identity: Identity, *, allow_self_approval: bool) -> Approver:
        return cls(
            subject=identity.subject,
            roles=tuple(identity.roles),
            is_service=identity.kind == "service" and SERVICE_ROLE in identity.roles,
            allow_self_approval=allow_self_approval,
        )


# The services' own identity, for tools and tests that call a service layer directly.
SERVICE_APPROVER = Approver(subject="system", roles=(SERVICE_ROLE,), is_service=True)


def approval_of(
    *,
    authors: frozenset[str],
    approver: Approver,
    system_configuration: bool = False,
) -> Approval:
    """How `approver` may approve a change `authors` wrote, or SelfApprovalRefused."""
    if approver.is_service:
        return "service"
    if approver.subject not in authors:
        return "four_eyes"
    if system_configuration:
        return "system_configuration"
    if approver.allow_self_approval:
        return "self"
    raise SelfApprovalRefused(
        f"{approver.subject} wrote (part of) this change and cannot approve it: another person "
        "with approve rights must"
    )


def decide(status: str, decision: Decision) -> Decision:
    """The proposal's next status; only a pending proposal is decided."""
    if status != PENDING:
        raise ProposalAlreadyDecided(f"the proposal is already {status}")
    return decision


def roles_text(roles: Iterable[str]) -> str:
    return ",".join(roles)


def audit_step(
    action: str,
    *,
    actor: str,
    roles: Iterable[str] = (),
    proposal_id: uuid.UUID | None = None,
    comment: str | None = None,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The columns of one audit entry (every service's `<thing>_audit` table has them):
    what happened (`proposed`, `superseded`, `approved`, `rejected`, `applied`, ...), who did
    it with which roles, the proposal, the reason and what changed."""
    return {
        "action": action,
        "actor": actor,
        "actor_roles": roles_text(roles),
        "proposal_id": proposal_id,
        "comment": comment,
        "detail": detail,
        "occurred_at": datetime.now(UTC),
    }


def self_approval_warning(env_var: str, what: str) -> str:
    """What a service with self-approval on says at every start (a warning, never hidden)."""
    return (
        f"MAKER-CHECKER OFF: {env_var} is on, an author may approve their own {what}. "
        "For a one-person development install only, never production."
    )


# --- the API's shapes, the same for every governed kind -----------------------------------


class ProposalDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: SafeMultilineText | None = Field(default=None, max_length=2_000)


class ProposalRejection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: SafeMultilineText = Field(min_length=1, max_length=2_000)


class ProposalFields(BaseModel):
    """What every proposal shows (each kind adds what it changes)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    status: str
    proposed_by: str
    proposed_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    comment: str | None
    approval: str | None = Field(
        description="How it was approved: `four_eyes`, `self` (ALLOW_SELF_APPROVAL), "
        "`system_configuration` (shipped with the release) or `service`"
    )
    self_approval_allowed: bool = Field(
        default=False,
        description="True when this install lets an author approve their own change "
        "(<SVC>_ALLOW_SELF_APPROVAL, a one-person development install only)",
    )


class AuditOut(BaseModel):
    """One step of a governed thing's history."""

    model_config = ConfigDict(from_attributes=True)

    proposal_id: uuid.UUID | None
    action: str
    actor: str
    actor_roles: str
    comment: str | None
    detail: dict[str, Any] | None = None
    occurred_at: datetime
