"""Alerts as a caller may see them: account numbers, counterparty accounts and IP addresses in
the evidence, summary, dedup value and timeline masked unless the caller may unmask. Pure."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TypeVar

from riskwatch_alerting.schemas import AlertDetail, AlertOut, TimelineEntryOut
from riskwatch_shared.masking import mask_mapping, mask_named_values, mask_tail
from riskwatch_shared.security import Identity

AlertT = TypeVar("AlertT", AlertOut, AlertDetail)


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def mask_dedup_value(value: str) -> str:
    """`<customer id>:GB29NWBK...` -> `<customer id>:****6819`: ids show, other parts do not."""
    parts = value.split(":")
    if all(_is_uuid(part) for part in parts):
        return value
    shown = [part for part in parts if _is_uuid(part)]
    return ":".join([*shown, mask_tail(value)])


def alert_for(alert: AlertT, identity: Identity) -> AlertT:
    """`alert` as `identity` may see it."""
    if identity.may_unmask:
        return alert
    masked = alert.model_copy(
        update={
            "evidence": mask_mapping(alert.evidence),
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


def timeline_for(entries: Sequence[TimelineEntryOut], identity: Identity) -> list[TimelineEntryOut]:
    if identity.may_unmask:
        return list(entries)
    return [entry.model_copy(update={"detail": mask_mapping(entry.detail)}) for entry in entries]
