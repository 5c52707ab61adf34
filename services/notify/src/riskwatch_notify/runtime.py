"""What the notify lifespan adds to the shared runtime: worker, schedulers, SSE fan-out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import httpx

from riskwatch_notify.live import InboxHub
from riskwatch_notify.scheduler import Scheduler
from riskwatch_notify.worker import DeliveryWorker
from riskwatch_shared.app import ServiceRuntime
from riskwatch_shared.db.listen import PgListener

RUNTIME_KEY = "notify"


@dataclass
class NotifyRuntime:
    worker: DeliveryWorker
    scheduler: Scheduler
    hub: InboxHub
    listener: PgListener
    outbound: httpx.AsyncClient  # the guarded client of webhooks and SMS providers


def notify_runtime(runtime: ServiceRuntime) -> NotifyRuntime:
    return cast(NotifyRuntime, runtime.extras[RUNTIME_KEY])
