"""Event handlers of the customer service: the risk levels the scoring service announces, and
an alert's follow-up (contacts, risk-control measures) the alerting service announces."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_customer import follow_up, repository
from riskwatch_shared.app import ServiceRuntime
from riskwatch_shared.events.alerting import CustomerContacted, RiskMeasureTaken
from riskwatch_shared.events.scoring import CustomerRiskLevelChanged
from riskwatch_shared.events.streams import ALERTING_STREAM, SCORING_STREAM
from riskwatch_shared.messaging.consumer import Batched, ConsumerSpec, PerEvent

RISK_LEVELS_DURABLE = "customer-risk-levels"
FOLLOW_UP_DURABLE = "customer-alert-follow-up"


def latest_levels(
    events: Sequence[CustomerRiskLevelChanged],
) -> list[repository.RiskLevelUpdate]:
    """The highest-sequence level per (customer, model kind) among a batch of events."""
    latest: dict[tuple[object, str], CustomerRiskLevelChanged] = {}
    for event in events:
        key = (event.customer_id, event.model_kind)
        if key not in latest or latest[key].sequence <= event.sequence:
            latest[key] = event
    return [
        repository.RiskLevelUpdate(
            customer_id=e.customer_id,
            kind=e.model_kind,
            level=e.to_level,
            sequence=e.sequence,
            at=e.occurred_at,
        )
        for e in latest.values()
    ]


async def record_risk_levels(
    events: Sequence[CustomerRiskLevelChanged], session: AsyncSession
) -> None:
    """Keep each customer's latest levels; an older sequence arriving late changes nothing."""
    await repository.store_risk_levels(session, latest_levels(events))


def consumer_specs(runtime: ServiceRuntime) -> Sequence[ConsumerSpec]:
    return [
        ConsumerSpec(
            durable=RISK_LEVELS_DURABLE,
            stream=SCORING_STREAM.name,
            subjects=["scoring.customer_risk_level_changed.v1"],
            handling=Batched((CustomerRiskLevelChanged,), record_risk_levels),
            batch_size=runtime.settings.consumer_batch_size,
        ),
        ConsumerSpec(
            durable=FOLLOW_UP_DURABLE,
            stream=ALERTING_STREAM.name,
            subjects=["alerting.customer_contacted.v1", "alerting.risk_measure_taken.v1"],
            handling=PerEvent()
            .on(CustomerContacted, follow_up.record_contact)
            .on(RiskMeasureTaken, follow_up.record_measure),
            batch_size=runtime.settings.consumer_batch_size,
        ),
    ]
