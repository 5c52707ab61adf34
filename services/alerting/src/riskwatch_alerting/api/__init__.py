"""HTTP routes of the alerting service, one module per resource."""

from __future__ import annotations

from fastapi import APIRouter

from riskwatch_alerting.api import (
    alerts,
    backtest_jobs,
    cases,
    config,
    dashboards,
    desk,
    health,
    list_proposals,
    lists,
    proposals,
    rules,
    shadow,
    warnings,
    watchlist,
)

router = APIRouter(prefix="/v1", tags=["alerting"])
# Before the rules': /rules/health is not a rule id.
router.include_router(health.router)
router.include_router(rules.router)
router.include_router(shadow.router)
router.include_router(backtest_jobs.router)
router.include_router(proposals.router)
router.include_router(lists.router)
router.include_router(list_proposals.router)
# Before the alerts' and the watch list's: /alerts/stats/daily, /watchlist/stats are no ids.
router.include_router(dashboards.router)
router.include_router(alerts.router)
router.include_router(cases.router)
router.include_router(desk.router)
# Before the watch list's: /watchlist/report is not an entry id.
router.include_router(warnings.router)
router.include_router(watchlist.router)
router.include_router(config.router)

__all__ = ["router"]
