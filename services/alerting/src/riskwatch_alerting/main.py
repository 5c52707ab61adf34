"""The alerting service's application factory."""

from __future__ import annotations

from fastapi import FastAPI

from riskwatch_alerting.api import router
from riskwatch_alerting.config import Settings, get_settings
from riskwatch_alerting.consumers import consumer_specs
from riskwatch_alerting.desk import start_alert_desk, stop_alert_desk
from riskwatch_shared.app import create_service_app, tune_gc


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or get_settings(),
        title="RiskWatch Alerting",
        description="RiskWatch alerting service.",
        routers=[router],
        consumers=consumer_specs,
        on_startup=[start_alert_desk, tune_gc],
        on_shutdown=[stop_alert_desk],
    )
