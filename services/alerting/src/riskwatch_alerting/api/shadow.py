"""Routes: shadow runs of rule proposals, the comparison of a shadow with the live rule, and
percentage rollouts of approved versions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from riskwatch_alerting import service as rules_service
from riskwatch_alerting.api.common import CONFLICT, INVALID, NOT_FOUND, ApproverDep
from riskwatch_alerting.domain.shadow import MAX_COMPARISON_DAYS
from riskwatch_alerting.errors import ShadowNotAllowed
from riskwatch_alerting.schemas import RolloutChange, RuleOut
from riskwatch_alerting.shadow import service
from riskwatch_alerting.shadow.schemas import (
    ShadowComparisonOut,
    ShadowHitPage,
    ShadowRunOut,
    ShadowSetStart,
)
from riskwatch_shared.app import IdentityDep, SessionDep
from riskwatch_shared.masking import mask_mapping
from riskwatch_shared.roles import MANAGERS, require_role
from riskwatch_shared.security import Identity

router = APIRouter()

CHANGE: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    **CONFLICT,
    **INVALID,
    403: {"description": "Not a risk manager or admin (problem+json)"},
}
Days = Annotated[
    int,
    Query(ge=1, le=MAX_COMPARISON_DAYS, description="The last N UTC days, today included"),
]


def _require_manager(identity: Identity) -> None:
    require_role(
        identity,
        MANAGERS,
        action="starting or stopping a shadow run or a rollout",
        error=ShadowNotAllowed,
    )


@router.post(
    "/rule-proposals/shadow",
    operation_id="alerting-rule-proposals-shadow-set",
    responses=CHANGE,
)
async def start_shadow_set(
    body: ShadowSetStart, session: SessionDep, approver: ApproverDep, identity: IdentityDep
) -> list[ShadowRunOut]:
    """Put several pending proposals (a rule set) in shadow together, all or none."""
    _require_manager(identity)
    runs = await service.start_set(session, body.proposal_ids, approver=approver)
    return [ShadowRunOut.model_validate(run) for run in runs]


@router.post(
    "/rule-proposals/{proposal_id}/shadow",
    status_code=201,
    operation_id="alerting-rule-proposals-shadow-start",
    responses={200: {"description": "Already in shadow: the running shadow"}, **CHANGE},
)
async def start_shadow(
    proposal_id: uuid.UUID,
    session: SessionDep,
    approver: ApproverDep,
    identity: IdentityDep,
    response: Response,
) -> ShadowRunOut:
    """Evaluate a pending proposal's version on live traffic without raising alerts; its
    would-be hits are stored. It stops when the proposal is decided."""
    _require_manager(identity)
    run, started = await service.start(session, proposal_id, approver=approver)
    if not started:
        response.status_code = 200
    return ShadowRunOut.model_validate(run)


@router.delete(
    "/rule-proposals/{proposal_id}/shadow",
    operation_id="alerting-rule-proposals-shadow-stop",
    responses=CHANGE,
)
async def stop_shadow(
    proposal_id: uuid.UUID, session: SessionDep, approver: ApproverDep, identity: IdentityDep
) -> ShadowRunOut:
    """Stop a proposal's shadow (its stored hits stay for the comparison)."""
    _require_manager(identity)
    return ShadowRunOut.model_validate(await service.stop(session, proposal_id, approver=approver))


@router.get(
    "/rule-proposals/{proposal_id}/shadow",
    operation_id="alerting-rule-proposals-shadow-get",
    responses=NOT_FOUND,
)
async def get_shadow(proposal_id: uuid.UUID, session: SessionDep) -> ShadowRunOut:
    """The proposal's shadow run: the running one, else the last."""
    return ShadowRunOut.model_validate(await service.latest(session, proposal_id=proposal_id))


@router.get(
    "/rule-proposals/{proposal_id}/shadow-hits",
    operation_id="alerting-rule-proposals-shadow-hits",
    responses={**NOT_FOUND, **INVALID},
)
async def shadow_hits(
    proposal_id: uuid.UUID,
    session: SessionDep,
    identity: IdentityDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ShadowHitPage:
    """The events the proposal's shadow would have alerted on, in event order, with evidence
    (account numbers and IPs masked as on alerts unless the caller may unmask)."""
    page = await service.hits(session, proposal_id, cursor=cursor, limit=limit)
    if not identity.may_unmask:
        for hit in page.items:
            hit.evidence = mask_mapping(hit.evidence)
    return page


@router.get(
    "/rule-proposals/{proposal_id}/shadow-comparison",
    operation_id="alerting-rule-proposals-shadow-comparison",
    responses={**NOT_FOUND, **INVALID},
)
async def proposal_comparison(
    proposal_id: uuid.UUID, session: SessionDep, days: Days = 7
) -> ShadowComparisonOut:
    """Per day, the proposal's shadow version beside the live rule: hits, alerts, overlap,
    precision against dispositioned alerts."""
    run = await service.latest(session, proposal_id=proposal_id)
    return await service.comparison(session, run, days=days, now=datetime.now(UTC))


@router.get(
    "/rules/{rule_id}/shadow-comparison",
    operation_id="alerting-rules-shadow-comparison",
    responses={**NOT_FOUND, **INVALID},
)
async def rule_comparison(
    rule_id: uuid.UUID, session: SessionDep, days: Days = 7
) -> ShadowComparisonOut:
    """Per day, the rule's shadow version (running, else last) beside its live version."""
    run = await service.latest(session, rule_id=rule_id)
    return await service.comparison(session, run, days=days, now=datetime.now(UTC))


@router.post(
    "/rules/{rule_id}/rollout",
    operation_id="alerting-rules-rollout-change",
    responses={
        **CHANGE,
        403: {"description": "Not a manager, or the version's author widening it"},
    },
)
async def change_rollout(
    rule_id: uuid.UUID,
    body: RolloutChange,
    session: SessionDep,
    approver: ApproverDep,
    identity: IdentityDep,
) -> RuleOut:
    """Move a percentage rollout to `percent` of customers; 100 completes it. Widening it is
    not for the version's author."""
    _require_manager(identity)
    rule = await rules_service.change_rollout(
        session, rule_id, percent=body.percent, approver=approver
    )
    return RuleOut.model_validate(rule)


@router.delete(
    "/rules/{rule_id}/rollout",
    operation_id="alerting-rules-rollout-abort",
    responses=CHANGE,
)
async def abort_rollout(
    rule_id: uuid.UUID, session: SessionDep, approver: ApproverDep, identity: IdentityDep
) -> RuleOut:
    """End a percentage rollout: the live version evaluates for every customer again."""
    _require_manager(identity)
    return RuleOut.model_validate(
        await rules_service.abort_rollout(session, rule_id, approver=approver)
    )
