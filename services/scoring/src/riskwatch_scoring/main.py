"""The scoring service's application factory."""

from __future__ import annotations

from fastapi import FastAPI

from riskwatch_scoring.api import router
from riskwatch_scoring.config import Settings, get_settings
from riskwatch_scoring.consumers import consumer_specs
from riskwatch_shared.app import create_service_app


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or get_settings(),
        title="RiskWatch Scoring",
        description="RiskWatch scoring service.",
        routers=[router],
        consumers=consumer_specs,
    )
