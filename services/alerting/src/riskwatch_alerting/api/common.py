"""What the route modules share: declared error responses and the acting identity."""

from __future__ import annotations

from typing import Any

from riskwatch_shared.security import Identity

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "Not found (problem+json)"}}
INVALID: dict[int | str, dict[str, Any]] = {
    422: {"description": "Invalid rule or payload; condition errors carry line and column"}
}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "Not allowed in the current state (problem+json)"}
}


def actor_of(identity: Identity) -> str:
    return identity.subject
