"""Suppressions as pure logic: which (rule, target) pairs are snoozed, checked per match.

The index is built from the active suppressions when their version counter moves (as the
compiled rules are), so the event path asks a dict, not the database.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

TargetKind = Literal["customer", "account", "counterparty"]
TARGET_KINDS: tuple[str, ...] = get_args(TargetKind)


@dataclass(frozen=True)
class ActiveSuppression:
    rule_id: uuid.UUID
    target_kind: str
    target_value: str
    until: datetime


def targets_of(customer_id: uuid.UUID | None, txn: dict[str, Any]) -> list[tuple[str, str]]:
    """The (kind, value) targets an evaluated event concerns."""
    targets = []
    if customer_id is not None:
        targets.append(("customer", str(customer_id)))
    if txn.get("account_id"):
        targets.append(("account", str(txn["account_id"])))
    if txn.get("counterparty_account"):
        targets.append(("counterparty", str(txn["counterparty_account"])))
    return targets


def normalise_target(kind: str, value: str) -> str:
    """Accounts and counterparties compare without spaces and case (IBANs are written both
    ways); customer ids as canonical UUIDs."""
    if kind == "customer":
        return str(uuid.UUID(value))
    return "".join(value.split()).upper()


class SuppressionIndex:
    """rule id -> target -> until (the latest, when several overlap)."""

    def __init__(self, suppressions: Iterable[ActiveSuppression] = ()) -> None:
        self._by_rule: dict[uuid.UUID, dict[tuple[str, str], datetime]] = {}
        for s in suppressions:
            targets = self._by_rule.setdefault(s.rule_id, {})
            key = (s.target_kind, normalise_target(s.target_kind, s.target_value))
            targets[key] = max(s.until, targets.get(key, s.until))

    def __bool__(self) -> bool:
        return bool(self._by_rule)

    def suppressed(
        self,
        rule_id: uuid.UUID,
        customer_id: uuid.UUID | None,
        txn: dict[str, Any],
        now: datetime,
    ) -> bool:
        targets = self._by_rule.get(rule_id)
        if not targets:
            return False
        for kind, value in targets_of(customer_id, txn):
            until = targets.get(
                (kind, value if kind == "customer" else normalise_target(kind, value))
            )
            if until is not None and until > now:
                return True
        return False
