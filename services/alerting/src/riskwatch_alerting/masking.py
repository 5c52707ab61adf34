"""Alerts as a caller may see them: account numbers, counterparty accounts and IP addresses in
the evidence, summary, dedup value and timeline masked unless the caller may unmask. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from riskwatch_alerting.schemas import AlertDetail, AlertOut, TimelineEntryOut
from riskwatch_shared.masking import mask_mapping, mask_named_values, mask_tail, mask_value
from riskwatch_shared.security import Identity

AlertT = TypeVar("AlertT", AlertOut, AlertDetail)


def mask_dedup_value(value: str) -> str:
    """`customer_id=<id>|txn.counterparty_account=GB29...` with the account (or IP) parts
    masked, as `evaluation.dedup_value` renders it."""
    parts = []
    for part in value.split("|"):
        name, equals, shown = part.partition("=")
        parts.append(f"{name}={mask_value(name, shown)}" if equals else part)
    return "|".join(parts)


def alert_for(alert: AlertT, identity: Identity) -> AlertT:
    """`alert` as `identity` may see it."""
    if identity.may_unmask:
        return alert
    masked = alert.model_copy(
        update={
            "evidence": mask_mapping(alert.evidence),
            "message_params": mask_mapping(alert.message_params),
            "summary": mask_named_values(alert.summary),
            "dedup_value": mask_dedup_value(alert.dedup_value),
        }
    )
    if isinstance(masked, AlertDetail):
        masked.occurrences = [
            occurrence.model_copy(update={"evidence": mask_mapping(occurrence.evidence)})
            for occurrence in masked.occurrences
        ]
    return masked


def mask_detail(detail: Mapping[str, Any]) -> dict[str, Any]:
    """A timeline entry's detail masked; a value a measure put on a managed list (an account,
    a device, an IP) shows its tail only."""
    masked = mask_mapping(detail)
    if isinstance(masked.get("list_value"), str):
        masked["list_value"] = mask_tail(masked["list_value"])
    return masked


def timeline_for(entries: Sequence[TimelineEntryOut], identity: Identity) -> list[TimelineEntryOut]:
    if identity.may_unmask:
        return list(entries)
    return [entry.model_copy(update={"detail": mask_detail(entry.detail)}) for entry in entries]
