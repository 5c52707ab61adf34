"""Event handlers of the alerting service: scoring and customer events through the pipeline."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_alerting.cases import service as cases
from riskwatch_alerting.pipeline import AlertPipeline
from riskwatch_shared.app import ServiceRuntime
from riskwatch_shared.events.base import Event
from riskwatch_shared.events.customer import (
    AccountChanged,
    CreditRecordAdded,
    CustomerCreated,
    CustomerUpdated,
    FinancialProfileUpdated,
    InteractionLogged,
)
from riskwatch_shared.events.notify import DeliveryFailed, EscalationCancelled, NotificationSent
from riskwatch_shared.events.scoring import (
    CustomerAssessed,
    CustomerRiskLevelChanged,
    TransactionScored,
)
from riskwatch_shared.messaging.consumer import ConsumerSpec, Handler

SCORING_EVENTS: tuple[type[Event], ...] = (
    TransactionScored,
    CustomerRiskLevelChanged,
    CustomerAssessed,
)
CUSTOMER_EVENTS: tuple[type[Event], ...] = (
    CustomerCreated,
    CustomerUpdated,
    CreditRecordAdded,
    FinancialProfileUpdated,
    InteractionLogged,
    AccountChanged,
)

NOTIFY_EVENTS: tuple[type[Event], ...] = (NotificationSent, DeliveryFailed, EscalationCancelled)


async def _unused_single_handler(event: Any, session: AsyncSession) -> None:
    raise AssertionError("the batch handler handles every event")  # pragma: no cover


def _handlers(event_classes: Sequence[type[Event]]) -> dict[type[Event], Handler]:
    return dict.fromkeys(event_classes, _unused_single_handler)


def pipeline_of(runtime: ServiceRuntime) -> AlertPipeline:
    pipeline = runtime.extras.get("pipeline")
    if not isinstance(pipeline, AlertPipeline):
        public_url = getattr(runtime.settings, "public_url", None)
        case_policy = getattr(runtime.settings, "case_policy", None)
        pipeline = runtime.extras["pipeline"] = AlertPipeline(
            public_url=public_url, case_policy=case_policy
        )
    return pipeline


def consumer_specs(runtime: ServiceRuntime) -> Sequence[ConsumerSpec]:
    pipeline = pipeline_of(runtime)
    batch_size = runtime.settings.consumer_batch_size
    prefix = getattr(runtime.settings, "consumer_prefix", "alerting")

    async def handle(events: list[Event], session: AsyncSession) -> None:
        await pipeline.handle_batch(events, session)

    async def handle_notify(events: list[Event], session: AsyncSession) -> None:
        await cases.record_notify_events(session, events)

    return [
        ConsumerSpec(
            durable=f"{prefix}-scoring",
            stream="SCORING",
            subjects=["scoring.>"],
            handlers=_handlers(SCORING_EVENTS),
            batch_handler=handle,
            batch_size=batch_size,
        ),
        ConsumerSpec(
            durable=f"{prefix}-customer",
            stream="CUSTOMER",
            subjects=["customer.>"],
            handlers=_handlers(CUSTOMER_EVENTS),
            batch_handler=handle,
            batch_size=batch_size,
        ),
        # What notify did about alerts (sent, failed, escalations cancelled): case timelines.
        ConsumerSpec(
            durable=f"{prefix}-notify",
            stream="NOTIFY",
            subjects=["notify.>"],
            handlers=_handlers(NOTIFY_EVENTS),
            batch_handler=handle_notify,
            batch_size=batch_size,
        ),
    ]
