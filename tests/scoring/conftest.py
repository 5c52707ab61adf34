"""One migrated scoring database and one running scoring app (consumer, relay, API) for the
scoring tests; each test works on its own customers. Inputs are published to the real
CUSTOMER stream; what scoring publishes is collected from the real SCORING stream."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.api import DeliverPolicy

import riskwatch_scoring
from riskwatch_scoring.config import Settings
from riskwatch_scoring.main import create_app
from riskwatch_shared.app import ServiceRuntime
from riskwatch_shared.events.base import Event, parse_event
from riskwatch_shared.security import Identity
from riskwatch_shared.testing import running_app
from riskwatch_shared.testing.fixtures import Infra, migrated_database

ALEMBIC_INI = Path(riskwatch_scoring.__file__).parent / "alembic.ini"
TESTER = Identity(subject="scoring-tester", roles=("admin",))


@dataclass
class PublishedEvents:
    """Every scoring.* event published while the tests run, parsed."""

    events: list[Event] = field(default_factory=list)

    async def on_message(self, msg: Msg) -> None:
        self.events.append(parse_event(msg.subject, msg.data))

    def of(self, event_type: str, customer_id: uuid.UUID) -> list[Event]:
        return [e for e in self.events if e.type == event_type and e.customer_id == customer_id]


@dataclass
class ScoringHarness:
    client: httpx.AsyncClient
    runtime: ServiceRuntime
    published: PublishedEvents
    database_url: str

    async def publish(self, *events: Event, msg_id_suffix: str = "") -> None:
        js = self.runtime.bus.js
        for event in events:
            await js.publish(
                event.type,
                event.to_json_bytes(),
                headers={"Nats-Msg-Id": f"{event.id}{msg_id_suffix}"},
            )


@pytest.fixture(scope="session")
async def scoring_db(infra: Infra) -> AsyncIterator[str]:
    async for url in migrated_database(infra, ALEMBIC_INI, "scoring"):
        yield url


# Package scope: the running service consumes every customer event on the shared NATS, so it
# must stop when the scoring tests end, not score other areas' customers after them.
@pytest.fixture(scope="package")
async def scoring(infra: Infra, scoring_db: str) -> AsyncIterator[ScoringHarness]:
    settings = Settings(
        database_url=scoring_db,
        NATS_URL=infra.nats_url,
        consumer_durable=f"scoring-test-{uuid.uuid4().hex[:8]}",
        consumer_fetch_timeout=0.2,
        drift_min_scores=20,
        drift_baseline_size=20,
        model_refresh_seconds=0.5,
    )
    published = PublishedEvents()
    async with running_app(create_app(settings), identity=TESTER) as (client, runtime):
        subscription: Subscription = await runtime.bus.js.subscribe(
            "scoring.>",
            cb=published.on_message,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.NEW,
        )
        try:
            yield ScoringHarness(client, runtime, published, scoring_db)
        finally:
            await subscription.unsubscribe()
