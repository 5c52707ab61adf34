"""Who may do what in the customer service (the gateway checks its role matrix as well).

Which customers a caller sees is the kit's one rule (`riskwatch_shared.ownership`)."""

from __future__ import annotations

from riskwatch_customer.errors import NotAllowed
from riskwatch_shared.ownership import may_see, owner_scope
from riskwatch_shared.security import Identity

CRM_WRITER_ROLES = ("admin", "risk_manager", "analyst", "relationship_manager", "system")
CRM_READER_ROLES = (*CRM_WRITER_ROLES, "viewer")
INTAKE_ROLES = ("ingest", "admin", "system")
IMPORT_ROLES = ("admin", "risk_manager", "system")


def require_role(identity: Identity, roles: tuple[str, ...], action: str) -> None:
    if not identity.has_role(*roles):
        raise NotAllowed(f"{action} needs one of the roles: {', '.join(roles)}")


__all__ = ["may_see", "owner_scope", "require_role"]
