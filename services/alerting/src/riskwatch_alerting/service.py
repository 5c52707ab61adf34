"""Rules (immutable versions, change history), templates, managed lists and backtests."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_alerting import repository, rule_governance
from riskwatch_alerting.domain.evaluation import ActiveRule, InvalidDedupKey, validate_dedup_key
from riskwatch_alerting.domain.evaluation_input import TRIGGER_EVENT_TYPES
from riskwatch_alerting.errors import (
    DuplicateList,
    InvalidCondition,
    InvalidRuleDefinition,
    ListNotFound,
    ProposalNotPending,
    RolloutNotPossible,
    RuleNotFound,
    RuleStatusConflict,
    RuleVersionNotFound,
    TemplateNotFound,
)
from riskwatch_alerting.models import ListEntry, ManagedList, Rule, RuleProposal, RuleVersion
from riskwatch_alerting.pipeline import active_rule_of
from riskwatch_alerting.replay import (
    DEFINITION_FIELDS,
    backtest_out,
    replay_history,
    rule_of_definition,
)
from riskwatch_alerting.rule_governance import SERVICE_APPROVER, Approver
from riskwatch_alerting.rules import CompiledRule, RuleError, compile_rule
from riskwatch_alerting.rules.templates import TEMPLATES_BY_KEY, RuleTemplate, template_key_of
from riskwatch_alerting.schemas import (
    BacktestOut,
    DraftBacktest,
    DraftRule,
    ListCreate,
    ListUpdate,
    RuleCreate,
    RuleUpdate,
    TemplateInstantiate,
)
from riskwatch_shared.events.alerting import RuleChangeRejected
from riskwatch_shared.messages import PARAMETERS, TemplateError, template_parameters
from riskwatch_shared.messaging.outbox import add_events

VERSIONED_FIELDS: tuple[str, ...] = (
    "name",
    "rule_type",
    "severity",
    "status",
    "trigger_event_types",
    "condition",
    "dedup_key",
    "cooldown_seconds",
    "owner_team",
    "description",
    "suggested_actions",
    "template_key",
    "title_template",
    "summary_template",
)
_STATUS_MOVES: dict[str, frozenset[str]] = {
    "active": frozenset({"draft", "disabled"}),
    "disabled": frozenset({"draft", "active"}),
}


# --- rules ----------------------------------------------------------------------------------


def check_condition(condition: str, *, field: str = "condition") -> CompiledRule:
    """Compile `condition` or raise InvalidCondition pointing at its line and column."""
    try:
        return compile_rule(condition)
    except RuleError as exc:
        raise InvalidCondition.from_rule_error(exc, field=field) from exc


def check_words(title_template: str | None, summary_template: str | None) -> None:
    """A rule's own title and summary may use only the known message parameters."""
    for field, template in (
        ("title_template", title_template),
        ("summary_template", summary_template),
    ):
        if template is None:
            continue
        try:
            template_parameters(template)
        except TemplateError as exc:
            raise InvalidRuleDefinition(str(exc), field=field, allowed=sorted(PARAMETERS)) from exc


def check_definition(trigger_event_types: Sequence[str], dedup_key: str) -> None:
    unknown = [t for t in trigger_event_types if t not in TRIGGER_EVENT_TYPES]
    if unknown:
        raise InvalidRuleDefinition(
            f"unknown trigger event types: {', '.join(unknown)}",
            field="trigger_event_types",
            allowed=list(TRIGGER_EVENT_TYPES),
        )
    try:
        validate_dedup_key(dedup_key)
    except InvalidDedupKey as exc:
        raise InvalidRuleDefinition(str(exc), field="dedup_key") from exc


def _snapshot(rule: Rule) -> dict[str, Any]:
    return {name: getattr(rule, name) for name in VERSIONED_FIELDS}


async def _record_version(
    session: AsyncSession, rule: Rule, changed_fields: list[str], actor: str
) -> None:
    session.add(
        RuleVersion(
            rule_id=rule.id,
            version=rule.version,
            snapshot=_snapshot(rule),
            changed_fields=changed_fields,
            changed_by=actor,
            changed_at=rule.updated_at,
        )
    )
    await repository.bump_cache_version(session, repository.RULES_CACHE)
    await session.flush()


async def create_rule(
    session: AsyncSession,
    *,
    data: RuleCreate,
    actor: str,
    template_key: str | None = None,
    approver: Approver = SERVICE_APPROVER,
    rule_id: uuid.UUID | None = None,
    infer_template: bool = True,
) -> Rule:
    """A new rule is a draft and a proposal (`create`): live once someone else approves it.
    `rule_id` and `infer_template=False` (the template key as given, even none): the rule as
    another install has it (a configuration import)."""
    check_condition(data.condition)
    check_definition(data.trigger_event_types, data.dedup_key)
    check_words(data.title_template, data.summary_template)
    now = datetime.now(UTC)
    rule = Rule(
        id=rule_id or uuid.uuid4(),
        version=1,
        status="draft",
        template_key=template_key
        or (template_key_of(data.rule_type, data.condition) if infer_template else None),
        created_at=now,
        created_by=actor,
        updated_at=now,
        updated_by=actor,
        **data.model_dump(),
    )
    session.add(rule)
    await session.flush()
    await _record_version(session, rule, ["created"], actor)
    await rule_governance.open_proposal(
        session,
        rule_id=rule.id,
        rule_name=rule.name,
        version=1,
        kind="create",
        actor=actor,
        roles=approver.roles,
    )
    return rule


async def get_rule(session: AsyncSession, rule_id: uuid.UUID, *, for_update: bool = False) -> Rule:
    rule = await repository.get_rule(session, rule_id, for_update=for_update)
    if rule is None:
        raise RuleNotFound(f"no rule {rule_id}")
    return rule


async def update_rule(
    session: AsyncSession,
    rule_id: uuid.UUID,
    *,
    changes: RuleUpdate,
    actor: str,
    approver: Approver = SERVICE_APPROVER,
) -> Rule:
    """A draft or disabled rule changes in place (a new version). An active rule does not:
    the change becomes a draft version (`pending_version`, building on an earlier pending
    draft if there is one) and the live version keeps running unchanged until an admin
    activates the draft."""
    rule = await get_rule(session, rule_id, for_update=True)
    pending = await _pending_snapshot(session, rule)
    base = pending if pending is not None else _snapshot(rule)
    given = changes.model_dump(exclude_unset=True)
    changed = [name for name, value in given.items() if base[name] != value]
    if not changed and (pending is None or rule.status == "active"):
        return rule
    if "condition" in given:
        check_condition(given["condition"])
    check_definition(
        given.get("trigger_event_types", base["trigger_event_types"]),
        given.get("dedup_key", base["dedup_key"]),
    )
    check_words(given.get("title_template"), given.get("summary_template"))
    target = {**base, **given}
    if rule.status == "active":
        await _record_draft(session, rule, {**target, "status": "draft"}, changed, actor)
        assert rule.pending_version is not None
        await rule_governance.open_proposal(
            session,
            rule_id=rule.id,
            rule_name=str(target["name"]),
            version=rule.pending_version,
            kind="change",
            actor=actor,
            roles=approver.roles,
        )
        return rule
    # Not live: the edit (on top of a draft left pending when the rule was switched off)
    # applies to the rule itself.
    target["status"] = rule.status
    fields = [name for name in VERSIONED_FIELDS if getattr(rule, name) != target[name]]
    rule.pending_version = None
    if not fields:
        await session.flush()
        return rule
    for name in fields:
        setattr(rule, name, target[name])
    await _new_version(session, rule, fields, actor)
    kind: Literal["create", "change"] = "create" if rule.status == "draft" else "change"
    await rule_governance.open_proposal(
        session,
        rule_id=rule.id,
        rule_name=rule.name,
        version=rule.version,
        kind=kind,
        actor=actor,
        roles=approver.roles,
    )
    return rule


async def _pending_snapshot(session: AsyncSession, rule: Rule) -> dict[str, Any] | None:
    if rule.pending_version is None:
        return None
    found = await repository.get_version(session, rule.id, rule.pending_version)
    return None if found is None else _full_snapshot(found.snapshot)


def _full_snapshot(snapshot: dict[str, Any]) -> dict[str, Any]:
    """A stored snapshot with the fields versions did not have yet (None)."""
    return {**dict.fromkeys(VERSIONED_FIELDS), **snapshot}


async def _record_draft(
    session: AsyncSession, rule: Rule, snapshot: dict[str, Any], changed: list[str], actor: str
) -> Rule:
    """A draft version of a live rule: stored, not evaluated (the rules cache is untouched)."""
    version = await repository.latest_version(session, rule.id) + 1
    session.add(
        RuleVersion(
            rule_id=rule.id,
            version=version,
            snapshot=snapshot,
            changed_fields=changed,
            changed_by=actor,
            changed_at=datetime.now(UTC),
        )
    )
    rule.pending_version = version
    await session.flush()
    return rule


async def _new_version(session: AsyncSession, rule: Rule, changed: list[str], actor: str) -> Rule:
    rule.version = await repository.latest_version(session, rule.id) + 1
    rule.updated_at = datetime.now(UTC)
    rule.updated_by = actor
    await session.flush()
    await _record_version(session, rule, changed, actor)
    return rule


async def set_rule_status(
    session: AsyncSession,
    rule_id: uuid.UUID,
    *,
    status: str,
    actor: str,
    approver: Approver = SERVICE_APPROVER,
    comment: str | None = None,
) -> Rule:
    """Activating a rule with a pending draft activates the draft. Activating is approving
    (maker-checker): the author of what goes live cannot do it. Disabling is immediate."""
    rule = await get_rule(session, rule_id, for_update=True)
    if status == "active" and rule.pending_version is not None:
        return await _activate(session, rule, rule.pending_version, actor, approver, comment)
    if rule.status == status:
        return rule
    if rule.status not in _STATUS_MOVES[status]:
        raise RuleStatusConflict(f"a {rule.status} rule cannot become {status}")
    if status == "active":
        check_condition(rule.condition)
        await _approve(session, rule, rule.version, _snapshot(rule), approver, comment)
    else:
        rule_governance.audit(
            session,
            rule.id,
            status,
            actor=actor,
            roles=approver.roles,
            version=rule.version,
            comment=comment,
        )
    rule.status = status
    return await _new_version(session, rule, ["status"], actor)


async def _content_authors(
    session: AsyncSession, rule_id: uuid.UUID, version: int
) -> frozenset[str]:
    """Who wrote what `version` holds: its pending proposal's authors, else the author of the
    last version up to it that changed more than the status (a rollback, a re-enable)."""
    authors = await rule_governance.proposal_authors(session, rule_id, version)
    if authors is not None:
        return authors
    versions = [v for v in await repository.list_versions(session, rule_id) if v.version <= version]
    for found in reversed(versions):
        if set(found.changed_fields) - {"status"}:
            return frozenset({found.changed_by})
    return frozenset(v.changed_by for v in versions[-1:])


async def _approve(
    session: AsyncSession,
    rule: Rule,
    version: int,
    snapshot: dict[str, Any],
    approver: Approver,
    comment: str | None,
) -> None:
    """Refuse (403) an author approving their own version; else record the approval."""
    authors = await _content_authors(session, rule.id, version)
    approval = rule_governance.check_approval(approver, authors=authors, snapshot=snapshot)
    proposal_id = await rule_governance.mark_approved(
        session,
        rule.id,
        version,
        rule_name=str(snapshot.get("name") or rule.name),
        approver=approver,
        approval=approval,
        comment=comment,
    )
    rule_governance.audit(
        session,
        rule.id,
        "approved",
        actor=approver.subject,
        roles=approver.roles,
        version=version,
        proposal_id=proposal_id,
        comment=f"[{approval}] {comment}" if comment else f"[{approval}]",
    )


async def activate_version(
    session: AsyncSession,
    rule_id: uuid.UUID,
    version: int,
    *,
    actor: str,
    approver: Approver = SERVICE_APPROVER,
    comment: str | None = None,
) -> Rule:
    """Make one version (a pending draft, or an earlier version to roll back to) the live
    rule: recorded as a new version, the one alerts from now on name."""
    rule = await get_rule(session, rule_id, for_update=True)
    return await _activate(session, rule, version, actor, approver, comment)


async def _activate(
    session: AsyncSession,
    rule: Rule,
    version: int,
    actor: str,
    approver: Approver,
    comment: str | None,
) -> Rule:
    target = await _version_target(session, rule, version)
    await _approve(session, rule, version, target, approver, comment)
    if rule.rollout_version is not None:  # another version goes live for everyone
        _end_rollout(session, rule, "rollout_superseded", actor=actor, roles=approver.roles)
    return await _go_live(session, rule, version, target, actor)


async def _version_target(session: AsyncSession, rule: Rule, version: int) -> dict[str, Any]:
    """The stored `version` as the live rule would hold it (checked to still compile)."""
    found = await repository.get_version(session, rule.id, version)
    if found is None:
        raise RuleVersionNotFound(f"rule {rule.id} has no version {version}")
    target = {**_full_snapshot(found.snapshot), "status": "active"}
    check_condition(target["condition"])
    check_definition(target["trigger_event_types"], target["dedup_key"])
    return target


async def _go_live(
    session: AsyncSession, rule: Rule, version: int, target: dict[str, Any], actor: str
) -> Rule:
    changed = [name for name in VERSIONED_FIELDS if getattr(rule, name) != target[name]]
    if version == rule.pending_version:
        rule.pending_version = None
    if not changed:
        await session.flush()
        return rule
    for name in changed:
        setattr(rule, name, target[name])
    return await _new_version(session, rule, changed, actor)


async def approve_proposal(
    session: AsyncSession,
    proposal_id: uuid.UUID,
    *,
    approver: Approver,
    comment: str | None,
    rollout_percent: int | None = None,
) -> RuleProposal:
    """Make a pending proposal's version live (not by its author: 403), or, with
    `rollout_percent` below 100, live for that share of customers (a change of an active
    rule: the live version keeps evaluating for the others)."""
    proposal = await _pending_proposal(session, proposal_id)
    rule = await get_rule(session, proposal.rule_id, for_update=True)
    if rollout_percent is None or rollout_percent >= 100:
        await _activate(session, rule, proposal.version, approver.subject, approver, comment)
    else:
        await _start_rollout(session, rule, proposal, rollout_percent, approver, comment)
    await session.refresh(proposal)
    return proposal


# --- percentage rollouts --------------------------------------------------------------------


async def _start_rollout(
    session: AsyncSession,
    rule: Rule,
    proposal: RuleProposal,
    percent: int,
    approver: Approver,
    comment: str | None,
) -> None:
    if rule.status != "active" or proposal.kind != "change":
        raise RolloutNotPossible(
            "only a change of an active rule rolls out beside its live version; approve a new "
            "rule without rollout_percent"
        )
    target = await _version_target(session, rule, proposal.version)
    await _approve(session, rule, proposal.version, target, approver, comment)
    if rule.rollout_version is not None:
        _end_rollout(
            session, rule, "rollout_superseded", actor=approver.subject, roles=approver.roles
        )
    if rule.pending_version == proposal.version:
        rule.pending_version = None
    rule.rollout_version, rule.rollout_percent = proposal.version, percent
    _rollout_audit(session, rule, "rollout_started", approver, f"{percent}% of customers")
    await repository.bump_cache_version(session, repository.RULES_CACHE)
    await session.flush()


async def change_rollout(
    session: AsyncSession, rule_id: uuid.UUID, *, percent: int, approver: Approver
) -> Rule:
    """Move a rollout to `percent` of customers; 100 completes it (the version goes live for
    everyone). Widening it is approving more exposure: not by the version's author."""
    rule = await get_rule(session, rule_id, for_update=True)
    if rule.rollout_version is None or rule.rollout_percent is None:
        raise RolloutNotPossible(f"rule {rule_id} has no rollout in progress")
    version, before = rule.rollout_version, rule.rollout_percent
    if percent == before:  # a retry: nothing moves, nothing to audit
        return rule
    target = await _version_target(session, rule, version)
    if percent > before:
        authors = await _content_authors(session, rule.id, version)
        rule_governance.check_approval(approver, authors=authors, snapshot=target)
    if percent < 100:
        rule.rollout_percent = percent
        _rollout_audit(session, rule, "rollout_changed", approver, f"{before}% -> {percent}%")
        await repository.bump_cache_version(session, repository.RULES_CACHE)
        await session.flush()
        return rule
    rule.rollout_version = rule.rollout_percent = None
    _rollout_audit(session, rule, "rollout_completed", approver, f"{before}% -> 100%", version)
    await repository.bump_cache_version(session, repository.RULES_CACHE)
    return await _go_live(session, rule, version, target, approver.subject)


async def abort_rollout(session: AsyncSession, rule_id: uuid.UUID, *, approver: Approver) -> Rule:
    """End a rollout: the live version evaluates for every customer again (immediate, like
    disabling: taking exposure away is never held up)."""
    rule = await get_rule(session, rule_id, for_update=True)
    if rule.rollout_version is None:
        raise RolloutNotPossible(f"rule {rule_id} has no rollout in progress")
    _end_rollout(session, rule, "rollout_aborted", actor=approver.subject, roles=approver.roles)
    await repository.bump_cache_version(session, repository.RULES_CACHE)
    await session.flush()
    return rule


def _end_rollout(
    session: AsyncSession, rule: Rule, action: str, *, actor: str, roles: Sequence[str]
) -> None:
    rule_governance.audit(
        session,
        rule.id,
        action,
        actor=actor,
        roles=roles,
        version=rule.rollout_version,
        comment=f"was at {rule.rollout_percent}%",
    )
    rule.rollout_version = rule.rollout_percent = None


def _rollout_audit(
    session: AsyncSession,
    rule: Rule,
    action: str,
    approver: Approver,
    comment: str,
    version: int | None = None,
) -> None:
    rule_governance.audit(
        session,
        rule.id,
        action,
        actor=approver.subject,
        roles=approver.roles,
        version=version if version is not None else rule.rollout_version,
        comment=comment,
    )


async def reject_proposal(
    session: AsyncSession, proposal_id: uuid.UUID, *, approver: Approver, comment: str
) -> RuleProposal:
    """Turn a proposal down with a reason; the live rule (if any) is untouched and the draft
    version stays in the history, no longer pending."""
    proposal = await _pending_proposal(session, proposal_id)
    rule = await get_rule(session, proposal.rule_id, for_update=True)
    proposal.status = "rejected"
    proposal.decided_by, proposal.decided_at = approver.subject, datetime.now(UTC)
    proposal.comment = comment
    await rule_governance.stop_shadow(
        session, proposal.id, reason="rejected", actor=approver.subject, roles=approver.roles
    )
    if rule.pending_version == proposal.version:
        rule.pending_version = None
    await add_events(
        session,
        RuleChangeRejected(
            proposal_id=proposal.id,
            rule_id=rule.id,
            rule_name=rule.name,
            version=proposal.version,
            kind="create" if proposal.kind == "create" else "change",
            proposed_by=proposal.proposed_by,
            rejected_by=approver.subject,
            comment=comment,
        ),
    )
    rule_governance.audit(
        session,
        rule.id,
        "rejected",
        actor=approver.subject,
        roles=approver.roles,
        version=proposal.version,
        proposal_id=proposal.id,
        comment=comment,
    )
    await session.flush()
    return proposal


async def _pending_proposal(session: AsyncSession, proposal_id: uuid.UUID) -> RuleProposal:
    proposal = await rule_governance.get_proposal(session, proposal_id, for_update=True)
    if proposal.status != rule_governance.PENDING:
        raise ProposalNotPending(f"proposal {proposal_id} is already {proposal.status}")
    return proposal


async def delete_rule(session: AsyncSession, rule_id: uuid.UUID) -> None:
    """Only a draft that never raised an alert may go; anything else is disabled instead."""
    rule = await get_rule(session, rule_id, for_update=True)
    if rule.status != "draft" or await repository.rule_has_alerts(session, rule_id):
        raise RuleStatusConflict(
            f"a {rule.status} rule, or one that raised alerts, is disabled rather than deleted"
        )
    await session.delete(rule)
    await repository.bump_cache_version(session, repository.RULES_CACHE)
    await session.flush()


async def rule_versions(session: AsyncSession, rule_id: uuid.UUID) -> Sequence[RuleVersion]:
    await get_rule(session, rule_id)
    return await repository.list_versions(session, rule_id)


async def rule_version(session: AsyncSession, rule_id: uuid.UUID, version: int) -> RuleVersion:
    found = await repository.get_version(session, rule_id, version)
    if found is None:
        raise RuleVersionNotFound(f"rule {rule_id} has no version {version}")
    return found


# --- templates ------------------------------------------------------------------------------


def get_template(key: str) -> RuleTemplate:
    template = TEMPLATES_BY_KEY.get(key)
    if template is None:
        raise TemplateNotFound(f"no rule template {key!r}")
    return template


def template_condition(template: RuleTemplate, parameters: Mapping[str, Decimal]) -> str:
    try:
        return template.condition_with(parameters)
    except KeyError as exc:
        raise InvalidRuleDefinition(
            str(exc.args[0]), field="parameters", allowed=sorted(template.parameters)
        ) from exc


async def create_rule_from_template(
    session: AsyncSession,
    *,
    key: str,
    data: TemplateInstantiate,
    actor: str,
    approver: Approver = SERVICE_APPROVER,
) -> Rule:
    template = get_template(key)
    rule = RuleCreate(
        name=data.name or template.name,
        rule_type=template.rule_type,
        severity=data.severity or template.severity,
        trigger_event_types=list(template.trigger_event_types),
        condition=template_condition(template, data.parameters),
        dedup_key=data.dedup_key or template.dedup_key,
        cooldown_seconds=(
            template.cooldown_seconds if data.cooldown_seconds is None else data.cooldown_seconds
        ),
        owner_team=data.owner_team,
        description=template.description,
        suggested_actions=data.suggested_actions,
    )
    return await create_rule(session, data=rule, actor=actor, template_key=key, approver=approver)


# --- managed lists --------------------------------------------------------------------------


async def get_list(session: AsyncSession, list_id: uuid.UUID) -> ManagedList:
    found = await repository.get_list(session, list_id)
    if found is None:
        raise ListNotFound(f"no managed list {list_id}")
    return found


async def _touch_list(session: AsyncSession, managed: ManagedList, actor: str) -> None:
    managed.updated_at = datetime.now(UTC)
    managed.updated_by = actor
    await repository.bump_cache_version(session, repository.LISTS_CACHE)
    await session.flush()


async def create_list(
    session: AsyncSession, *, data: ListCreate, actor: str, list_id: uuid.UUID | None = None
) -> ManagedList:
    if await repository.get_list_by_name(session, data.name) is not None:
        raise DuplicateList(f"a list named {data.name!r} exists")
    now = datetime.now(UTC)
    managed = ManagedList(
        id=list_id or uuid.uuid4(),
        name=data.name,
        kind=data.kind,
        description=data.description,
        created_at=now,
        updated_at=now,
        updated_by=actor,
    )
    session.add(managed)
    await session.flush()
    entries = {entry.value: entry.note for entry in data.entries}
    await repository.upsert_entries(session, managed.id, list(entries.items()), actor)
    await _touch_list(session, managed, actor)
    return managed


async def update_list(
    session: AsyncSession, list_id: uuid.UUID, *, changes: ListUpdate, actor: str
) -> ManagedList:
    managed = await get_list(session, list_id)
    for name, value in changes.model_dump(exclude_unset=True).items():
        setattr(managed, name, value)
    await _touch_list(session, managed, actor)
    return managed


async def delete_list(session: AsyncSession, list_id: uuid.UUID) -> None:
    managed = await get_list(session, list_id)
    await session.delete(managed)
    await repository.bump_cache_version(session, repository.LISTS_CACHE)
    await session.flush()


async def load_entries(
    session: AsyncSession,
    list_id: uuid.UUID,
    *,
    entries: Sequence[tuple[str, str | None]],
    replace: bool,
    actor: str,
) -> tuple[ManagedList, int, int]:
    """Bulk load; returns (list, values loaded, values removed)."""
    managed = await get_list(session, list_id)
    unique = dict(entries)
    removed = 0
    if replace:
        before = await repository.count_entries(session, list_id)
        await repository.delete_entries(session, list_id)
        removed = max(0, before - len(unique))
    await repository.upsert_entries(session, list_id, list(unique.items()), actor)
    await _touch_list(session, managed, actor)
    return managed, len(unique), removed


async def remove_entries(
    session: AsyncSession, list_id: uuid.UUID, *, values: Sequence[str], actor: str
) -> int:
    managed = await get_list(session, list_id)
    removed = await repository.delete_entries(session, list_id, values)
    await _touch_list(session, managed, actor)
    return removed


async def list_entries_page(
    session: AsyncSession,
    list_id: uuid.UUID,
    *,
    after: str | None,
    limit: int,
    search: str | None = None,
) -> Sequence[ListEntry]:
    await get_list(session, list_id)
    return await repository.list_entries(session, list_id, after=after, limit=limit, search=search)


# --- backtests ------------------------------------------------------------------------------


async def backtest_rule(
    session: AsyncSession,
    rule_id: uuid.UUID,
    *,
    start: datetime,
    end: datetime,
    version: int | None = None,
) -> BacktestOut:
    rule = await get_rule(session, rule_id)
    if version is not None and version != rule.version:
        snapshot = (await rule_version(session, rule_id, version)).snapshot
        rule = Rule(id=rule.id, version=version, **snapshot)
    return await _backtest(session, active_rule_of(rule), start=start, end=end)


def draft_definition(draft: DraftRule) -> dict[str, Any]:
    """What a backtest replays of a draft condition (checked: 422 where it is wrong)."""
    check_condition(draft.condition)
    check_definition(draft.trigger_event_types, draft.dedup_key)
    return {"name": "draft", **draft.model_dump(include=set(DEFINITION_FIELDS))}


def rule_definition(rule: Rule | RuleVersion) -> dict[str, Any]:
    """What a backtest replays of a saved rule or one of its versions."""
    source = rule.snapshot if isinstance(rule, RuleVersion) else _snapshot(rule)
    return {name: source[name] for name in DEFINITION_FIELDS}


async def backtest_draft(session: AsyncSession, *, draft: DraftBacktest) -> BacktestOut:
    rule = rule_of_definition(draft_definition(draft), rule_id=None, version=None)
    return await _backtest(session, rule, start=draft.start, end=draft.end, draft=True)


async def _backtest(
    session: AsyncSession, rule: ActiveRule, *, start: datetime, end: datetime, draft: bool = False
) -> BacktestOut:
    result = await replay_history(session, rule, start=start, end=end)
    return backtest_out(rule, result, start=start, end=end, draft=draft)
