"""Who may do what in the customer service (the gateway checks its role matrix as well).

Which customers a caller sees is the kit's one rule (`riskwatch_shared.ownership`)."""

from __future__ import annotations

from typing import Protocol

from riskwatch_customer.errors import NotAllowed
from riskwatch_shared.ownership import may_see, owner_scope
from riskwatch_shared.security import Identity


class ExactSearch(Protocol):
    @property
    def document_number(self) -> str | None: ...

    @property
    def phone(self) -> str | None: ...


CRM_WRITER_ROLES = ("admin", "risk_manager", "analyst", "relationship_manager", "system")
CRM_READER_ROLES = (*CRM_WRITER_ROLES, "viewer")
INTAKE_ROLES = ("ingest", "admin", "system")
IMPORT_ROLES = ("admin", "risk_manager", "system")


def require_role(identity: Identity, roles: tuple[str, ...], action: str) -> None:
    if not identity.has_role(*roles):
        raise NotAllowed(f"{action} needs one of the roles: {', '.join(roles)}")


def require_unmasking_for_exact_search(identity: Identity, search: ExactSearch) -> None:
    """Searching by an exact document number or phone confirms the value: only for callers
    who see those unmasked anyway (a masked role could otherwise test guesses one by one)."""
    if (search.document_number is not None or search.phone is not None) and (
        not identity.may_unmask
    ):
        raise NotAllowed("searching by document number or phone needs a role that may unmask")


__all__ = ["may_see", "owner_scope", "require_role", "require_unmasking_for_exact_search"]
