"""Event handlers of the notify service: alerts raised become notifications; an
acknowledgement (or resolution) stops the escalation at once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import cast

from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_notify import operational, planner, queue
from riskwatch_notify.config import Settings
from riskwatch_notify.models import CUSTOMER_OWNERS
from riskwatch_shared.app import ServiceRuntime
from riskwatch_shared.events.alerting import (
    AlertRaised,
    AlertUpdated,
    CustomerEnteredWatchlist,
    CustomerExitedWatchlist,
    OperationalAlertRaised,
    WatchlistReviewDue,
    WatchlistReviewed,
)
from riskwatch_shared.events.notify import EscalationCancelled
from riskwatch_shared.messaging.consumer import Batched, BatchHandler, ConsumerSpec
from riskwatch_shared.messaging.outbox import add_events
from riskwatch_shared.ownership import record_owners

STOPS_ESCALATION = frozenset({"acknowledged", "resolved"})


def stops_escalation(event: AlertUpdated) -> bool:
    return event.change in STOPS_ESCALATION or event.status in {
        "acknowledged",
        "resolved",
        "closed",
    }


AlertEvent = (
    AlertRaised
    | AlertUpdated
    | CustomerEnteredWatchlist
    | WatchlistReviewed
    | CustomerExitedWatchlist
    | WatchlistReviewDue
    | OperationalAlertRaised
)
WATCHLIST_EVENTS = (
    CustomerEnteredWatchlist,
    WatchlistReviewed,
    CustomerExitedWatchlist,
    WatchlistReviewDue,
)


def alert_events_handler(settings: Settings) -> BatchHandler[AlertEvent]:
    async def handle_alert_events(events: Sequence[AlertEvent], session: AsyncSession) -> None:
        """A fetched batch in one transaction: intake first, then acknowledgements."""
        now = datetime.now(UTC)
        raised = [e for e in events if isinstance(e, AlertRaised)]
        watchlist = [e for e in events if isinstance(e, WATCHLIST_EVENTS)]
        # Watch-list events name the customer's RM too: their inbox shows them by it.
        await record_owners(session, CUSTOMER_OWNERS, [*raised, *watchlist])
        if raised:
            await planner.take_in_alerts(session, raised, settings=settings, now=now)
        if watchlist:
            await planner.take_in_watchlist_events(session, watchlist, settings=settings, now=now)
        operational_alerts = [e for e in events if isinstance(e, OperationalAlertRaised)]
        if operational_alerts:
            await operational.take_in(session, operational_alerts, settings=settings, now=now)
        stopping = [e for e in events if isinstance(e, AlertUpdated) and stops_escalation(e)]
        if stopping:
            cancelled = await queue.acknowledge_alerts(session, [e.alert_id for e in stopping], now)
            causes = {e.alert_id: e.change for e in stopping}
            # A cancelled escalation leaves a trace: the case timeline shows it.
            await add_events(
                session,
                *(
                    EscalationCancelled(
                        alert_id=alert_id,
                        steps_done=steps,
                        cancelled_notifications=pages,
                        cause=causes.get(alert_id, "acknowledged"),
                    )
                    for alert_id, (steps, pages) in cancelled.items()
                ),
            )

    return handle_alert_events


def consumer_specs(runtime: ServiceRuntime) -> Sequence[ConsumerSpec]:
    settings = cast(Settings, runtime.settings)
    return [
        ConsumerSpec(
            durable=settings.alert_consumer_durable,
            stream="ALERTING",
            subjects=["alerting.>"],
            handling=Batched[AlertEvent](
                (AlertRaised, AlertUpdated, *WATCHLIST_EVENTS, OperationalAlertRaised),
                alert_events_handler(settings),
            ),
            batch_size=settings.consumer_batch_size,
            ack_wait=60.0,
            # Intake takes its own lock (digest windows span customers); no per-customer ones.
            serialize_by=None,
        )
    ]
