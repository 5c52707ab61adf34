"""Audit trail entries: what changed, before and after, personal data masked. Pure."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from riskwatch_customer.domain.masking import PERSONAL_FIELDS, mask_field


def jsonable(value: Any) -> Any:
    """A value as JSON can hold it without losing precision (money stays a decimal string)."""
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(item) for item in value]
    return value


def _shown(field: str, value: Any) -> Any:
    if field in PERSONAL_FIELDS and isinstance(value, str):
        return mask_field(field, value)
    return jsonable(value)


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """`{field: {"before": ..., "after": ...}}` for every field of `after` whose value changed."""
    return {
        field: {"before": _shown(field, before.get(field)), "after": _shown(field, value)}
        for field, value in after.items()
        if before.get(field) != value
    }


def created(after: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The changes of a new record: every field from nothing."""
    return diff({}, {field: value for field, value in after.items() if value is not None})


def entry(
    *,
    customer_id: uuid.UUID,
    entity_type: str,
    entity_id: uuid.UUID,
    action: str,
    actor: str,
    changes: dict[str, dict[str, Any]],
    at: datetime,
) -> dict[str, Any]:
    """One row of the audit log."""
    return {
        "customer_id": customer_id,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "action": action,
        "actor": actor,
        "changes": changes,
        "at": at,
    }
