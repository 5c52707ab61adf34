"""Who may do what in the customer service (the gateway checks its role matrix as well).

Which customers a caller sees is the kit's one rule (`riskwatch_shared.ownership`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from riskwatch_customer.errors import NotAllowed
from riskwatch_shared import roles
from riskwatch_shared.ownership import may_see, owner_scope
from riskwatch_shared.security import Identity


class ExactSearch(Protocol):
    @property
    def document_number(self) -> str | None: ...

    @property
    def phone(self) -> str | None: ...


# The policy table's sets (the service's own identity passes every check).
CRM_WRITER_ROLES = roles.WORKERS_AND_RMS
CRM_READER_ROLES = roles.STAFF
INTAKE_ROLES = roles.INTAKE
IMPORT_ROLES = roles.MANAGERS
MEASURE_ROLES = roles.WORKERS


def require_role(identity: Identity, allowed: Iterable[str], action: str) -> None:
    """The kit's check, refused as this service's `NotAllowed`."""
    roles.require_role(identity, allowed, action=action, error=NotAllowed)


def require_unmasking_for_exact_search(identity: Identity, search: ExactSearch) -> None:
    """Searching by an exact document number or phone confirms the value: only for callers
    who see those unmasked anyway (a masked role could otherwise test guesses one by one)."""
    if (search.document_number is not None or search.phone is not None) and (
        not identity.may_unmask
    ):
        raise NotAllowed("searching by document number or phone needs a role that may unmask")


__all__ = ["may_see", "owner_scope", "require_role", "require_unmasking_for_exact_search"]
