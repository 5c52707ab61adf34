"""Routes: alerts, their follow-up actions, timeline, exports and statistics."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from riskwatch_alerting import desk, follow_up, repository
from riskwatch_alerting.api.common import CONFLICT, INVALID, NOT_FOUND, actor_of
from riskwatch_alerting.config import Settings
from riskwatch_alerting.domain.desk import ME, NOBODY, SlaState, identities_of
from riskwatch_alerting.domain.evaluation_input import to_json
from riskwatch_alerting.domain.lifecycle import AlertStatus, allowed_actions
from riskwatch_alerting.masking import alert_for, timeline_for
from riskwatch_alerting.repository import AlertFilters, SortKey
from riskwatch_alerting.schemas import (
    AcknowledgeBody,
    AlertDetail,
    AlertOut,
    AlertPage,
    AlertStats,
    AssignBody,
    BulkAssignBody,
    BulkAssignOut,
    CommentBody,
    ContactBody,
    EscalateBody,
    InvestigateBody,
    MeasureBody,
    OccurrenceOut,
    ReopenBody,
    ResolveBody,
    TimelineEntryOut,
)
from riskwatch_shared.app import IdentityDep, ServiceRuntime, SessionDep
from riskwatch_shared.contract import csv_response
from riskwatch_shared.db.totals import Total
from riskwatch_shared.events.common import RuleType, Severity
from riskwatch_shared.ownership import owner_scope
from riskwatch_shared.security import Identity
from riskwatch_shared.sse import resume_after

router = APIRouter()


# --- alerts ---------------------------------------------------------------------------------


def _filters(
    identity: IdentityDep,
    raised_from: Annotated[
        datetime | None, Query(description="Raised at or after (ISO 8601)")
    ] = None,
    raised_to: Annotated[datetime | None, Query(description="Raised before (ISO 8601)")] = None,
    happened_from: Annotated[
        datetime | None,
        Query(description="Happened at or after (ISO 8601): the transaction's or record's time"),
    ] = None,
    happened_to: Annotated[datetime | None, Query(description="Happened before (ISO 8601)")] = None,
    sort: Annotated[
        SortKey,
        Query(
            description="Newest first by `raised_at` (when the alert was raised) or by "
            "`happened_at` (when the thing happened: during a backfill, old records raise "
            "alerts now); `sla_due_at`: the soonest due first"
        ),
    ] = "raised_at",
    rule_type: Annotated[RuleType | None, Query(alias="type", description="Rule type")] = None,
    severity: Severity | None = None,
    status: AlertStatus | None = None,
    customer_id: uuid.UUID | None = None,
    rule_id: uuid.UUID | None = None,
    assignee: Annotated[
        str | None,
        Query(
            max_length=200,
            description="`me` (assigned to you: your user id or staff id), `none` (to nobody), "
            "or a person or a team",
        ),
    ] = None,
    team: Annotated[
        str | None, Query(max_length=200, description="A team's queue: assigned to this team")
    ] = None,
    sla_state: Annotated[
        SlaState | None,
        Query(description="The SLA badge now: ok, amber (last quarter of the SLA), red (due)"),
    ] = None,
) -> AlertFilters:
    return AlertFilters(
        raised_from=raised_from,
        raised_to=raised_to,
        happened_from=happened_from,
        happened_to=happened_to,
        sort=sort,
        rule_type=rule_type,
        severity=severity,
        status=status,
        customer_id=customer_id,
        rule_id=rule_id,
        assignee=None if assignee in (ME, NOBODY) else assignee,
        assignee_in=identities_of(identity) if assignee == ME else None,
        unassigned=assignee == NOBODY,
        team=team,
        sla_state=sla_state,
        owner=owner_scope(identity),
    )


FiltersDep = Annotated[AlertFilters, Depends(_filters)]


@router.get("/alerts", operation_id="alerting-alerts-list", responses=INVALID)
async def list_alerts(
    session: SessionDep,
    identity: IdentityDep,
    filters: FiltersDep,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AlertPage:
    """Alerts, newest first by `sort` (raised_at or happened_at), filtered and paged by
    cursor (a cursor belongs to the sort it was made with)."""
    page, next_cursor = await follow_up.list_alerts(session, filters, cursor=cursor, limit=limit)
    items = [alert_for(AlertOut.model_validate(a), identity) for a in page]
    if cursor is None and next_cursor is None:
        # The first page holds them all: that is the total, no count needed.
        total = Total(len(items), is_estimate=False)
    else:
        total = await repository.count_alerts(session, filters)
    return AlertPage(items=items, next_cursor=next_cursor, **total.fields())


EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The alerts as CSV (`format=csv`, UTF-8 with a BOM) or as JSON",
        "content": {
            **csv_response(
                description="CSV",
                example="\ufeffid,raised_at,rule_type,severity,status,outcome,customer_id\n"
                "5b0e7c1e-8a51-4a8e-9a54-1f6f0b1d2c3e,2026-03-02T09:14:05+00:00,threshold,"
                "high,open,,0f8fad5b-d9cb-469f-a165-70867728950e\n",
            )["content"],
            "application/json": {
                "schema": {"type": "array", "items": {"type": "object"}},
            },
        },
    },
    **INVALID,
}


@router.get(
    "/alerts/export",
    operation_id="alerting-alerts-export",
    response_model=None,
    responses=EXPORT_RESPONSES,
)
async def export_alerts(
    session: SessionDep,
    filters: FiltersDep,
    format: Literal["csv", "json"] = "csv",
    limit: Annotated[int, Query(ge=1, le=50_000)] = 10_000,
) -> Response:
    """Export the filtered alerts as CSV or JSON (newest first)."""
    page, _ = await follow_up.list_alerts(session, filters, cursor=None, limit=limit)
    if format == "json":
        return JSONResponse([to_json(follow_up.export_row(alert)) for alert in page])
    return Response(
        follow_up.to_csv(page).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="alerts.csv"'},
    )


@router.get("/alerts/stats", operation_id="alerting-alerts-stats")
async def alert_stats(session: SessionDep, filters: FiltersDep) -> AlertStats:
    """Counts by type, severity, status and day; time to acknowledge; false positives."""
    return await follow_up.stats(session, filters)


@router.get(
    "/alerts/stream",
    operation_id="alerting-alerts-stream",
    responses={200: {"content": {"text/event-stream": {}}}, **INVALID},
    response_class=StreamingResponse,
)
async def alert_stream(
    request: Request,
    identity: IdentityDep,
    filters: FiltersDep,
    last_event_id: Annotated[
        str | None, Header(description="Resume after this alert change (an event's id)")
    ] = None,
) -> StreamingResponse:
    """Server-Sent Events: each new or changed alert the filters select and you may see, as
    `event: alert` (id = the change; masked per role)."""
    runtime: ServiceRuntime = request.app.state.runtime
    settings = cast(Settings, runtime.settings)
    stream = desk.alert_stream(
        runtime.session_factory,
        desk.alert_desk(runtime).hub,
        filters=filters,
        identity=identity,
        resume_seq=resume_after(last_event_id, sent="an alert change id"),
        heartbeat_seconds=settings.sse_heartbeat_seconds,
        max_seconds=settings.sse_max_seconds,
        disconnected=request.is_disconnected,
    )
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.post("/alerts/assign", operation_id="alerting-alerts-bulk-assign", responses=INVALID)
async def bulk_assign(
    body: BulkAssignBody, session: SessionDep, identity: IdentityDep
) -> BulkAssignOut:
    """Assign many alerts to a person (`me` is you), a team or both; each alert's result."""
    return await desk.bulk_assign(session, body, identity=identity)


@router.get("/alerts/{alert_id}", operation_id="alerting-alerts-get", responses=NOT_FOUND)
async def get_alert(alert_id: uuid.UUID, session: SessionDep, identity: IdentityDep) -> AlertDetail:
    """One alert's full report, with its occurrences and the actions allowed now."""
    alert = await follow_up.get_alert(session, alert_id, identity=identity)
    occurrences = await follow_up.occurrences(session, alert_id)
    detail = AlertDetail.model_validate(
        {
            **AlertOut.model_validate(alert).model_dump(),
            "allowed_actions": allowed_actions(alert.status),
            "occurrences": [OccurrenceOut.model_validate(o) for o in occurrences],
        }
    )
    return alert_for(detail, identity)


@router.get(
    "/alerts/{alert_id}/timeline", operation_id="alerting-alerts-timeline", responses=NOT_FOUND
)
async def alert_timeline(
    alert_id: uuid.UUID, session: SessionDep, identity: IdentityDep
) -> list[TimelineEntryOut]:
    """Everything that happened to an alert, oldest first."""
    entries = await follow_up.timeline(session, alert_id, identity=identity)
    return timeline_for([TimelineEntryOut.model_validate(e) for e in entries], identity)


async def _act(
    session: SessionDep,
    alert_id: uuid.UUID,
    action: str,
    identity: Identity,
    detail: dict[str, Any],
) -> AlertOut:
    alert = await follow_up.act(
        session,
        alert_id,
        action=action,
        actor=actor_of(identity),
        detail=detail,
        identity=identity,
    )
    out = alert_for(AlertOut.model_validate(alert), identity)
    return out


_ACTION_RESPONSES = {**NOT_FOUND, **CONFLICT}


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


@router.post(
    "/alerts/{alert_id}/measures",
    operation_id="alerting-alerts-measure",
    responses=_ACTION_RESPONSES,
)
async def take_measure(
    alert_id: uuid.UUID, body: MeasureBody, session: SessionDep, identity: IdentityDep
) -> AlertOut:
    """Take a risk-control measure on the alert's customer: reduce a limit, freeze an account,
    require review of outgoing payments, or add a value to a managed list. Recorded in the
    alert's history and on the customer's record; scoring enforces it."""
    alert = await follow_up.take_measure(
        session, alert_id, body=body, actor=actor_of(identity), identity=identity
    )
    out = alert_for(AlertOut.model_validate(alert), identity)
    return out
