"""What the route modules share: declared error responses and the acting identity."""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import Depends

from riskwatch_alerting.config import Settings
from riskwatch_alerting.rule_governance import Approver
from riskwatch_shared.app import IdentityDep, RuntimeDep
from riskwatch_shared.security import Identity

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "Not found (problem+json)"}}
# Empty description: the kit's standard 422 text (riskwatch_shared.contract) applies.
INVALID: dict[int | str, dict[str, Any]] = {422: {"description": ""}}
RULE_INVALID: dict[int | str, dict[str, Any]] = {
    422: {
        "description": (
            "Invalid rule or payload; a condition's errors carry line and column (problem+json)"
        )
    }
}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "Not allowed in the current state (problem+json)"}
}


def actor_of(identity: Identity) -> str:
    return identity.subject


async def _approver_dependency(identity: IdentityDep, runtime: RuntimeDep) -> Approver:
    settings = cast(Settings, runtime.settings)
    return Approver.of(identity, allow_self_approval=settings.allow_self_approval)


# Who acts on a rule, with this install's self-approval setting (maker-checker).
ApproverDep = Annotated[Approver, Depends(_approver_dependency)]
