"""The customer service's application factory."""

from __future__ import annotations

from fastapi import FastAPI

from riskwatch_customer.api import intake_router, router
from riskwatch_customer.config import Settings, get_settings
from riskwatch_customer.consumers import consumer_specs
from riskwatch_customer.runtime import close_resources, open_resources
from riskwatch_shared.app import create_service_app, tune_gc


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or get_settings(),
        title="RiskWatch Customer",
        description="RiskWatch customer service.",
        routers=[intake_router, router],
        consumers=consumer_specs,
        on_startup=[open_resources, tune_gc],
        on_shutdown=[close_resources],
    )
