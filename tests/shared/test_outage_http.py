"""While the database is unavailable every route answers 503 problem+json with Retry-After
(never 500) and stores nothing; a service started while it is down serves (alive, not ready,
503) and finishes starting by itself once it is back. A real service (customer) whose
connections go through a proxy that is taken down and brought back."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

import riskwatch_customer
from riskwatch_customer.config import Settings
from riskwatch_customer.main import create_app
from riskwatch_shared.security import Identity
from riskwatch_shared.testing import identity_headers, running_app, wait_until
from riskwatch_shared.testing.fixtures import Infra, migrated_database

from .faultproxy import FaultProxy

ALEMBIC_INI = Path(riskwatch_customer.__file__).parent / "alembic.ini"
ADMIN = Identity(subject="admin-1", roles=("admin",), staff_id="admin-1")


def customer_body() -> dict[str, Any]:
    return {
        "kind": "individual",
        "name": "Ada Lovelace",
        "document_type": "passport",
        "document_number": f"P-{uuid.uuid4().hex[:12]}",
        "country": "GB",
        "segment": "retail",
    }


def transaction_body(customer_id: str) -> dict[str, Any]:
    return {
        "external_id": f"core-{uuid.uuid4().hex[:12]}",
        "customer_id": customer_id,
        "direction": "outbound",
        "amount": "125.50",
        "currency": "EUR",
        "channel": "card",
        "country": "GB",
        "occurred_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
    }


@pytest.fixture
async def customer_db(infra: Infra) -> AsyncIterator[str]:
    async for url in migrated_database(infra, ALEMBIC_INI, "outage"):
        yield url


@pytest.fixture
async def db_proxy(customer_db: str) -> AsyncIterator[FaultProxy]:
    proxy = FaultProxy(customer_db)
    await proxy.start()
    yield proxy
    await proxy.stop()


def _settings(proxy: FaultProxy, infra: Infra) -> Settings:
    return Settings(database_url=proxy.url, NATS_URL=infra.nats_url, log_level="WARNING")


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) > 0
    assert response.json()["type"].endswith("/unavailable")


async def _count(url: str, table: str) -> int:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return int(await conn.scalar(text(f"SELECT count(*) FROM {table}")) or 0)
    finally:
        await engine.dispose()


async def test_routes_answer_503_with_retry_after_while_the_database_is_down(
    infra: Infra, customer_db: str, db_proxy: FaultProxy
) -> None:
    app = create_app(_settings(db_proxy, infra))
    async with running_app(app, identity=ADMIN) as (client, _runtime):
        created = await client.post("/v1/customers", json=customer_body())
        assert created.status_code == 201, created.text
        customer_id = created.json()["id"]
        body = transaction_body(customer_id)
        await db_proxy.down()
        _assert_unavailable(await client.post("/v1/transactions", json=body))
        _assert_unavailable(await client.get(f"/v1/customers/{customer_id}"))
        _assert_unavailable(await client.post("/v1/customers", json=customer_body()))
        # Alive (a restart would not bring the database back), not ready.
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/readyz")).status_code == 503
        await db_proxy.up()

        async def stored() -> httpx.Response | None:
            response = await client.post("/v1/transactions", json=body)
            return response if response.status_code == 201 else None

        # The bank's retry of the same transaction is stored: the failed try left nothing.
        await wait_until(stored, timeout=10, message="stored after the outage")
    assert await _count(customer_db, "transactions") == 1
    assert await _count(customer_db, "customers") == 1


async def test_a_service_started_while_the_database_is_down_serves_503_then_starts(
    infra: Infra, db_proxy: FaultProxy
) -> None:
    await db_proxy.down()
    settings = _settings(db_proxy, infra)
    app = create_app(settings)
    headers = identity_headers(ADMIN)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", headers=headers
        ) as client:
            assert app.state.runtime is None
            health = await client.get("/healthz")
            assert (health.status_code, health.json()["status"]) == (200, "starting")
            assert (await client.get("/readyz")).status_code == 503
            _assert_unavailable(await client.post("/v1/customers", json=customer_body()))
            await db_proxy.up()

            async def ready() -> bool:
                return (await client.get("/readyz")).status_code == 200

            await wait_until(ready, timeout=15, message="started after the database came back")
            created = await client.post("/v1/customers", json=customer_body())
            assert created.status_code == 201, created.text


async def test_dead_letter_routes_answer_admins_only(infra: Infra, customer_db: str) -> None:
    settings = Settings(database_url=customer_db, NATS_URL=infra.nats_url, log_level="WARNING")
    analyst = Identity(subject="analyst-1", roles=("analyst",), staff_id="analyst-1")
    async with running_app(create_app(settings), identity=ADMIN) as (client, runtime):
        listed = await client.get("/v1/dead-letters/customer")
        assert listed.status_code == 200, listed.text
        assert listed.json()["consumers"] == [runner.name for runner in runtime.consumers]
        assert (await client.get("/v1/dead-letters/customer/999999999")).status_code == 404
        as_analyst = identity_headers(analyst)
        refused = await client.get("/v1/dead-letters/customer", headers=as_analyst)
        assert refused.status_code == 403
        redrive = "/v1/dead-letters/customer/1/redrive"
        assert (await client.post(redrive, headers=as_analyst)).status_code == 403
