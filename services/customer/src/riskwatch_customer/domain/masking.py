"""Masking of personal data (identity documents, phone, email, address; account numbers,
counterparty accounts and IP addresses). Pure functions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from riskwatch_shared.masking import mask_ip
from riskwatch_shared.masking import mask_tail as mask_account

__all__ = ["mask_account", "mask_field", "mask_ip", "mask_transaction"]

MASK = "****"
PERSONAL_FIELDS: frozenset[str] = frozenset({"document_number", "phone", "email", "address"})


def mask_tail(value: str, *, visible: int = 4) -> str:
    """`****1234`: only the last `visible` characters show, never more than half the value."""
    shown = min(visible, len(value) // 2)
    return MASK + value[len(value) - shown :] if shown else MASK


def mask_email(value: str) -> str:
    """`j***@example.com`: the first letter of the local part and the domain show."""
    local, at, domain = value.partition("@")
    if not at:
        return mask_tail(value)
    return f"{local[:1]}***@{domain}"


def mask_address(value: str) -> str:
    """Only the first word (often a building number or town) is hinted at."""
    first_word = value.split(maxsplit=1)[0] if value.strip() else ""
    return f"{first_word[:3]}***" if first_word else MASK


def mask_field(field: str, value: str | None) -> str | None:
    """The masked form of a personal field; other fields are returned unchanged."""
    if value is None or field not in PERSONAL_FIELDS:
        return value
    if field == "email":
        return mask_email(value)
    if field == "address":
        return mask_address(value)
    return mask_tail(value)


TRANSACTION_MASKS = {"counterparty_account": mask_account, "ip_address": mask_ip}


def mask_transaction(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A transaction's fields (a `TransactionData` dict or row) with the counterparty account
    and the client IP masked."""
    masked = dict(fields)
    for name, mask in TRANSACTION_MASKS.items():
        value = masked.get(name)
        if value is not None:
            masked[name] = mask(str(value))
    return masked
