"""Event handlers of the scoring service: every `customer.*` event, a batch at a time."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_scoring.config import Settings
from riskwatch_scoring.models import CUSTOMER_OWNERS
from riskwatch_scoring.risk_dashboard import record_directory
from riskwatch_scoring.runtime import scoring_runtime
from riskwatch_shared.app import ServiceRuntime
from riskwatch_shared.events.customer import (
    AccountChanged,
    CreditRecordAdded,
    CustomerCreated,
    CustomerEvent,
    CustomerUpdated,
    FinancialProfileUpdated,
    InteractionLogged,
    RiskMeasureRecorded,
    TransactionReceived,
)
from riskwatch_shared.events.streams import CUSTOMER_STREAM
from riskwatch_shared.messaging.consumer import Batched, ConsumerSpec, customer_key
from riskwatch_shared.ownership import record_owners

CONSUMED: tuple[type[CustomerEvent], ...] = (
    CustomerCreated,
    CustomerUpdated,
    CreditRecordAdded,
    FinancialProfileUpdated,
    InteractionLogged,
    AccountChanged,
    TransactionReceived,
    RiskMeasureRecorded,
)


def consumer_specs(runtime: ServiceRuntime) -> Sequence[ConsumerSpec]:
    settings = runtime.settings
    assert isinstance(settings, Settings)
    scorer = scoring_runtime(runtime).scorer

    async def handle_batch(events: Sequence[CustomerEvent], session: AsyncSession) -> None:
        await scorer.handle_batch(events, session)
        await record_owners(session, CUSTOMER_OWNERS, events)
        await record_directory(session, events)

    return [
        ConsumerSpec(
            durable=settings.consumer_durable,
            stream=CUSTOMER_STREAM.name,
            subjects=["customer.>"],
            handling=Batched(CONSUMED, handle_batch),
            batch_size=settings.consumer_batch_size,
            fetch_timeout=settings.consumer_fetch_timeout,
            ack_wait=60.0,
            pipeline_depth=settings.consumer_pipeline_depth,
            pipeline_by=customer_key,
        )
    ]
