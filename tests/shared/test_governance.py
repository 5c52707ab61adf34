"""The shared maker-checker rules (riskwatch_shared.governance): who may approve, the
proposal's life, the audit entry's shape, and the loud warning of a self-approving install."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest
from structlog.testing import capture_logs

from riskwatch_shared.governance import (
    SERVICE_APPROVER,
    Approver,
    ProposalAlreadyDecided,
    SelfApprovalRefused,
    approval_of,
    audit_step,
    decide,
)
from riskwatch_shared.governance_api import warn_self_approval
from riskwatch_shared.security import Identity

MAKER = Approver(subject="maker", roles=("risk_manager",))
CHECKER = Approver(subject="checker", roles=("admin",))


def test_the_author_never_approves_unless_named() -> None:
    authors = frozenset({"maker"})
    assert approval_of(authors=authors, approver=CHECKER) == "four_eyes"
    with pytest.raises(SelfApprovalRefused):
        approval_of(authors=authors, approver=MAKER)
    assert approval_of(authors=authors, approver=MAKER, system_configuration=True) == (
        "system_configuration"
    )
    lenient = Approver(subject="maker", roles=(), allow_self_approval=True)
    assert approval_of(authors=authors, approver=lenient) == "self"
    assert approval_of(authors=frozenset({"system"}), approver=SERVICE_APPROVER) == "service"


def test_a_user_token_claiming_the_service_role_is_not_the_service() -> None:
    user = Identity(subject="system", roles=("system",), kind="user")
    approver = Approver.of(user, allow_self_approval=False)
    assert not approver.is_service
    with pytest.raises(SelfApprovalRefused):
        approval_of(authors=frozenset({"system"}), approver=approver)


def test_only_a_pending_proposal_is_decided() -> None:
    assert decide("pending", "approved") == "approved"
    assert decide("pending", "superseded") == "superseded"
    for done in ("approved", "rejected", "superseded"):
        with pytest.raises(ProposalAlreadyDecided):
            decide(done, "rejected")


def test_audit_step_shape() -> None:
    step = audit_step("approved", actor="checker", roles=("admin", "risk_manager"), comment="ok")
    assert step["actor_roles"] == "admin,risk_manager"
    assert set(step) == {
        "action",
        "actor",
        "actor_roles",
        "proposal_id",
        "comment",
        "detail",
        "occurred_at",
    }
    assert step["occurred_at"].tzinfo is not None


async def test_self_approval_is_announced_at_every_start() -> None:
    hook = warn_self_approval("NOTIFY_ALLOW_SELF_APPROVAL", "escalation policy changes")
    with capture_logs() as quiet:
        await hook(cast(Any, SimpleNamespace(settings=SimpleNamespace(allow_self_approval=False))))
    assert quiet == []
    with capture_logs() as loud:
        await hook(cast(Any, SimpleNamespace(settings=SimpleNamespace(allow_self_approval=True))))
    assert loud[0]["log_level"] == "warning"
    assert loud[0]["event"] == "governance.self_approval_allowed"
    assert "NOTIFY_ALLOW_SELF_APPROVAL" in loud[0]["warning"]
