"""The customer service over real PostgreSQL and JetStream: one migrated database and one
running app (lifespan, outbox relay, risk-level consumer) for the whole customer test run."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import nats.errors
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import text

import riskwatch_customer
from riskwatch_customer.config import Settings
from riskwatch_customer.main import create_app
from riskwatch_shared.app import ServiceRuntime
from riskwatch_shared.security import Identity
from riskwatch_shared.testing import identity_headers, running_app, wait_until
from riskwatch_shared.testing.fixtures import Infra, migrated_database

ALEMBIC_INI = Path(riskwatch_customer.__file__).parent / "alembic.ini"
ADMIN = Identity(subject="admin-1", roles=("admin",), staff_id="admin-1")


@dataclass
class CustomerApp:
    client: httpx.AsyncClient
    runtime: ServiceRuntime

    def as_(self, identity: Identity) -> dict[str, str]:
        """Headers that make one request come from `identity`."""
        return identity_headers(identity)

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.runtime.engine.connect() as conn:
            return await conn.scalar(text(sql), params)


@pytest.fixture(scope="package")
async def customer_db(infra: Infra) -> AsyncIterator[str]:
    async for url in migrated_database(infra, ALEMBIC_INI, "customer"):
        yield url


@pytest.fixture(scope="package")
async def app(customer_db: str, infra: Infra) -> AsyncIterator[CustomerApp]:
    settings = Settings(database_url=customer_db, NATS_URL=infra.nats_url, log_level="WARNING")
    async with running_app(create_app(settings), identity=ADMIN) as (client, runtime):
        yield CustomerApp(client, runtime)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def customer_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "individual",
        "name": "Ada Lovelace",
        "document_type": "passport",
        "document_number": unique("P"),
        "phone": "+44 20 7946 0958",
        "email": "ada@example.com",
        "address": "12 St James's Square, London",
        "country": "GB",
        "segment": "retail",
        "relationship_manager": "rm-1",
        "tags": ["vip"],
    }
    return body | overrides


def transaction_body(customer_id: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "external_id": unique("core"),
        "customer_id": customer_id,
        "direction": "outbound",
        "amount": "125.50",
        "currency": "EUR",
        "channel": "card",
        "counterparty_name": "Coffee Ltd",
        "merchant_category_code": "5814",
        "ip_address": "192.0.2.10",
        "country": "GB",
        "occurred_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
    }
    return body | overrides


CreateCustomer = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def create_customer(app: CustomerApp) -> CreateCustomer:
    async def create(**overrides: Any) -> dict[str, Any]:
        response = await app.client.post("/v1/customers", json=customer_body(**overrides))
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    return create


async def stream_payloads(app: CustomerApp, subject: str) -> list[dict[str, Any]]:
    """Every message of `subject` on the CUSTOMER stream right now (ephemeral consumer)."""
    js = app.runtime.bus.js
    config = ConsumerConfig(
        deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE, inactive_threshold=10.0
    )
    sub = await js.pull_subscribe(subject, stream="CUSTOMER", config=config)
    payloads: list[dict[str, Any]] = []
    try:
        while True:
            try:
                msgs = await sub.fetch(1000, timeout=0.3)
            except (nats.errors.TimeoutError, TimeoutError):
                return payloads
            payloads += [json.loads(msg.data) for msg in msgs]
    finally:
        await sub.unsubscribe()


async def published(
    app: CustomerApp, subject: str, match: Callable[[dict[str, Any]], bool], *, count: int = 1
) -> list[dict[str, Any]]:
    """Wait until `count` messages matching `match` are on the stream (the relay published them)."""

    async def found() -> list[dict[str, Any]]:
        matching = [p for p in await stream_payloads(app, subject) if match(p)]
        return matching if len(matching) >= count else []

    return await wait_until(found, timeout=15, message=f"{count} x {subject} published")
