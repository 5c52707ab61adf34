"""The notify service's application factory: API, alert consumer, delivery worker,
schedulers and the LISTEN connection that wakes them (and the SSE streams)."""

from __future__ import annotations

from typing import cast

from fastapi import FastAPI

from riskwatch_notify.api import router
from riskwatch_notify.config import Settings, get_settings
from riskwatch_notify.consumers import consumer_specs
from riskwatch_notify.live import InboxHub
from riskwatch_notify.providers import build_adapters
from riskwatch_notify.queue import DUE_CHANNEL, INBOX_CHANNEL
from riskwatch_notify.runtime import RUNTIME_KEY, NotifyRuntime
from riskwatch_notify.scheduler import Scheduler
from riskwatch_notify.worker import DeliveryWorker
from riskwatch_shared.app import ServiceRuntime, create_service_app, tune_gc
from riskwatch_shared.db.listen import PgListener
from riskwatch_shared.governance_api import warn_self_approval
from riskwatch_shared.netguard import guarded_client
from riskwatch_shared.settings import to_asyncpg_dsn


async def start_delivery(runtime: ServiceRuntime) -> None:
    settings = cast(Settings, runtime.settings)
    # Webhooks and SMS providers are URLs someone configured: their requests go through the
    # outbound guard (policy read per request), never through the shared client.
    outbound = guarded_client(settings.outbound_policy, timeout=settings.http_timeout_seconds)
    worker = DeliveryWorker(
        session_factory=runtime.session_factory,
        adapters=build_adapters(outbound, settings),
        settings=settings,
    )
    scheduler = Scheduler(runtime.session_factory, settings)
    hub = InboxHub()
    listener = PgListener(
        to_asyncpg_dsn(settings.sqlalchemy_url),
        {DUE_CHANNEL: worker.wake, INBOX_CHANNEL: hub.publish},
        name="notify-pg-listener",
    )
    runtime.extras[RUNTIME_KEY] = NotifyRuntime(worker, scheduler, hub, listener, outbound)
    await listener.start()
    await worker.start()
    await scheduler.start()
    runtime.checks["delivery_worker"] = lambda: worker.healthy
    runtime.checks["scheduler"] = lambda: scheduler.healthy
    runtime.live_checks["delivery_worker"] = lambda: worker.live
    runtime.live_checks["scheduler"] = lambda: scheduler.live


async def stop_delivery(runtime: ServiceRuntime) -> None:
    parts = runtime.extras.pop(RUNTIME_KEY, None)
    if isinstance(parts, NotifyRuntime):
        await parts.scheduler.stop()
        await parts.worker.stop()
        await parts.listener.stop()
        await parts.outbound.aclose()


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or get_settings(),
        title="RiskWatch Notify",
        description="RiskWatch notify service: email, SMS, in-app and webhook delivery.",
        routers=[router],
        consumers=consumer_specs,
        on_startup=[
            warn_self_approval("NOTIFY_ALLOW_SELF_APPROVAL", "escalation policy changes"),
            start_delivery,
            tune_gc,
        ],
        on_shutdown=[stop_delivery],
    )
