"""Masking of account numbers, counterparty accounts and IP addresses for roles that may not
see them (`Identity.may_unmask`), in any service's views. Pure.

Values are recognised by their field name, whichever namespace holds them: `number` of an
account, `counterparty_account`, `ip_address`, and rule-language paths such as
`txn.counterparty_account` or `txn.ip` in an alert's evidence.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

MASK = "****"

ACCOUNT_FIELDS = frozenset({"counterparty_account", "account_number", "iban"})
IP_FIELDS = frozenset({"ip", "ip_address", "client_ip"})
SENSITIVE_FIELDS = ACCOUNT_FIELDS | IP_FIELDS


def mask_tail(value: str, *, visible: int = 4) -> str:
    """`****1234`: only the last `visible` characters show, never more than half the value."""
    shown = min(visible, len(value) // 2)
    return MASK + value[len(value) - shown :] if shown else MASK


def mask_ip(value: str) -> str:
    """The network part only: `192.0.*.*`, `2001:db8:*`; anything else entirely masked."""
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return MASK
    if isinstance(address, ipaddress.IPv4Address):
        first, second, *_ = str(address).split(".")
        return f"{first}.{second}.*.*"
    groups = address.exploded.split(":")
    return f"{int(groups[0], 16):x}:{int(groups[1], 16):x}:*"


def _leaf(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def is_sensitive(name: str) -> bool:
    """Whether a field (or a rule path such as `txn.ip`) holds an account number or an IP."""
    return _leaf(name) in SENSITIVE_FIELDS


def mask_value(name: str, value: Any) -> Any:
    """`value` masked when `name` is an account or IP field; other values as they are."""
    if value is None or not is_sensitive(name):
        return value
    text = str(value)
    return mask_ip(text) if _leaf(name) in IP_FIELDS else mask_tail(text)


def mask_mapping(values: Mapping[str, Any]) -> dict[str, Any]:
    """A copy with every account number and IP masked, nested mappings and lists included."""
    return {name: _masked_item(name, value) for name, value in values.items()}


def _masked_item(name: str, value: Any) -> Any:
    if isinstance(value, Mapping):
        return mask_mapping(value)
    if isinstance(value, list):
        return [_masked_item(name, item) for item in value]
    return mask_value(name, value)


_NAMED_VALUE = re.compile(r"(?P<name>[\w.]+) = (?P<value>[^,()]*)")


def mask_named_values(text: str) -> str:
    """`txn.counterparty_account = GB29...` in a text (an alert summary) masked the same way."""

    def masked(match: re.Match[str]) -> str:
        name, value = match.group("name"), match.group("value")
        return f"{name} = {mask_value(name, value)}" if is_sensitive(name) else match.group()

    return _NAMED_VALUE.sub(masked, text)
