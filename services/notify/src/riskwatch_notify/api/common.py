"""What every notify route module shares: roles, error declarations, paging parameters."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import Query

from riskwatch_notify.errors import NotAllowed
from riskwatch_shared import roles
from riskwatch_shared.errors import PROBLEM_RESPONSES
from riskwatch_shared.security import Identity

# The policy table's sets (the service's own identity passes every check).
MANAGERS = roles.MANAGERS
READERS = roles.READERS
Limit = Annotated[int, Query(ge=1, le=500, description="Page size")]
Cursor = Annotated[str | None, Query(description="`next_cursor` of the previous page")]


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    responses: dict[int | str, dict[str, Any]] = dict(PROBLEM_RESPONSES)
    for code in (401, 403, *codes):
        responses[code] = {"description": "problem+json"}
    return responses


def require(identity: Identity, allowed: Iterable[str]) -> None:
    """The kit's check, refused as this service's `NotAllowed`."""
    roles.require_role(identity, allowed, error=NotAllowed)
