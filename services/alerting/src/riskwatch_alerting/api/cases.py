"""Routes: cases (list, export, get, timeline, report, actions) and rule suppressions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response

from riskwatch_alerting.api.common import CONFLICT, INVALID, NOT_FOUND
from riskwatch_alerting.cases import report as case_report
from riskwatch_alerting.cases import service as cases
from riskwatch_alerting.cases.schemas import (
    CaseAssignBody,
    CaseCloseBody,
    CaseCommentBody,
    CaseDetail,
    CaseInvestigateBody,
    CaseOut,
    CasePage,
    CaseReopenBody,
    CaseTimelineOut,
    SuppressionCreate,
    SuppressionOut,
)
from riskwatch_alerting.cases.store import CaseFilters
from riskwatch_alerting.domain.cases import (
    CaseStatus,
    TimelineItem,
    allowed_case_actions,
    display_name,
)
from riskwatch_alerting.masking import alert_for
from riskwatch_alerting.models import Case, Suppression
from riskwatch_alerting.schemas import AlertOut
from riskwatch_shared.app import IdentityDep, SessionDep
from riskwatch_shared.events.common import Severity
from riskwatch_shared.masking import mask_mapping, mask_value
from riskwatch_shared.ownership import owner_scope
from riskwatch_shared.security import Identity

router = APIRouter()
_ACTION_RESPONSES = {**NOT_FOUND, **CONFLICT}


def _filters(
    identity: IdentityDep,
    status: CaseStatus | None = None,
    priority: Severity | None = None,
    customer_id: uuid.UUID | None = None,
    assignee: Annotated[str | None, Query(max_length=200)] = None,
    opened_from: Annotated[datetime | None, Query(description="Opened at or after")] = None,
    opened_to: Annotated[datetime | None, Query(description="Opened before")] = None,
) -> CaseFilters:
    return CaseFilters(
        status=status,
        priority=priority,
        customer_id=customer_id,
        assignee=assignee,
        opened_from=opened_from,
        opened_to=opened_to,
        owner=owner_scope(identity),
    )


FiltersDep = Annotated[CaseFilters, Depends(_filters)]


def _suppression_out(suppression: Suppression, identity: Identity) -> SuppressionOut:
    out = SuppressionOut.model_validate(suppression)
    out.active = suppression.lifted_at is None and suppression.until > datetime.now(UTC)
    if not identity.may_unmask and suppression.target_kind in ("account", "counterparty"):
        out.target_value = str(mask_value("account_number", out.target_value))
    return out


def _timeline_for(items: Sequence[TimelineItem], identity: Identity) -> list[TimelineItem]:
    if identity.may_unmask:
        return list(items)
    return [
        TimelineItem(**{**item.__dict__, "detail": mask_mapping(item.detail)}) for item in items
    ]


def _timeline_out(item: TimelineItem) -> CaseTimelineOut:
    return CaseTimelineOut(
        at=item.at,
        source=item.source,
        change=item.change,
        actor=item.actor,
        actor_name=display_name(item.actor, item.actor_name),
        actor_roles=item.actor_roles,
        alert_id=item.alert_id,
        detail=item.detail,
    )


@router.get("/cases", operation_id="alerting-cases-list", responses=INVALID)
async def list_cases(
    session: SessionDep,
    filters: FiltersDep,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> CasePage:
    """Cases, newest first, filtered and paged by cursor; an RM sees their customers' only."""
    page, next_cursor = await cases.list_cases(session, filters, cursor=cursor, limit=limit)
    total = await cases.count_cases(session, filters)
    return CasePage(
        items=[CaseOut.model_validate(c) for c in page], next_cursor=next_cursor, **total.fields()
    )


@router.get("/cases/export", operation_id="alerting-cases-export", response_model=None)
async def export_cases(
    session: SessionDep,
    filters: FiltersDep,
    format: Literal["csv", "json"] = "csv",
    limit: Annotated[int, Query(ge=1, le=50_000)] = 10_000,
) -> Response:
    """The filtered cases as CSV (UTF-8 BOM, formula cells escaped) or JSON."""
    page, _ = await cases.list_cases(session, filters, cursor=None, limit=limit)
    rows = [CaseOut.model_validate(c) for c in page]
    if format == "json":
        return JSONResponse([case_report.export_row(row) for row in rows])
    return Response(
        case_report.to_csv(rows).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="cases.csv"'},
    )


async def _detail(session: SessionDep, case: Case, identity: Identity) -> CaseDetail:
    alerts = [
        alert_for(AlertOut.model_validate(a), identity)
        for a in await cases.case_alerts(session, case)
    ]
    suppressions = [
        _suppression_out(s, identity) for s in await cases.suppressions_of_case(session, case)
    ]
    return CaseDetail.model_validate(
        {
            **CaseOut.model_validate(case).model_dump(),
            "allowed_actions": allowed_case_actions(case.status),
            "alerts": alerts,
            "suppressions": suppressions,
        }
    )


@router.get("/cases/{case_id}", operation_id="alerting-cases-get", responses=NOT_FOUND)
async def get_case(case_id: uuid.UUID, session: SessionDep, identity: IdentityDep) -> CaseDetail:
    """One case with its alerts, its suppressions and the actions allowed now."""
    case = await cases.get_case(session, case_id, identity=identity)
    return await _detail(session, case, identity)


@router.get(
    "/cases/{case_id}/timeline", operation_id="alerting-cases-timeline", responses=NOT_FOUND
)
async def case_timeline(
    case_id: uuid.UUID, session: SessionDep, identity: IdentityDep
) -> list[CaseTimelineOut]:
    """The case's and its alerts' history, notifications sent or failed and escalations fired
    or cancelled, oldest first, each with the actor's name and roles."""
    case = await cases.get_case(session, case_id, identity=identity)
    items = _timeline_for(await cases.timeline(session, case), identity)
    return [_timeline_out(item) for item in items]


@router.get(
    "/cases/{case_id}/report",
    operation_id="alerting-cases-report",
    responses=NOT_FOUND,
    response_model=None,
)
async def case_report_page(
    case_id: uuid.UUID,
    session: SessionDep,
    identity: IdentityDep,
    format: Literal["html", "json"] = "html",
    lang: Literal["en", "zh-CN"] = "en",
) -> Response:
    """The case report (time, type, customer, evidence, reasons and advice, timeline,
    actions, outcome): a printable HTML page in zh-CN or en, or JSON."""
    case = await cases.get_case(session, case_id, identity=identity)
    detail = await _detail(session, case, identity)
    items = _timeline_for(await cases.timeline(session, case), identity)
    data = case_report.build_report(
        CaseOut.model_validate(case),
        detail.alerts,
        items,
        detail.suppressions,
        datetime.now(UTC),
        lang=lang,
    )
    if format == "json":
        return JSONResponse(data)
    return HTMLResponse(case_report.render_html(data, lang))


async def _act(
    session: SessionDep,
    case_id: uuid.UUID,
    action: str,
    identity: Identity,
    detail: dict[str, Any],
) -> CaseOut:
    case = await cases.act(session, case_id, action=action, identity=identity, detail=detail)
    out = CaseOut.model_validate(case)
    return out


@router.post(
    "/cases/{case_id}/assign", operation_id="alerting-cases-assign", responses=_ACTION_RESPONSES
)
async def assign_case(
    case_id: uuid.UUID, body: CaseAssignBody, session: SessionDep, identity: IdentityDep
) -> CaseOut:
    """Give the case an owner."""
    return await _act(session, case_id, "assign", identity, {"assignee": body.assignee})


@router.post(
    "/cases/{case_id}/investigate",
    operation_id="alerting-cases-investigate",
    responses=_ACTION_RESPONSES,
)
async def investigate_case(
    case_id: uuid.UUID,
    session: SessionDep,
    identity: IdentityDep,
    body: CaseInvestigateBody | None = None,
) -> CaseOut:
    """open -> investigating."""
    detail = {"comment": body.comment if body else None}
    return await _act(session, case_id, "investigate", identity, detail)


@router.post(
    "/cases/{case_id}/comments", operation_id="alerting-cases-comment", responses=_ACTION_RESPONSES
)
async def comment_case(
    case_id: uuid.UUID, body: CaseCommentBody, session: SessionDep, identity: IdentityDep
) -> CaseOut:
    """Add a comment to the case's timeline."""
    return await _act(session, case_id, "comment", identity, {"comment": body.comment})


@router.post(
    "/cases/{case_id}/close", operation_id="alerting-cases-close", responses=_ACTION_RESPONSES
)
async def close_case(
    case_id: uuid.UUID, body: CaseCloseBody, session: SessionDep, identity: IdentityDep
) -> CaseOut:
    """Close the case, resolving its open alerts with `outcome` (or each its own)."""
    detail = {"outcome": body.outcome, "comment": body.comment, "outcomes": body.outcomes}
    return await _act(session, case_id, "close", identity, detail)


@router.post(
    "/cases/{case_id}/reopen", operation_id="alerting-cases-reopen", responses=_ACTION_RESPONSES
)
async def reopen_case(
    case_id: uuid.UUID,
    session: SessionDep,
    identity: IdentityDep,
    body: CaseReopenBody | None = None,
) -> CaseOut:
    """Reopen a closed case (back to investigating); its alerts stay as they are."""
    detail = {"reason": body.reason if body else None}
    return await _act(session, case_id, "reopen", identity, detail)


# --- suppressions ---------------------------------------------------------------------------


@router.get(
    "/rules/{rule_id}/suppressions",
    operation_id="alerting-rules-suppressions-list",
    responses=NOT_FOUND,
)
async def list_suppressions(
    rule_id: uuid.UUID, session: SessionDep, identity: IdentityDep
) -> list[SuppressionOut]:
    """A rule's suppressions, newest first, lifted and expired ones included (the audit)."""
    found = await cases.suppressions_of_rule(session, rule_id)
    return [_suppression_out(s, identity) for s in found]


@router.post(
    "/rules/{rule_id}/suppressions",
    status_code=201,
    operation_id="alerting-rules-suppressions-create",
    responses={**NOT_FOUND, **INVALID},
)
async def create_suppression(
    rule_id: uuid.UUID, body: SuppressionCreate, session: SessionDep, identity: IdentityDep
) -> SuppressionOut:
    """Snooze the rule for one customer, account or counterparty until `until`, with a
    reason; audited, and noted on the case."""
    suppression = await cases.suppress(
        session,
        rule_id,
        identity=identity,
        target_kind=body.target_kind,
        target_value=body.target_value,
        until=body.until,
        reason=body.reason,
        case_id=body.case_id,
    )
    out = _suppression_out(suppression, identity)
    return out


@router.post(
    "/rules/{rule_id}/suppressions/{suppression_id}/lift",
    operation_id="alerting-rules-suppressions-lift",
    responses=NOT_FOUND,
)
async def lift_suppression(
    rule_id: uuid.UUID, suppression_id: uuid.UUID, session: SessionDep, identity: IdentityDep
) -> SuppressionOut:
    """End a suppression now (kept, with who lifted it)."""
    suppression = await cases.lift(session, rule_id, suppression_id, identity)
    out = _suppression_out(suppression, identity)
    return out
