"""The alert desk's service: bulk assignment, the start page's summary and the live stream of
new and changed alerts (woken by the `riskwatch_alerts` NOTIFY of migration 0010)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from riskwatch_alerting import follow_up, repository
from riskwatch_alerting.cases import store as case_store
from riskwatch_alerting.config import Settings
from riskwatch_alerting.domain.desk import assignee_of, identities_of
from riskwatch_alerting.errors import AlertNotFound, TransitionNotAllowed
from riskwatch_alerting.health import operational
from riskwatch_alerting.masking import alert_for
from riskwatch_alerting.models import Alert
from riskwatch_alerting.repository import AlertFilters
from riskwatch_alerting.schemas import (
    AlertOut,
    BulkAssignBody,
    BulkAssignOut,
    BulkAssignResult,
    DeskSummary,
    SlaCounts,
)
from riskwatch_alerting.warning import service as warning_service
from riskwatch_alerting.watchlist import service as watchlist_service
from riskwatch_alerting.watchlist import store as watchlist_store
from riskwatch_alerting.watchlist.store import WatchlistFilters
from riskwatch_shared.aio import wait_event
from riskwatch_shared.app import ServiceRuntime
from riskwatch_shared.db.listen import PgListener, WakeHub
from riskwatch_shared.logging import get_logger
from riskwatch_shared.ownership import owner_scope
from riskwatch_shared.security import Identity
from riskwatch_shared.settings import to_asyncpg_dsn

ALERTS_CHANNEL = "riskwatch_alerts"
RUNTIME_KEY = "alert_desk"
REVIEWS_DUE_KEY = "watchlist_reviews_due"
BASELINES_KEY = "warning_baselines"
HEALTH_KEY = "detection_health"
log = get_logger(__name__)
STREAM_BATCH = 200


async def bulk_assign(
    session: AsyncSession, body: BulkAssignBody, *, identity: Identity
) -> BulkAssignOut:
    """Assign each alert as `POST /alerts/{id}/assign` would; one that is not the caller's to
    see, or is resolved, is reported and left as it was. Rows are locked in id order, so two
    overlapping bulk assignments cannot deadlock."""
    detail = {
        "assignee": None if body.assignee is None else assignee_of(identity, body.assignee),
        "team": body.team,
    }
    outcome: dict[uuid.UUID, BulkAssignResult] = {}
    for alert_id in sorted(body.alert_ids):
        try:
            await follow_up.act(
                session,
                alert_id,
                action="assign",
                actor=identity.subject,
                detail=detail,
                identity=identity,
            )
        except AlertNotFound:
            outcome[alert_id] = BulkAssignResult(alert_id=alert_id, result="not_found")
        except TransitionNotAllowed as exc:
            outcome[alert_id] = BulkAssignResult(
                alert_id=alert_id, result="not_allowed", detail=str(exc)
            )
        else:
            outcome[alert_id] = BulkAssignResult(alert_id=alert_id, result="assigned")
    results = [outcome[alert_id] for alert_id in body.alert_ids]
    return BulkAssignOut(
        assigned=sum(1 for r in results if r.result == "assigned"), results=results
    )


def day_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


async def summary(session: AsyncSession, *, identity: Identity, now: datetime) -> DeskSummary:
    """My open cases and alerts by SLA badge, the alerts raised today (UTC) I may see, and my
    watch-list reviews due."""
    me = identities_of(identity)
    owner = owner_scope(identity)
    cases = await case_store.count_open_cases_by_sla(session, assignees=me, owner=owner, now=now)
    mine = AlertFilters(assignee_in=me, open_only=True, owner=owner)
    alerts = await repository.count_alerts_by_sla(session, mine, now)
    start = day_start(now)
    today = AlertFilters(raised_from=start, owner=owner)
    unassigned_today = AlertFilters(raised_from=start, unassigned=True, owner=owner)
    return DeskSummary(
        me=list(me),
        my_open_cases=SlaCounts.model_validate(cases),
        my_open_alerts=SlaCounts.model_validate(alerts),
        new_alerts_today=(await repository.count_alerts(session, today)).value,
        new_unassigned_alerts_today=(
            await repository.count_alerts(session, unassigned_today)
        ).value,
        my_watchlist_reviews_due=await watchlist_store.count_due(
            session,
            WatchlistFilters(owners=me, review_due_by=now.date(), owner_scope=owner),
        ),
        day_start=start,
    )


# --- the live stream ------------------------------------------------------------------------


@dataclass
class AlertDesk:
    """What the alerting process keeps for live desks: one LISTEN and the open streams."""

    hub: WakeHub
    listener: PgListener


async def start_alert_desk(runtime: ServiceRuntime) -> None:
    settings = cast(Settings, runtime.settings)
    hub = WakeHub()
    listener = PgListener(to_asyncpg_dsn(settings.sqlalchemy_url), {ALERTS_CHANNEL: hub.wake})
    runtime.extras[RUNTIME_KEY] = AlertDesk(hub, listener)
    await listener.start()
    # The watch list's reviews that came due, announced once each.
    runtime.extras[REVIEWS_DUE_KEY] = asyncio.create_task(
        _periodically(
            runtime,
            settings.watchlist_review_check_seconds,
            lambda session: watchlist_service.announce_reviews_due(
                session, datetime.now(UTC).date()
            ),
            "watchlist.review_due_failed",
        )
    )
    # The early warning's segment baselines, recomputed from the portfolio here rather than
    # in a batch of the event path (a scan of every customer).
    runtime.extras[BASELINES_KEY] = asyncio.create_task(
        _periodically(
            runtime,
            settings.warning_baseline_seconds,
            lambda session: warning_service.refresh_stale_baselines(
                session, datetime.now(UTC), settings.warning_baseline_seconds
            ),
            "warning.baselines_failed",
        )
    )
    # Detection health: rule spikes raise operational alerts; the health gauges are refreshed.
    runtime.extras[HEALTH_KEY] = asyncio.create_task(
        _periodically(
            runtime,
            settings.health_check_seconds,
            lambda session: operational.check_rules(
                session, now=datetime.now(UTC), thresholds=settings.spike_thresholds
            ),
            "health.check_failed",
        )
    )


async def _periodically(
    runtime: ServiceRuntime,
    every_seconds: float,
    job: Callable[[AsyncSession], Awaitable[object]],
    failure: str,
) -> None:
    """Run `job` in a transaction of its own every `every_seconds` (a failed pass is logged
    and retried on the next)."""
    while True:
        try:
            async with runtime.session_factory() as session, session.begin():
                await job(session)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the next pass tries again
            log.warning(failure, error=type(exc).__name__)
        await asyncio.sleep(every_seconds)


async def stop_alert_desk(runtime: ServiceRuntime) -> None:
    for key in (REVIEWS_DUE_KEY, BASELINES_KEY, HEALTH_KEY):
        task = runtime.extras.pop(key, None)
        if isinstance(task, asyncio.Task):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    desk = runtime.extras.pop(RUNTIME_KEY, None)
    if isinstance(desk, AlertDesk):
        await desk.listener.stop()


def alert_desk(runtime: ServiceRuntime) -> AlertDesk:
    return cast(AlertDesk, runtime.extras[RUNTIME_KEY])


def sse_event(alert: Alert, identity: Identity) -> str:
    data = alert_for(AlertOut.model_validate(alert), identity).model_dump_json()
    return f"id: {alert.change_seq}\nevent: alert\ndata: {data}\n\n"


async def alert_stream(
    session_factory: async_sessionmaker[AsyncSession],
    hub: WakeHub,
    *,
    filters: AlertFilters,
    identity: Identity,
    resume_seq: int | None,
    heartbeat_seconds: float,
    max_seconds: float,
    disconnected: Callable[[], Awaitable[bool]],
) -> AsyncIterator[str]:
    """Each alert inserted or changed after the stream opened (or after `resume_seq`) that
    the filters select and the caller may see, as `event: alert` (id = its change), until the
    caller leaves or `max_seconds` have passed."""
    deadline = time.monotonic() + max_seconds
    with hub.subscribe() as woken:
        async with session_factory() as session:
            last_seq = (
                resume_seq if resume_seq is not None else await repository.last_change_seq(session)
            )
        yield ": connected\n\n"
        while time.monotonic() < deadline and not await disconnected():
            woken.clear()
            async with session_factory() as session:
                rows = await repository.alerts_changed_after(
                    session, filters, after_seq=last_seq, limit=STREAM_BATCH
                )
                events = [sse_event(alert, identity) for alert in rows]
            if rows:
                last_seq = rows[-1].change_seq
                for event in events:
                    yield event
                continue
            wait = min(heartbeat_seconds, max(deadline - time.monotonic(), 0.0))
            if not await wait_event(woken, wait):
                yield ": ping\n\n"
