"""HTTP routes of the alerting service."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response

from riskwatch_alerting import alerts as alert_service
from riskwatch_alerting import repository, service
from riskwatch_alerting.contexts import to_json
from riskwatch_alerting.lifecycle import AlertStatus, allowed_actions
from riskwatch_alerting.models import ManagedList, Rule
from riskwatch_alerting.repository import AlertFilters
from riskwatch_alerting.rules import FIELD_CATALOGUE
from riskwatch_alerting.rules.templates import TEMPLATES, RuleTemplate
from riskwatch_alerting.schemas import (
    AcknowledgeBody,
    AlertDetail,
    AlertOut,
    AlertPage,
    AlertStats,
    AssignBody,
    BacktestOut,
    BacktestRange,
    BulkLoadOut,
    CommentBody,
    ConditionCheck,
    ConditionCheckOut,
    ContactBody,
    DraftBacktest,
    EscalateBody,
    FieldOut,
    InvestigateBody,
    ListCreate,
    ListEntriesLoad,
    ListEntriesPage,
    ListEntriesRemove,
    ListEntryOut,
    ListOut,
    ListUpdate,
    OccurrenceOut,
    ReopenBody,
    ResolveBody,
    RuleCreate,
    RuleOut,
    RuleStatus,
    RuleUpdate,
    RuleVersionOut,
    StatusChange,
    TemplateInstantiate,
    TemplateOut,
    TimelineEntryOut,
)
from riskwatch_shared.app import IdentityDep, SessionDep
from riskwatch_shared.events.common import RuleType, Severity
from riskwatch_shared.security import Identity

router = APIRouter(prefix="/v1", tags=["alerting"])

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "Not found (problem+json)"}}
_INVALID: dict[int | str, dict[str, Any]] = {
    422: {"description": "Invalid rule or payload; condition errors carry line and column"}
}
_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "Not allowed in the current state (problem+json)"}
}


def _actor(identity: Identity) -> str:
    return identity.subject


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


@router.post("/rules", status_code=201, operation_id="alerting-rules-create", responses=_INVALID)
async def create_rule(body: RuleCreate, session: SessionDep, identity: IdentityDep) -> RuleOut:
    """Create a draft rule; the condition is type-checked before it is saved."""
    rule = await service.create_rule(session, data=body, actor=_actor(identity))
    await session.commit()
    return RuleOut.model_validate(rule)


@router.post("/rules/validate", operation_id="alerting-rules-validate", responses=_INVALID)
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


@router.get("/rules/{rule_id}", operation_id="alerting-rules-get", responses=_NOT_FOUND)
async def get_rule(rule_id: uuid.UUID, session: SessionDep) -> RuleOut:
    """One rule's current version."""
    return RuleOut.model_validate(await service.get_rule(session, rule_id))


@router.patch(
    "/rules/{rule_id}",
    operation_id="alerting-rules-update",
    responses={**_NOT_FOUND, **_INVALID},
)
async def update_rule(
    rule_id: uuid.UUID, body: RuleUpdate, session: SessionDep, identity: IdentityDep
) -> RuleOut:
    """Change a rule: a new immutable version records who changed which fields."""
    rule = await service.update_rule(session, rule_id, changes=body, actor=_actor(identity))
    await session.commit()
    return RuleOut.model_validate(rule)


async def _set_status(
    session: SessionDep, rule_id: uuid.UUID, status: str, identity: Identity
) -> RuleOut:
    rule: Rule = await service.set_rule_status(
        session, rule_id, status=status, actor=_actor(identity)
    )
    await session.commit()
    return RuleOut.model_validate(rule)


@router.post(
    "/rules/{rule_id}/activate",
    operation_id="alerting-rules-activate",
    responses={**_NOT_FOUND, **_CONFLICT},
)
async def activate_rule(
    rule_id: uuid.UUID,
    session: SessionDep,
    identity: IdentityDep,
    body: StatusChange | None = None,
) -> RuleOut:
    """Activate a rule (the gateway allows admins only); the actor is recorded."""
    return await _set_status(session, rule_id, "active", identity)


@router.post(
    "/rules/{rule_id}/disable",
    operation_id="alerting-rules-disable",
    responses={**_NOT_FOUND, **_CONFLICT},
)
async def disable_rule(
    rule_id: uuid.UUID,
    session: SessionDep,
    identity: IdentityDep,
    body: StatusChange | None = None,
) -> RuleOut:
    """Disable a rule; it stops being evaluated."""
    return await _set_status(session, rule_id, "disabled", identity)


@router.get(
    "/rules/{rule_id}/versions", operation_id="alerting-rules-versions-list", responses=_NOT_FOUND
)
async def list_rule_versions(rule_id: uuid.UUID, session: SessionDep) -> list[RuleVersionOut]:
    """The change history: every version, who made it and which fields it changed."""
    versions = await service.rule_versions(session, rule_id)
    return [RuleVersionOut.model_validate(version) for version in versions]


@router.get(
    "/rules/{rule_id}/versions/{version}",
    operation_id="alerting-rules-versions-get",
    responses=_NOT_FOUND,
)
async def get_rule_version(rule_id: uuid.UUID, version: int, session: SessionDep) -> RuleVersionOut:
    """One immutable version of a rule."""
    return RuleVersionOut.model_validate(await service.rule_version(session, rule_id, version))


@router.post(
    "/rules/{rule_id}/backtest",
    operation_id="alerting-rules-backtest",
    responses={**_NOT_FOUND, **_INVALID},
)
async def backtest_rule(
    rule_id: uuid.UUID,
    body: BacktestRange,
    session: SessionDep,
    version: Annotated[int | None, Query(description="A past version; default current")] = None,
) -> BacktestOut:
    """Replay stored history through the rule, read-only: what it would have raised."""
    result = await service.backtest_rule(
        session, rule_id, start=body.start, end=body.end, version=version
    )
    await session.rollback()
    return result


@router.post("/backtests", operation_id="alerting-backtests-create", responses=_INVALID)
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
    "/rule-templates/{key}", operation_id="alerting-rule-templates-get", responses=_NOT_FOUND
)
async def get_template(key: str) -> TemplateOut:
    """One shipped template."""
    return _template_out(service.get_template(key))


@router.post(
    "/rule-templates/{key}/rules",
    status_code=201,
    operation_id="alerting-rule-templates-instantiate",
    responses={**_NOT_FOUND, **_INVALID},
)
async def create_rule_from_template(
    key: str, body: TemplateInstantiate, session: SessionDep, identity: IdentityDep
) -> RuleOut:
    """Create a draft rule from a template, with tuned parameters."""
    rule = await service.create_rule_from_template(
        session, key=key, data=body, actor=_actor(identity)
    )
    await session.commit()
    return RuleOut.model_validate(rule)


# --- managed lists --------------------------------------------------------------------------


async def _list_out(session: SessionDep, managed: ManagedList) -> ListOut:
    count = await repository.count_entries(session, managed.id)
    return ListOut(
        id=managed.id,
        name=managed.name,
        kind=managed.kind,
        description=managed.description,
        entry_count=count,
        created_at=managed.created_at,
        updated_at=managed.updated_at,
        updated_by=managed.updated_by,
    )


@router.get("/lists", operation_id="alerting-lists-list")
async def list_lists(session: SessionDep) -> list[ListOut]:
    """Managed lists (countries, counterparties, accounts, devices) with their sizes."""
    return [
        ListOut(
            id=m.id,
            name=m.name,
            kind=m.kind,
            description=m.description,
            entry_count=count,
            created_at=m.created_at,
            updated_at=m.updated_at,
            updated_by=m.updated_by,
        )
        for m, count in await repository.list_lists(session)
    ]


@router.post(
    "/lists",
    status_code=201,
    operation_id="alerting-lists-create",
    responses={**_CONFLICT, **_INVALID},
)
async def create_list(body: ListCreate, session: SessionDep, identity: IdentityDep) -> ListOut:
    """Create a managed list, optionally with its first entries."""
    managed = await service.create_list(session, data=body, actor=_actor(identity))
    out = await _list_out(session, managed)
    await session.commit()
    return out


@router.get("/lists/{list_id}", operation_id="alerting-lists-get", responses=_NOT_FOUND)
async def get_list(list_id: uuid.UUID, session: SessionDep) -> ListOut:
    """One managed list."""
    return await _list_out(session, await service.get_list(session, list_id))


@router.patch("/lists/{list_id}", operation_id="alerting-lists-update", responses=_NOT_FOUND)
async def update_list(
    list_id: uuid.UUID, body: ListUpdate, session: SessionDep, identity: IdentityDep
) -> ListOut:
    """Change a list's kind or description."""
    managed = await service.update_list(session, list_id, changes=body, actor=_actor(identity))
    out = await _list_out(session, managed)
    await session.commit()
    return out


@router.delete(
    "/lists/{list_id}",
    status_code=204,
    operation_id="alerting-lists-delete",
    responses=_NOT_FOUND,
)
async def delete_list(list_id: uuid.UUID, session: SessionDep, identity: IdentityDep) -> Response:
    """Delete a list and its entries (rules naming it then never match on it)."""
    await service.delete_list(session, list_id)
    await session.commit()
    return Response(status_code=204)


@router.get(
    "/lists/{list_id}/entries", operation_id="alerting-lists-entries-list", responses=_NOT_FOUND
)
async def list_entries(
    list_id: uuid.UUID,
    session: SessionDep,
    cursor: Annotated[str | None, Query(description="The last value of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=1_000)] = 100,
) -> ListEntriesPage:
    """A list's entries in value order, by cursor."""
    entries = await service.list_entries_page(session, list_id, after=cursor, limit=limit + 1)
    page = [ListEntryOut.model_validate(entry) for entry in entries[:limit]]
    return ListEntriesPage(items=page, next_cursor=page[-1].value if len(entries) > limit else None)


@router.post(
    "/lists/{list_id}/entries",
    operation_id="alerting-lists-entries-load",
    responses={**_NOT_FOUND, **_INVALID},
)
async def load_entries(
    list_id: uuid.UUID, body: ListEntriesLoad, session: SessionDep, identity: IdentityDep
) -> BulkLoadOut:
    """Bulk load entries: merge into the list or replace it."""
    managed, loaded, removed = await service.load_entries(
        session,
        list_id,
        entries=[(entry.value, entry.note) for entry in body.entries],
        replace=body.mode == "replace",
        actor=_actor(identity),
    )
    out = await _list_out(session, managed)
    await session.commit()
    return BulkLoadOut(list=out, loaded=loaded, removed=removed)


@router.post(
    "/lists/{list_id}/entries/remove",
    operation_id="alerting-lists-entries-remove",
    responses=_NOT_FOUND,
)
async def remove_entries(
    list_id: uuid.UUID, body: ListEntriesRemove, session: SessionDep, identity: IdentityDep
) -> BulkLoadOut:
    """Remove the given values from a list."""
    removed = await service.remove_entries(
        session, list_id, values=body.values, actor=_actor(identity)
    )
    out = await _list_out(session, await service.get_list(session, list_id))
    await session.commit()
    return BulkLoadOut(list=out, loaded=0, removed=removed)


# --- alerts ---------------------------------------------------------------------------------


def _filters(
    raised_from: Annotated[
        datetime | None, Query(description="Raised at or after (ISO 8601)")
    ] = None,
    raised_to: Annotated[datetime | None, Query(description="Raised before (ISO 8601)")] = None,
    rule_type: Annotated[RuleType | None, Query(alias="type", description="Rule type")] = None,
    severity: Severity | None = None,
    status: AlertStatus | None = None,
    customer_id: uuid.UUID | None = None,
    rule_id: uuid.UUID | None = None,
    assignee: Annotated[str | None, Query(description="A person or a team")] = None,
) -> AlertFilters:
    return AlertFilters(
        raised_from=raised_from,
        raised_to=raised_to,
        rule_type=rule_type,
        severity=severity,
        status=status,
        customer_id=customer_id,
        rule_id=rule_id,
        assignee=assignee,
    )


FiltersDep = Annotated[AlertFilters, Depends(_filters)]


@router.get("/alerts", operation_id="alerting-alerts-list", responses=_INVALID)
async def list_alerts(
    session: SessionDep,
    filters: FiltersDep,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AlertPage:
    """Alerts, newest first, filtered and paged by cursor."""
    page, next_cursor = await alert_service.list_alerts(
        session, filters, cursor=cursor, limit=limit
    )
    return AlertPage(items=[AlertOut.model_validate(a) for a in page], next_cursor=next_cursor)


@router.get("/alerts/export", operation_id="alerting-alerts-export", response_model=None)
async def export_alerts(
    session: SessionDep,
    filters: FiltersDep,
    format: Literal["csv", "json"] = "csv",
    limit: Annotated[int, Query(ge=1, le=50_000)] = 10_000,
) -> Response:
    """Export the filtered alerts as CSV or JSON (newest first)."""
    page, _ = await alert_service.list_alerts(session, filters, cursor=None, limit=limit)
    if format == "json":
        return JSONResponse([to_json(alert_service.export_row(alert)) for alert in page])
    return Response(
        alert_service.to_csv(page),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="alerts.csv"'},
    )


@router.get("/alerts/stats", operation_id="alerting-alerts-stats")
async def alert_stats(session: SessionDep, filters: FiltersDep) -> AlertStats:
    """Counts by type, severity, status and day; time to acknowledge; false positives."""
    return await alert_service.stats(session, filters)


@router.get("/alerts/{alert_id}", operation_id="alerting-alerts-get", responses=_NOT_FOUND)
async def get_alert(alert_id: uuid.UUID, session: SessionDep) -> AlertDetail:
    """One alert's full report, with its occurrences and the actions allowed now."""
    alert = await alert_service.get_alert(session, alert_id)
    occurrences = await alert_service.occurrences(session, alert_id)
    return AlertDetail.model_validate(
        {
            **AlertOut.model_validate(alert).model_dump(),
            "allowed_actions": allowed_actions(alert.status),
            "occurrences": [OccurrenceOut.model_validate(o) for o in occurrences],
        }
    )


@router.get(
    "/alerts/{alert_id}/timeline", operation_id="alerting-alerts-timeline", responses=_NOT_FOUND
)
async def alert_timeline(alert_id: uuid.UUID, session: SessionDep) -> list[TimelineEntryOut]:
    """Everything that happened to an alert, oldest first."""
    return [
        TimelineEntryOut.model_validate(e) for e in await alert_service.timeline(session, alert_id)
    ]


async def _act(
    session: SessionDep,
    alert_id: uuid.UUID,
    action: str,
    identity: Identity,
    detail: dict[str, Any],
) -> AlertOut:
    alert = await alert_service.act(
        session, alert_id, action=action, actor=_actor(identity), detail=detail
    )
    out = AlertOut.model_validate(alert)
    await session.commit()
    return out


_ACTION_RESPONSES = {**_NOT_FOUND, **_CONFLICT}


@router.post(
    "/alerts/{alert_id}/acknowledge",
    operation_id="alerting-alerts-acknowledge",
    responses=_ACTION_RESPONSES,
)
async def acknowledge_alert(
    alert_id: uuid.UUID,
    session: SessionDep,
    identity: IdentityDep,
    body: AcknowledgeBody | None = None,
) -> AlertOut:
    """new -> acknowledged."""
    detail = {"comment": body.comment if body else None}
    return await _act(session, alert_id, "acknowledge", identity, detail)


@router.post(
    "/alerts/{alert_id}/investigate",
    operation_id="alerting-alerts-investigate",
    responses=_ACTION_RESPONSES,
)
async def investigate_alert(
    alert_id: uuid.UUID,
    session: SessionDep,
    identity: IdentityDep,
    body: InvestigateBody | None = None,
) -> AlertOut:
    """Start (or resume) the investigation."""
    detail = {"comment": body.comment if body else None}
    return await _act(session, alert_id, "investigate", identity, detail)


@router.post(
    "/alerts/{alert_id}/escalate",
    operation_id="alerting-alerts-escalate",
    responses=_ACTION_RESPONSES,
)
async def escalate_alert(
    alert_id: uuid.UUID,
    session: SessionDep,
    identity: IdentityDep,
    body: EscalateBody | None = None,
) -> AlertOut:
    """Escalate, optionally to a team."""
    detail = {"reason": body.reason, "team": body.team} if body else {}
    return await _act(session, alert_id, "escalate", identity, detail)


@router.post(
    "/alerts/{alert_id}/assign", operation_id="alerting-alerts-assign", responses=_ACTION_RESPONSES
)
async def assign_alert(
    alert_id: uuid.UUID, body: AssignBody, session: SessionDep, identity: IdentityDep
) -> AlertOut:
    """Assign to a person, a team or both."""
    detail = {"assignee": body.assignee, "team": body.team}
    return await _act(session, alert_id, "assign", identity, detail)


@router.post(
    "/alerts/{alert_id}/comments",
    operation_id="alerting-alerts-comment",
    responses=_ACTION_RESPONSES,
)
async def comment_alert(
    alert_id: uuid.UUID, body: CommentBody, session: SessionDep, identity: IdentityDep
) -> AlertOut:
    """Add a comment to the timeline."""
    return await _act(session, alert_id, "comment", identity, {"comment": body.comment})


@router.post(
    "/alerts/{alert_id}/contact",
    operation_id="alerting-alerts-contact",
    responses=_ACTION_RESPONSES,
)
async def contact_customer(
    alert_id: uuid.UUID, body: ContactBody, session: SessionDep, identity: IdentityDep
) -> AlertOut:
    """Record that the customer was contacted about the alert."""
    detail = {"channel": body.channel, "note": body.note}
    return await _act(session, alert_id, "contact", identity, detail)


@router.post(
    "/alerts/{alert_id}/resolve",
    operation_id="alerting-alerts-resolve",
    responses=_ACTION_RESPONSES,
)
async def resolve_alert(
    alert_id: uuid.UUID, body: ResolveBody, session: SessionDep, identity: IdentityDep
) -> AlertOut:
    """Resolve with an outcome (confirmed risk, false positive or a mitigation)."""
    detail = {"outcome": body.outcome, "comment": body.comment}
    return await _act(session, alert_id, "resolve", identity, detail)


@router.post(
    "/alerts/{alert_id}/reopen", operation_id="alerting-alerts-reopen", responses=_ACTION_RESPONSES
)
async def reopen_alert(
    alert_id: uuid.UUID,
    session: SessionDep,
    identity: IdentityDep,
    body: ReopenBody | None = None,
) -> AlertOut:
    """Reopen a resolved alert (back to investigating)."""
    detail = {"reason": body.reason if body else None}
    return await _act(session, alert_id, "reopen", identity, detail)
