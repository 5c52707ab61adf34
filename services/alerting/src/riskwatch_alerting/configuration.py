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

from riskwatch_alerting import list_governance, rule_governance, service
from riskwatch_alerting.errors import ImportConflict
from riskwatch_alerting.models import ListEntry, ManagedList, Rule
from riskwatch_alerting.rule_governance import Approver
from riskwatch_alerting.schemas import (
    Body,
    ListCreate,
    ListUpdate,
    RuleCreate,
    RuleStatus,
    RuleUpdate,
)
from riskwatch_shared.config_bundle import (
    ImportMode,
    ObjectDiff,
    diff_collection,
    field_changes,
)
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


# --- import ------------------------------------------------------------------------------

RULE_CONTENT: tuple[str, ...] = tuple(RuleCreate.model_fields)


def _created(diff: ObjectDiff, wanted: dict[str, Any]) -> None:
    """A created object's diff lists every field it will have (from nothing)."""
    diff.changes = field_changes({}, {k: v for k, v in wanted.items() if k != "id"})


def plan(
    section: AlertingSection,
    rules: dict[str, dict[str, Any]],
    lists: dict[str, dict[str, Any]],
) -> tuple[list[ObjectDiff], list[ObjectDiff]]:
    """The diff of the lists and of the rules (pure); a list whose name another list of this
    install has is a conflict the apply refuses (409)."""
    wanted_lists = {str(m.id): list_config_record(m) for m in section.lists}
    wanted_rules = {str(r.id): rule_config_record(r) for r in section.rules}
    list_diffs = diff_collection("list", lists, wanted_lists)
    names = {record["name"]: key for key, record in lists.items()}
    for diff in list_diffs:
        if diff.action == "create":
            _created(diff, wanted_lists[diff.key])
            holder = names.get(diff.name)
            if holder is not None and holder != diff.key:
                diff.note = f"conflict: list {holder} of this install has the name {diff.name!r}"
    rule_diffs = diff_collection("rule", rules, wanted_rules)
    for diff in rule_diffs:
        if diff.action == "create":
            _created(diff, wanted_rules[diff.key])
    return list_diffs, rule_diffs


async def import_section(
    session: AsyncSession, section: AlertingSection, *, mode: ImportMode, approver: Approver
) -> list[ObjectDiff]:
    """Dry-run: the diff, nothing stored. Apply: lists first (rules read them), through the
    lists' maker-checker; rules as proposals a second person approves, except switching one
    off, which is immediate. Every step is in the list's or the rule's history."""
    list_diffs, rule_diffs = plan(
        section, await current_rules(session), await current_lists(session)
    )
    if mode == "apply":
        conflicts = [d.note for d in list_diffs if d.note and d.note.startswith("conflict")]
        if conflicts:
            raise ImportConflict(str(conflicts[0]))
        lists = {str(m.id): m for m in section.lists}
        for diff in list_diffs:
            if diff.action in ("create", "change"):
                await _apply_list(session, diff, lists[diff.key], approver)
        rules = {str(r.id): r for r in section.rules}
        for diff in rule_diffs:
            if diff.action in ("create", "change"):
                await _apply_rule(session, diff, rules[diff.key], approver)
    return list_diffs + rule_diffs


async def _apply_list(
    session: AsyncSession, diff: ObjectDiff, wanted: ListConfig, approver: Approver
) -> None:
    """Through the lists' maker-checker (`list_governance`): a list an active rule names
    changes only once a second person approves; any other changes at once. Either way the
    step is in the list's history (`list_audit`)."""
    proposals = []
    if diff.action == "create":
        data = ListCreate.model_validate(wanted.model_dump(exclude={"id"}))
        _managed, proposal = await list_governance.create(
            session, data, approver, list_id=wanted.id
        )
        proposals.append(proposal)
    else:
        changed = {change.field for change in diff.changes}
        if changed & {"kind", "description"}:
            update = ListUpdate.model_validate(
                {"kind": wanted.kind, "description": wanted.description}
            )
            proposals.append(await list_governance.update(session, wanted.id, update, approver))
        if "entries" in changed:
            entries = [(entry.value, entry.note) for entry in wanted.entries]
            proposals.append(
                await list_governance.load(session, wanted.id, entries, "replace", approver)
            )
        if "name" in changed:
            diff.note = "an import does not rename a list (rules name it): left as it is"
    opened = [proposal for proposal in proposals if proposal is not None]
    if opened:
        diff.applied, diff.proposal_id = "proposal", str(opened[-1].id)
        diff.note = "an active rule names it: awaits a second person (GET /v1/list-proposals)"
    elif proposals:
        diff.applied = "direct"


async def _apply_rule(
    session: AsyncSession, diff: ObjectDiff, wanted: RuleConfig, approver: Approver
) -> None:
    content = wanted.model_dump(include=set(RULE_CONTENT))
    if diff.action == "create":
        rule = await service.create_rule(
            session,
            data=RuleCreate.model_validate(content),
            actor=approver.subject,
            template_key=wanted.template_key,
            approver=approver,
            rule_id=wanted.id,
            infer_template=False,
        )
    else:
        rule = await service.get_rule(session, wanted.id, for_update=True)
        if "template_key" in {change.field for change in diff.changes}:
            diff.note = "the template a rule came from is not changed by an import"
        changed = {change.field for change in diff.changes} & set(RULE_CONTENT)
        if changed:
            update = RuleUpdate.model_validate({name: content[name] for name in changed})
            rule = await service.update_rule(
                session, rule.id, changes=update, actor=approver.subject, approver=approver
            )
        elif wanted.status == "active" and rule.status != "active":
            # Switching a rule (back) on is approving it: a proposal of its current version.
            await rule_governance.open_proposal(
                session,
                rule_id=rule.id,
                rule_name=rule.name,
                version=rule.version,
                kind="change",
                actor=approver.subject,
                roles=approver.roles,
            )
    pending = await rule_governance.pending_of(session, rule.id)
    if wanted.status == "disabled":
        if rule.status != "disabled":
            await service.set_rule_status(
                session,
                rule.id,
                status="disabled",
                actor=approver.subject,
                approver=approver,
                comment="configuration import",
            )
        # Switched off in the bundle: nothing waits to switch it on.
        await rule_governance.supersede_pending(
            session, rule.id, actor=approver.subject, roles=approver.roles
        )
        diff.applied = "direct"
        diff.note = "switched off at once (audited in the rule's history)"
        return
    if wanted.status == "draft" and rule.status != "draft":
        diff.note = "a rule never returns to draft; its status is left as it is"
    if pending:
        diff.applied, diff.proposal_id = "proposal", str(pending[-1].id)
        if wanted.status == "draft":
            diff.note = "a draft in the bundle: approving its proposal switches it on"
        else:
            diff.note = "awaits a second person's approval (GET /v1/rule-proposals)"
