"""Routes: rules (versions, history, status), rule templates and backtests."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from riskwatch_alerting import repository, service
from riskwatch_alerting.api.common import (
    CONFLICT,
    INVALID,
    NOT_FOUND,
    RULE_INVALID,
    ApproverDep,
)
from riskwatch_alerting.errors import ActivationNotAllowed
from riskwatch_alerting.models import Rule
from riskwatch_alerting.rules import FIELD_CATALOGUE
from riskwatch_alerting.rules.templates import TEMPLATES, RuleTemplate
from riskwatch_alerting.schemas import (
    MAX_VERSION,
    BacktestOut,
    BacktestRange,
    ConditionCheck,
    ConditionCheckOut,
    DraftBacktest,
    FieldOut,
    RuleCreate,
    RuleOut,
    RuleStatus,
    RuleUpdate,
    RuleVersionOut,
    StatusChange,
    TemplateInstantiate,
    TemplateOut,
)
from riskwatch_shared.app import IdentityDep, SessionDep
from riskwatch_shared.events.common import RuleType
from riskwatch_shared.roles import ADMIN, require_role
from riskwatch_shared.security import Identity

router = APIRouter()

Version = Annotated[int, Path(ge=1, le=MAX_VERSION, description="A version number")]
FORBIDDEN: dict[int | str, dict[str, Any]] = {
    403: {
        "description": "Only an admin switches rules on and off, and never makes live a "
        "version they wrote (maker-checker; problem+json)"
    }
}


def _require_switcher(identity: Identity) -> None:
    """Only an admin switches a rule on or off (a version going live), as the policy says."""
    require_role(identity, ADMIN, action="switching a rule on or off", error=ActivationNotAllowed)


# --- rules ----------------------------------------------------------------------------------


@router.get("/rules", operation_id="alerting-rules-list")
async def list_rules(
    session: SessionDep,
    status: RuleStatus | None = None,
    rule_type: RuleType | None = None,
) -> list[RuleOut]:
    """List rules, oldest first, optionally by status and type."""
    rules = await repository.list_rules(session, status=status, rule_type=rule_type)
    return [RuleOut.model_validate(rule) for rule in rules]


@router.post(
    "/rules", status_code=201, operation_id="alerting-rules-create", responses=RULE_INVALID
)
async def create_rule(body: RuleCreate, session: SessionDep, approver: ApproverDep) -> RuleOut:
    """Create a draft rule, proposed for approval (GET /v1/rule-proposals); the condition is
    type-checked before it is saved."""
    rule = await service.create_rule(session, data=body, actor=approver.subject, approver=approver)
    await session.flush()
    return RuleOut.model_validate(rule)


@router.post("/rules/validate", operation_id="alerting-rules-validate", responses=RULE_INVALID)
async def validate_condition(body: ConditionCheck) -> ConditionCheckOut:
    """Check a condition without saving it: what it reads, or where it is wrong."""
    compiled = service.check_condition(body.condition)
    return ConditionCheckOut(
        valid=True,
        fields=list(compiled.fields),
        aggregates=[spec.label for spec in compiled.aggregates],
        lists=list(compiled.lists),
    )


@router.get("/rule-fields", operation_id="alerting-rule-fields-list")
async def list_rule_fields() -> list[FieldOut]:
    """Every field a condition may read, with its type."""
    return [
        FieldOut(path=spec.path, type=str(spec.type), description=spec.description)
        for spec in FIELD_CATALOGUE.values()
    ]


@router.get("/rules/{rule_id}", operation_id="alerting-rules-get", responses=NOT_FOUND)
async def get_rule(rule_id: uuid.UUID, session: SessionDep) -> RuleOut:
    """One rule's current version."""
    return RuleOut.model_validate(await service.get_rule(session, rule_id))


@router.patch(
    "/rules/{rule_id}",
    operation_id="alerting-rules-update",
    responses={**NOT_FOUND, **RULE_INVALID},
)
async def update_rule(
    rule_id: uuid.UUID, body: RuleUpdate, session: SessionDep, approver: ApproverDep
) -> RuleOut:
    """Change a rule: a new immutable version records who changed which fields.

    A draft or disabled rule changes at once. An active rule keeps running as it is: the
    change is a draft version (`pending_version`), proposed for approval: it goes live when
    someone other than its author approves it.
    """
    rule = await service.update_rule(
        session, rule_id, changes=body, actor=approver.subject, approver=approver
    )
    await session.flush()
    return RuleOut.model_validate(rule)


@router.delete(
    "/rules/{rule_id}",
    status_code=204,
    operation_id="alerting-rules-delete",
    responses={**NOT_FOUND, **CONFLICT},
)
async def delete_rule(rule_id: uuid.UUID, session: SessionDep, identity: IdentityDep) -> Response:
    """Delete a draft that never raised an alert (other rules are disabled instead)."""
    await service.delete_rule(session, rule_id)
    return Response(status_code=204)


async def _set_status(
    session: SessionDep,
    rule_id: uuid.UUID,
    status: str,
    approver: ApproverDep,
    body: StatusChange | None,
) -> RuleOut:
    rule: Rule = await service.set_rule_status(
        session,
        rule_id,
        status=status,
        actor=approver.subject,
        approver=approver,
        comment=None if body is None else body.reason,
    )
    await session.flush()
    return RuleOut.model_validate(rule)


@router.post(
    "/rules/{rule_id}/activate",
    operation_id="alerting-rules-activate",
    responses={**NOT_FOUND, **CONFLICT, **FORBIDDEN},
)
async def activate_rule(
    rule_id: uuid.UUID,
    session: SessionDep,
    identity: IdentityDep,
    approver: ApproverDep,
    body: StatusChange | None = None,
) -> RuleOut:
    """Activate a rule, or its pending draft version (admins only, never the author of what
    goes live: it approves the pending proposal); the actor is recorded."""
    _require_switcher(identity)
    return await _set_status(session, rule_id, "active", approver, body)


@router.post(
    "/rules/{rule_id}/disable",
    operation_id="alerting-rules-disable",
    responses={**NOT_FOUND, **CONFLICT, **FORBIDDEN},
)
async def disable_rule(
    rule_id: uuid.UUID,
    session: SessionDep,
    identity: IdentityDep,
    approver: ApproverDep,
    body: StatusChange | None = None,
) -> RuleOut:
    """Disable a rule (admins only); it stops being evaluated (audited, immediate)."""
    _require_switcher(identity)
    return await _set_status(session, rule_id, "disabled", approver, body)


@router.get(
    "/rules/{rule_id}/versions", operation_id="alerting-rules-versions-list", responses=NOT_FOUND
)
async def list_rule_versions(rule_id: uuid.UUID, session: SessionDep) -> list[RuleVersionOut]:
    """The change history: every version, who made it and which fields it changed."""
    versions = await service.rule_versions(session, rule_id)
    return [RuleVersionOut.model_validate(version) for version in versions]


@router.get(
    "/rules/{rule_id}/versions/{version}",
    operation_id="alerting-rules-versions-get",
    responses=NOT_FOUND,
)
async def get_rule_version(
    rule_id: uuid.UUID, version: Version, session: SessionDep
) -> RuleVersionOut:
    """One immutable version of a rule."""
    return RuleVersionOut.model_validate(await service.rule_version(session, rule_id, version))


@router.post(
    "/rules/{rule_id}/versions/{version}/activate",
    operation_id="alerting-rules-versions-activate",
    responses={**NOT_FOUND, **CONFLICT, **INVALID, **FORBIDDEN},
)
async def activate_rule_version(
    rule_id: uuid.UUID,
    version: Version,
    session: SessionDep,
    identity: IdentityDep,
    approver: ApproverDep,
    body: StatusChange | None = None,
) -> RuleOut:
    """Make one version live (a pending draft, or an earlier one to roll back to); admins
    only, never the version's author. Recorded as a new version."""
    _require_switcher(identity)
    rule = await service.activate_version(
        session,
        rule_id,
        version,
        actor=approver.subject,
        approver=approver,
        comment=None if body is None else body.reason,
    )
    await session.flush()
    return RuleOut.model_validate(rule)


@router.post(
    "/rules/{rule_id}/backtest",
    operation_id="alerting-rules-backtest",
    responses={**NOT_FOUND, **RULE_INVALID},
)
async def backtest_rule(
    rule_id: uuid.UUID,
    body: BacktestRange,
    session: SessionDep,
    version: Annotated[
        int | None, Query(ge=1, le=MAX_VERSION, description="A past version; default current")
    ] = None,
) -> BacktestOut:
    """Replay stored history through the rule, read-only: what it would have raised."""
    result = await service.backtest_rule(
        session, rule_id, start=body.start, end=body.end, version=version
    )
    await session.rollback()
    return result


@router.post("/backtests", operation_id="alerting-backtests-create", responses=RULE_INVALID)
async def backtest_draft(body: DraftBacktest, session: SessionDep) -> BacktestOut:
    """Backtest a draft condition that is not saved as a rule."""
    result = await service.backtest_draft(session, draft=body)
    await session.rollback()
    return result


# --- templates ------------------------------------------------------------------------------


def _template_out(template: RuleTemplate) -> TemplateOut:
    return TemplateOut(
        key=template.key,
        name=template.name,
        rule_type=template.rule_type,
        severity=template.severity,
        trigger_event_types=list(template.trigger_event_types),
        condition_template=template.condition_template,
        condition=template.condition,
        dedup_key=template.dedup_key,
        cooldown_seconds=template.cooldown_seconds,
        description=template.description,
        parameters=dict(template.parameters),
    )


@router.get("/rule-templates", operation_id="alerting-rule-templates-list")
async def list_templates() -> list[TemplateOut]:
    """The shipped rule templates, with their tunable parameters."""
    return [_template_out(template) for template in TEMPLATES]


@router.get(
    "/rule-templates/{key}", operation_id="alerting-rule-templates-get", responses=NOT_FOUND
)
async def get_template(key: str) -> TemplateOut:
    """One shipped template."""
    return _template_out(service.get_template(key))


@router.post(
    "/rule-templates/{key}/rules",
    status_code=201,
    operation_id="alerting-rule-templates-instantiate",
    responses={**NOT_FOUND, **RULE_INVALID},
)
async def create_rule_from_template(
    key: str, body: TemplateInstantiate, session: SessionDep, approver: ApproverDep
) -> RuleOut:
    """Create a draft rule from a template, with tuned parameters, proposed for approval."""
    rule = await service.create_rule_from_template(
        session, key=key, data=body, actor=approver.subject, approver=approver
    )
    await session.flush()
    return RuleOut.model_validate(rule)
