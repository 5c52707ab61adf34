"""The alerting service's application factory."""

from __future__ import annotations

from fastapi import FastAPI

from riskwatch_alerting.api import router
from riskwatch_alerting.backtest_runner import start_backtest_runner, stop_backtest_runner
from riskwatch_alerting.config import Settings, get_settings
from riskwatch_alerting.consumers import consumer_specs
from riskwatch_alerting.desk import start_alert_desk, stop_alert_desk
from riskwatch_shared.app import create_service_app, tune_gc
from riskwatch_shared.governance_api import warn_self_approval as warn_if_self_approval_allowed

# A one-person install may approve its own rule and managed list changes; said loudly at
# every start (the same warning as every governed service's).
warn_self_approval = warn_if_self_approval_allowed(
    "ALERTING_ALLOW_SELF_APPROVAL", "rule and managed list changes"
)


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or get_settings(),
        title="RiskWatch Alerting",
        description="RiskWatch alerting service.",
        routers=[router],
        consumers=consumer_specs,
        on_startup=[warn_self_approval, start_alert_desk, start_backtest_runner, tune_gc],
        on_shutdown=[stop_backtest_runner, stop_alert_desk],
    )
