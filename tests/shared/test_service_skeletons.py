"""Every service migrates, starts, connects to NATS and serves health, readiness, metrics and
its OpenAPI document."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from riskwatch_shared.testing import running_app, wait_until
from riskwatch_shared.testing.fixtures import Infra, migrated_database

SERVICES = ["customer", "scoring", "alerting", "notify"]


@pytest.fixture(params=SERVICES)
async def service_db(
    request: pytest.FixtureRequest, infra: Infra
) -> AsyncIterator[tuple[str, str]]:
    name: str = request.param
    package = importlib.import_module(f"riskwatch_{name}")
    alembic_ini = Path(package.__file__ or "").parent / "alembic.ini"
    async for url in migrated_database(infra, alembic_ini, name):
        yield name, url


async def test_service_starts_and_reports_ready(service_db: tuple[str, str], infra: Infra) -> None:
    name, url = service_db
    config = importlib.import_module(f"riskwatch_{name}.config")
    main = importlib.import_module(f"riskwatch_{name}.main")
    settings = config.Settings(database_url=url, NATS_URL=infra.nats_url)
    async with running_app(main.create_app(settings)) as (client, runtime):
        assert (await client.get("/healthz")).json()["status"] == "ok"

        async def ready_response() -> httpx.Response | None:
            response = await client.get("/readyz")
            return response if response.status_code == 200 else None

        # Consumers bind their pull subscriptions in the background just after start-up.
        ready = await wait_until(ready_response, timeout=20, message=f"{name} ready")
        assert ready is not None
        assert ready.json()["checks"]["database"] is True
        assert ready.json()["checks"]["nats"] is True
        metrics = await client.get("/metrics")
        assert "riskwatch_http_requests_total" in metrics.text
        doc = (await client.get("/openapi.json")).json()
        assert doc["info"]["title"].startswith("RiskWatch")
        assert runtime.bus.connected
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        tables = set(
            (await conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname='public'")))
            .scalars()
            .all()
        )
    await engine.dispose()
    assert {"outbox", "inbox", "alembic_version"} <= tables
