"""Routes: the alert desk's start page."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter

from riskwatch_alerting import desk
from riskwatch_alerting.schemas import DeskSummary
from riskwatch_shared.app import IdentityDep, SessionDep

router = APIRouter()


@router.get("/desk/summary", operation_id="alerting-desk-summary")
async def desk_summary(session: SessionDep, identity: IdentityDep) -> DeskSummary:
    """My open cases and alerts by SLA badge, and the alerts raised today (UTC)."""
    return await desk.summary(session, identity=identity, now=datetime.now(UTC))
