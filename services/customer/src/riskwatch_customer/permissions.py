"""Who may do what in the customer service (the gateway checks its role matrix as well)."""

from __future__ import annotations

from typing import Protocol

from riskwatch_customer.errors import NotAllowed
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
# Matches no relationship manager: an RM-only caller without a staff id sees nobody.
_NOBODY = "\x00"


def require_role(identity: Identity, roles: tuple[str, ...], action: str) -> None:
    if not identity.has_role(*roles):
        raise NotAllowed(f"{action} needs one of the roles: {', '.join(roles)}")


def owner_scope(identity: Identity) -> str | None:
    """The relationship manager a caller is confined to, or None when they see everyone.

    An RM is known to the CRM by their staff id, or by their subject when they have none.
    """
    if identity.is_relationship_manager_only:
        return identity.staff_id or identity.subject or _NOBODY
    return None


def may_see(identity: Identity, relationship_manager: str | None) -> bool:
    owner = owner_scope(identity)
    return owner is None or relationship_manager == owner


def require_unmasking_for_exact_search(identity: Identity, search: ExactSearch) -> None:
    """Searching by an exact document number or phone confirms the value: only for callers
    who see those unmasked anyway (a masked role could otherwise test guesses one by one)."""
    if (search.document_number is not None or search.phone is not None) and (
        not identity.may_unmask
    ):
        raise NotAllowed("searching by document number or phone needs a role that may unmask")
