"""The periodic drift check: every serving model's PSI, once per `drift_check_seconds`."""

from __future__ import annotations

import asyncio

from riskwatch_scoring import repository
from riskwatch_scoring.context import scoring_context
from riskwatch_scoring.service import model_drift
from riskwatch_shared.app import ServiceRuntime
from riskwatch_shared.logging import get_logger

log = get_logger(__name__)


async def check_drift_once(runtime: ServiceRuntime) -> int:
    """Check every champion and challenger; returns how many drift events were staged."""
    settings = scoring_context(runtime).settings
    async with runtime.session_factory() as session:
        model_ids = [row.id for row in await repository.serving_models(session)]
    published = 0
    for model_id in model_ids:
        async with runtime.session_factory() as session, session.begin():
            drift = await model_drift(session, model_id=model_id, settings=settings)
        published += int(drift.event_published)
        if drift.status == "drifted":
            log.warning("scoring.model_drifted", model_id=str(model_id), psi=drift.psi)
    return published


async def check_drift_forever(runtime: ServiceRuntime) -> None:
    interval = scoring_context(runtime).settings.drift_check_seconds
    while True:
        await asyncio.sleep(interval)
        try:
            await check_drift_once(runtime)
        except Exception as exc:  # a failed check must not end the loop
            log.warning("scoring.drift_check_failed", error=repr(exc))
