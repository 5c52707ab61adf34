"""What every notify route module shares: roles, error declarations, paging parameters."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from riskwatch_notify.errors import NotAllowed
from riskwatch_shared.errors import PROBLEM_RESPONSES
from riskwatch_shared.security import Identity

MANAGERS = ("admin", "risk_manager", "system")
READERS = (*MANAGERS, "analyst", "viewer")
Limit = Annotated[int, Query(ge=1, le=500, description="Page size")]
Cursor = Annotated[str | None, Query(description="`next_cursor` of the previous page")]


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    responses: dict[int | str, dict[str, Any]] = dict(PROBLEM_RESPONSES)
    for code in (401, 403, *codes):
        responses[code] = {"description": "problem+json"}
    return responses


def require(identity: Identity, roles: tuple[str, ...]) -> None:
    if not identity.has_role(*roles):
        raise NotAllowed(f"needs one of the roles {', '.join(roles)}")
