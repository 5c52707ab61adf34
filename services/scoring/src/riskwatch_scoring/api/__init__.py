"""HTTP routes of the scoring service, one module per resource."""

from __future__ import annotations

from fastapi import APIRouter

from riskwatch_scoring.api import (
    config,
    customers,
    dashboards,
    labels,
    model_proposals,
    models,
)

router = APIRouter(prefix="/v1", tags=["scoring"])
router.include_router(dashboards.router)
router.include_router(customers.router)
router.include_router(models.router)
router.include_router(model_proposals.router)
router.include_router(labels.router)
router.include_router(config.router)

__all__ = ["router"]
