"""Maker-checker for rules (pure): who may approve a proposed rule version, and how the
approval is recorded.

A version's author never approves it; the exceptions are named, so the audit says which one
applied: the services' own identity (tools), a shipped starter template left unmodified
(system configuration, reviewed with the release), and a one-person development install
that turned on `ALERTING_ALLOW_SELF_APPROVAL`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

Approval = Literal["four_eyes", "self", "system_configuration", "service"]


class SelfApprovalRefused(Exception):
    """The approver is the author of the version they would make live."""


def approval_of(
    *,
    authors: frozenset[str],
    approver: str,
    is_service: bool,
    shipped_template: bool,
    allow_self_approval: bool,
) -> Approval:
    """How `approver` may approve a version `authors` wrote (a proposal built on earlier,
    superseded ones has all their authors), or SelfApprovalRefused."""
    if is_service:
        return "service"
    if approver not in authors:
        return "four_eyes"
    if shipped_template:
        return "system_configuration"
    if allow_self_approval:
        return "self"
    raise SelfApprovalRefused(
        f"{approver} wrote (part of) this version and cannot approve it: another person with "
        "approve rights must"
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
