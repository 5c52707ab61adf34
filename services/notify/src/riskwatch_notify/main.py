"""The notify service's application factory."""

from __future__ import annotations

from fastapi import FastAPI

from riskwatch_notify.api import router
from riskwatch_notify.config import Settings, get_settings
from riskwatch_notify.consumers import consumer_specs
from riskwatch_shared.app import create_service_app


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or get_settings(),
        title="RiskWatch Notify",
        description="RiskWatch notify service.",
        routers=[router],
        consumers=consumer_specs,
    )
