"""Role checks inside a service, over the role sets of the shared policy table.

The policy table (`riskwatch_shared.policy`) admits a call by its route; a service that must
narrow further inside one route (who may train a model, switch a rule on, lift a measure)
checks here, with the same named sets. The service's own identity (`system`, tools and
development only) passes every check.
"""

from __future__ import annotations

from collections.abc import Iterable

from riskwatch_shared.errors import Forbidden
from riskwatch_shared.policy import (
    ADMIN,
    INTAKE,
    MANAGERS,
    READERS,
    STAFF,
    WORKERS,
    WORKERS_AND_RMS,
)
from riskwatch_shared.security import Identity

SERVICE_ROLE = "system"

__all__ = [
    "ADMIN",
    "INTAKE",
    "MANAGERS",
    "READERS",
    "SERVICE_ROLE",
    "STAFF",
    "WORKERS",
    "WORKERS_AND_RMS",
    "has_any_role",
    "require_role",
]


def has_any_role(identity: Identity, roles: Iterable[str]) -> bool:
    return identity.has_role(*roles, SERVICE_ROLE)


def require_role(
    identity: Identity,
    roles: Iterable[str],
    *,
    action: str | None = None,
    error: type[Forbidden] = Forbidden,
) -> None:
    """Refuse (403, as `error`) a caller holding none of `roles`."""
    if has_any_role(identity, roles):
        return
    needed = ", ".join(sorted(roles))
    raise error(f"{action or 'this'} needs one of the roles: {needed}")
