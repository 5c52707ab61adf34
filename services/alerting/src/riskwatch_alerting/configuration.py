"""Configuration as code, alerting's section: rules (their live definition and message
templates) and managed lists (with their entries).

Exported: what an install is configured to do, keyed by each object's UUID, in a fixed order.
Not exported: who changed what when (`created_by`, `updated_at`, the version history and its
numbers): that is this install's audit trail, and the importing install keeps its own (the
import is a proposal by the importer, approved by a second person).
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_alerting.models import ListEntry, ManagedList, Rule
from riskwatch_alerting.schemas import Body, ListCreate, RuleCreate, RuleStatus
from riskwatch_shared.text import SafeText

SERVICE = "alerting"
MAX_RULES = 5_000
MAX_LISTS = 1_000
# The rule's fields a bundle carries, beside its id and status (RuleCreate's, in its order).
RULE_FIELDS: tuple[str, ...] = (*RuleCreate.model_fields, "template_key")


class RuleConfig(RuleCreate):
    id: uuid.UUID
    status: RuleStatus
    template_key: SafeText | None = Field(default=None, max_length=80)


class ListConfig(ListCreate):
    id: uuid.UUID


class AlertingSection(Body):
    rules: list[RuleConfig] = Field(default_factory=list, max_length=MAX_RULES)
    lists: list[ListConfig] = Field(default_factory=list, max_length=MAX_LISTS)


def rule_record(rule: Rule) -> dict[str, Any]:
    record: dict[str, Any] = {name: getattr(rule, name) for name in RULE_FIELDS}
    return {**record, "id": str(rule.id), "status": rule.status}


def rule_config_record(rule: RuleConfig) -> dict[str, Any]:
    """A bundle's rule in the exported shape (defaults filled in), to compare with the live."""
    return {**rule.model_dump(mode="json", include={*RULE_FIELDS, "status"}), "id": str(rule.id)}


def list_record(managed: ManagedList, entries: list[tuple[str, str | None]]) -> dict[str, Any]:
    return {
        "id": str(managed.id),
        "name": managed.name,
        "kind": managed.kind,
        "description": managed.description,
        "entries": [{"value": value, "note": note} for value, note in sorted(entries)],
    }


def list_config_record(managed: ListConfig) -> dict[str, Any]:
    entries = {entry.value: entry.note for entry in managed.entries}
    return {
        "id": str(managed.id),
        "name": managed.name,
        "kind": managed.kind,
        "description": managed.description,
        "entries": [{"value": value, "note": note} for value, note in sorted(entries.items())],
    }


async def current_rules(session: AsyncSession) -> dict[str, dict[str, Any]]:
    # Sorted here, not by the database: its collation may differ between installs.
    rules = sorted((await session.scalars(select(Rule))).all(), key=lambda r: (r.name, str(r.id)))
    return {str(rule.id): rule_record(rule) for rule in rules}


async def current_lists(session: AsyncSession) -> dict[str, dict[str, Any]]:
    lists = sorted((await session.scalars(select(ManagedList))).all(), key=lambda m: m.name)
    entries: dict[uuid.UUID, list[tuple[str, str | None]]] = {m.id: [] for m in lists}
    rows = await session.execute(select(ListEntry.list_id, ListEntry.value, ListEntry.note))
    for list_id, value, note in rows.all():
        entries.setdefault(list_id, []).append((value, note))
    return {str(m.id): list_record(m, entries[m.id]) for m in lists}


async def export_section(session: AsyncSession) -> dict[str, Any]:
    """Rules by name then id, lists by name (unique), entries by value."""
    return {
        "rules": list((await current_rules(session)).values()),
        "lists": list((await current_lists(session)).values()),
    }
