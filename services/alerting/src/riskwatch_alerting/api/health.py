"""Routes: detection health per rule and operational alerts (readers read; risk managers and
admins acknowledge, checked here as in the policy table)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Query

from riskwatch_alerting.api.common import NOT_FOUND
from riskwatch_alerting.config import Settings
from riskwatch_alerting.errors import OperationalAcknowledgeNotAllowed
from riskwatch_alerting.health import operational
from riskwatch_alerting.health import service as health
from riskwatch_alerting.health.schemas import (
    OperationalAcknowledge,
    OperationalAlertOut,
    RuleHealthDetail,
    RuleHealthOut,
)
from riskwatch_alerting.schemas import RuleStatus
from riskwatch_shared.app import IdentityDep, RuntimeDep, ServiceRuntime, SessionDep
from riskwatch_shared.events.alerting import OperationalAlertKind
from riskwatch_shared.roles import MANAGERS, require_role

router = APIRouter()
CACHE_KEY = "rules_health_cache"

WindowDays = Annotated[
    int, Query(ge=1, le=90, description="Days the fire rate and precision are counted over")
]


def _cache(runtime: ServiceRuntime) -> health.HealthCache:
    cache = runtime.extras.get(CACHE_KEY)
    if not isinstance(cache, health.HealthCache):
        settings = cast(Settings, runtime.settings)
        cache = runtime.extras[CACHE_KEY] = health.HealthCache(settings.health_cache_seconds)
    return cache


@router.get("/rules/health", operation_id="alerting-rules-health")
async def rules_health(
    session: SessionDep,
    runtime: RuntimeDep,
    status: RuleStatus | None = None,
    days: WindowDays = 28,
) -> list[RuleHealthOut]:
    """Every rule's fire rate, alert volume against its own baseline and precision from
    dispositions, oldest rule first; computed at most once a minute (`as_of` says when)."""
    cache = _cache(runtime)
    found = cache.get((days, status))
    if found is None:
        found = await health.rules_health(
            session,
            now=datetime.now(UTC),
            window_days=days,
            status=status,
            thresholds=cast(Settings, runtime.settings).spike_thresholds,
        )
        cache.put((days, status), found)
    return found


@router.get("/rules/{rule_id}/health", operation_id="alerting-rule-health", responses=NOT_FOUND)
async def rule_health(
    rule_id: uuid.UUID, session: SessionDep, runtime: RuntimeDep, days: WindowDays = 28
) -> RuleHealthDetail:
    """One rule's health, with its alerts per day over the baseline's days."""
    return await health.rule_health(
        session,
        rule_id,
        now=datetime.now(UTC),
        window_days=days,
        thresholds=cast(Settings, runtime.settings).spike_thresholds,
    )


# --- operational alerts ---------------------------------------------------------------------

ACKNOWLEDGE: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    403: {"description": "Only risk managers and admins acknowledge (problem+json)"},
}


@router.get("/operational-alerts", operation_id="alerting-operational-alerts-list")
async def list_operational_alerts(
    session: SessionDep,
    status: Literal["open", "acknowledged"] | None = None,
    kind: OperationalAlertKind | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[OperationalAlertOut]:
    """Rule spikes and model drift, newest first (`status=open`: what awaits its owners)."""
    found = await operational.list_alerts(session, status=status, kind=kind, limit=limit)
    return [OperationalAlertOut.model_validate(alert) for alert in found]


@router.get(
    "/operational-alerts/{alert_id}",
    operation_id="alerting-operational-alerts-get",
    responses=NOT_FOUND,
)
async def get_operational_alert(alert_id: uuid.UUID, session: SessionDep) -> OperationalAlertOut:
    return OperationalAlertOut.model_validate(await operational.get(session, alert_id))


@router.post(
    "/operational-alerts/{alert_id}/acknowledge",
    operation_id="alerting-operational-alerts-acknowledge",
    responses=ACKNOWLEDGE,
)
async def acknowledge_operational_alert(
    alert_id: uuid.UUID,
    session: SessionDep,
    identity: IdentityDep,
    body: OperationalAcknowledge | None = None,
) -> OperationalAlertOut:
    """Someone owns it now: no new one for this rule or model is raised today, and the next
    spike after today raises a new one. Acknowledging again changes nothing."""
    require_role(
        identity,
        MANAGERS,
        action="acknowledging an operational alert",
        error=OperationalAcknowledgeNotAllowed,
    )
    alert = await operational.acknowledge(
        session,
        alert_id,
        actor=identity.subject,
        comment=body.comment if body else None,
        now=datetime.now(UTC),
    )
    return OperationalAlertOut.model_validate(alert)
