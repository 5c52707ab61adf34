"""HTTP routes of the notify service."""

from __future__ import annotations

from fastapi import APIRouter

from riskwatch_notify.api import config, deliveries, policy_proposals, routing

router = APIRouter(prefix="/v1", tags=["notify"])
router.include_router(routing.router)
router.include_router(deliveries.router)
router.include_router(policy_proposals.router)
router.include_router(config.router)
