"""The alerting service's application factory."""

from __future__ import annotations

import gc

from fastapi import FastAPI

from riskwatch_alerting.api import router
from riskwatch_alerting.config import Settings, get_settings
from riskwatch_alerting.consumers import consumer_specs
from riskwatch_shared.app import ServiceRuntime, create_service_app

# Each batch allocates many short-lived dicts while the process holds a large long-lived heap
# (SQLAlchemy, pydantic, compiled rules): with the default thresholds, full collections
# rescanning that heap cost ~20% of the event path. Freeze the startup heap, collect less often.
GC_THRESHOLDS = (50_000, 20, 100)


async def tune_gc(runtime: ServiceRuntime) -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or get_settings(),
        title="RiskWatch Alerting",
        description="RiskWatch alerting service.",
        routers=[router],
        consumers=consumer_specs,
        on_startup=[tune_gc],
    )
