"""Periodic jobs: every serving model's PSI (`drift_check_seconds`) and the re-assessment of
idle customers (`idle_reassess_check_seconds`)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime

from riskwatch_scoring import repository
from riskwatch_scoring.runtime import scoring_runtime
from riskwatch_scoring.service import check_model_drift
from riskwatch_shared.app import ServiceRuntime
from riskwatch_shared.logging import get_logger
from riskwatch_shared.metrics import MODEL_DRIFT_PSI

log = get_logger(__name__)


async def check_drift_once(runtime: ServiceRuntime) -> int:
    """Check every champion and challenger; returns how many drift events were staged."""
    settings = scoring_runtime(runtime).settings
    async with runtime.session_factory() as session:
        models = [
            (row.id, row.kind, row.status) for row in await repository.serving_models(session)
        ]
    published = 0
    # The PSI gauge shows the serving models only (a retired one drops out).
    MODEL_DRIFT_PSI.clear()
    for model_id, kind, status in models:
        async with runtime.session_factory() as session, session.begin():
            drift, published_now = await check_model_drift(
                session, model_id=model_id, settings=settings
            )
        published += int(published_now)
        if drift.psi is not None:
            MODEL_DRIFT_PSI.labels(model_id=str(model_id), kind=kind, status=status).set(drift.psi)
        if drift.status == "drifted":
            log.warning("scoring.model_drifted", model_id=str(model_id), psi=drift.psi)
    return published


async def reassess_idle_customers(runtime: ServiceRuntime, as_of: datetime | None = None) -> int:
    """Every idle customer once, a batch per transaction, as of `as_of` (a backfill's end;
    by default the stream's time, the newest event time seen); returns how many."""
    scoring = scoring_runtime(runtime)
    settings, total = scoring.settings, 0
    while True:
        async with runtime.session_factory() as session, session.begin():
            done = await scoring.scorer.reassess_idle(
                session,
                as_of=as_of,
                idle_seconds=settings.idle_reassess_after_seconds,
                limit=settings.idle_reassess_batch_size,
            )
        total += done
        if done < settings.idle_reassess_batch_size:
            return total


async def _every(seconds: float, job: Callable[[], Awaitable[int]], name: str) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            await job()
        except Exception as exc:  # a failed round must not end the loop
            log.warning("scoring.periodic_job_failed", job=name, error=repr(exc))


async def run_periodic_jobs(runtime: ServiceRuntime) -> None:
    settings = scoring_runtime(runtime).settings
    await asyncio.gather(
        _every(settings.drift_check_seconds, lambda: check_drift_once(runtime), "drift"),
        _every(
            settings.idle_reassess_check_seconds,
            lambda: reassess_idle_customers(runtime),
            "idle-reassessment",
        ),
    )
