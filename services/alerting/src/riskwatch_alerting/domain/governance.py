"""Maker-checker for rules (pure): who may approve a proposed rule version, and how the
approval is recorded.

A version's author never approves it; the exceptions are named, so the audit says which one
applied: the services' own identity (tools), a shipped starter template left unmodified
(system configuration, reviewed with the release), and a one-person development install
that turned on `ALERTING_ALLOW_SELF_APPROVAL`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from riskwatch_shared.governance import Approval, Approver, SelfApprovalRefused
from riskwatch_shared.governance import approval_of as shared_approval_of

__all__ = ["Approval", "SelfApprovalRefused", "approval_of", "is_shipped_template"]


def approval_of(
    *,
    authors: frozenset[str],
    approver: str,
    is_service: bool,
    shipped_template: bool,
    allow_self_approval: bool,
) -> Approval:
    """How `approver` may approve a version `authors` wrote (a proposal built on earlier,
    superseded ones has all their authors), or SelfApprovalRefused: the rule every governed
    kind shares (`riskwatch_shared.governance`), a shipped template as shipped being the
    rules' system configuration."""
    return shared_approval_of(
        authors=authors,
        approver=Approver(
            subject=approver,
            roles=(),
            is_service=is_service,
            allow_self_approval=allow_self_approval,
        ),
        system_configuration=shipped_template,
    )


def is_shipped_template(
    snapshot: Mapping[str, Any],
    *,
    template_condition: str | None,
    template_triggers: Sequence[str] | None,
) -> bool:
    """The version is a shipped template as shipped: its condition and triggers unchanged
    (the name, severity and words may differ; they do not change what fires)."""
    if template_condition is None or template_triggers is None:
        return False
    return _normal(str(snapshot.get("condition", ""))) == _normal(template_condition) and list(
        snapshot.get("trigger_event_types") or []
    ) == list(template_triggers)


def _normal(condition: str) -> str:
    return " ".join(condition.split())
