"""The scoring service's application factory."""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import FastAPI

from riskwatch_scoring.api import router
from riskwatch_scoring.config import Settings, get_settings
from riskwatch_scoring.consumers import consumer_specs
from riskwatch_scoring.periodic import run_periodic_jobs
from riskwatch_scoring.registry import ensure_expert_models
from riskwatch_scoring.runtime import scoring_runtime
from riskwatch_shared.app import ServiceRuntime, create_service_app, tune_gc
from riskwatch_shared.governance_api import warn_self_approval


async def seed_expert_models(runtime: ServiceRuntime) -> None:
    """A fresh install serves the expert models; the consumer seeds too if it runs first."""
    async with runtime.session_factory() as session, session.begin():
        await ensure_expert_models(session)
    scoring_runtime(runtime).model_cache.invalidate()


async def start_periodic_jobs(runtime: ServiceRuntime) -> None:
    runtime.extras["periodic_task"] = asyncio.create_task(
        run_periodic_jobs(runtime), name="scoring-periodic-jobs"
    )


async def stop_background(runtime: ServiceRuntime) -> None:
    task = runtime.extras.pop("periodic_task", None)
    if isinstance(task, asyncio.Task):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await scoring_runtime(runtime).read_pool.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or get_settings(),
        title="RiskWatch Scoring",
        description="Customer features, credit / anomaly / churn scores, risk levels, models.",
        routers=[router],
        consumers=consumer_specs,
        on_startup=[
            warn_self_approval("SCORING_ALLOW_SELF_APPROVAL", "changes of which model serves"),
            seed_expert_models,
            tune_gc,
            start_periodic_jobs,
        ],
        on_shutdown=[stop_background],
    )
