"""Event handlers of the alerting service: scoring and customer events through the pipeline."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_alerting.cases import service as cases
from riskwatch_alerting.health import operational
from riskwatch_alerting.pipeline import AlertPipeline
from riskwatch_shared.app import ServiceRuntime
from riskwatch_shared.events.base import Event
from riskwatch_shared.events.customer import (
    AccountChanged,
    CreditRecordAdded,
    CustomerCreated,
    CustomerEvent,
    CustomerUpdated,
    FinancialProfileUpdated,
    InteractionLogged,
)
from riskwatch_shared.events.notify import (
    DeliveryFailed,
    EscalationCancelled,
    NotificationSent,
    NotifyEvent,
)
from riskwatch_shared.events.scoring import (
    CustomerAssessed,
    CustomerRiskLevelChanged,
    ModelDriftDetected,
    ScoringEvent,
    TransactionScored,
    TransactionScoredV2,
)
from riskwatch_shared.messaging.consumer import Batched, ConsumerSpec

SCORING_EVENTS: tuple[type[ScoringEvent], ...] = (
    TransactionScoredV2,
    TransactionScored,  # v1, while older messages remain in the stream
    CustomerRiskLevelChanged,
    CustomerAssessed,
)
CUSTOMER_EVENTS: tuple[type[CustomerEvent], ...] = (
    CustomerCreated,
    CustomerUpdated,
    CreditRecordAdded,
    FinancialProfileUpdated,
    InteractionLogged,
    AccountChanged,
)

NOTIFY_EVENTS: tuple[type[NotifyEvent], ...] = (
    NotificationSent,
    DeliveryFailed,
    EscalationCancelled,
)


def pipeline_of(runtime: ServiceRuntime) -> AlertPipeline:
    pipeline = runtime.extras.get("pipeline")
    if not isinstance(pipeline, AlertPipeline):
        public_url = getattr(runtime.settings, "public_url", None)
        case_policy = getattr(runtime.settings, "case_policy", None)
        pipeline = runtime.extras["pipeline"] = AlertPipeline(
            public_url=public_url,
            case_policy=case_policy,
            warning_baseline_seconds=getattr(runtime.settings, "warning_baseline_seconds", 600.0),
            warning_owner=getattr(runtime.settings, "warning_owner", "risk-department"),
        )
    return pipeline


def consumer_specs(runtime: ServiceRuntime) -> Sequence[ConsumerSpec]:
    pipeline = pipeline_of(runtime)
    batch_size = runtime.settings.consumer_batch_size
    prefix = getattr(runtime.settings, "consumer_prefix", "alerting")

    async def handle(events: Sequence[Event], session: AsyncSession) -> None:
        await pipeline.handle_batch(events, session)

    async def handle_notify(events: Sequence[NotifyEvent], session: AsyncSession) -> None:
        await cases.record_notify_events(session, events)

    async def handle_drift(events: Sequence[ModelDriftDetected], session: AsyncSession) -> None:
        await operational.take_in_drift(session, events)

    return [
        ConsumerSpec(
            durable=f"{prefix}-scoring",
            stream="SCORING",
            subjects=["scoring.>"],
            handling=Batched(SCORING_EVENTS, handle),
            batch_size=batch_size,
        ),
        ConsumerSpec(
            durable=f"{prefix}-customer",
            stream="CUSTOMER",
            subjects=["customer.>"],
            handling=Batched(CUSTOMER_EVENTS, handle),
            batch_size=batch_size,
        ),
        # A model's drift (scoring's periodic check): an operational alert to its owners.
        ConsumerSpec(
            durable=f"{prefix}-model-drift",
            stream="SCORING",
            subjects=["scoring.model_drift_detected.v1"],
            handling=Batched((ModelDriftDetected,), handle_drift),
            batch_size=batch_size,
        ),
        # What notify did about alerts (sent, failed, escalations cancelled): case timelines.
        ConsumerSpec(
            durable=f"{prefix}-notify",
            stream="NOTIFY",
            subjects=["notify.>"],
            handling=Batched(NOTIFY_EVENTS, handle_notify),
            batch_size=batch_size,
        ),
    ]
