"""HTTP routes of the customer service, one module per resource. Thin: parse, call the use
case, answer (the kit's unit of work commits)."""

from __future__ import annotations

from fastapi import APIRouter

from riskwatch_customer.api import customers, intake, records, transactions

router = APIRouter(prefix="/v1", tags=["customer"])
router.include_router(customers.router)
router.include_router(records.router)
router.include_router(transactions.router)

# The intake routes, included before `router`: routes are matched one by one in order, and
# these take far more calls than the forty others together.
intake_router = APIRouter(prefix="/v1", tags=["customer"])
intake_router.include_router(intake.router)

__all__ = ["intake_router", "router"]
