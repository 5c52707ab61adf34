"""Routes: detection health per rule (readers; the policy table admits them)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from riskwatch_alerting.api.common import NOT_FOUND
from riskwatch_alerting.health import service as health
from riskwatch_alerting.health.schemas import RuleHealthDetail, RuleHealthOut
from riskwatch_alerting.schemas import RuleStatus
from riskwatch_shared.app import SessionDep

router = APIRouter()

WindowDays = Annotated[
    int, Query(ge=1, le=90, description="Days the fire rate and precision are counted over")
]


@router.get("/rules/health", operation_id="alerting-rules-health")
async def rules_health(
    session: SessionDep, status: RuleStatus | None = None, days: WindowDays = 28
) -> list[RuleHealthOut]:
    """Every rule's fire rate, alert volume against its own baseline and precision from
    dispositions, oldest rule first."""
    return await health.rules_health(
        session, now=datetime.now(UTC), window_days=days, status=status
    )


@router.get("/rules/{rule_id}/health", operation_id="alerting-rule-health", responses=NOT_FOUND)
async def rule_health(
    rule_id: uuid.UUID, session: SessionDep, days: WindowDays = 28
) -> RuleHealthDetail:
    """One rule's health, with its alerts per day over the baseline's days."""
    return await health.rule_health(session, rule_id, now=datetime.now(UTC), window_days=days)
