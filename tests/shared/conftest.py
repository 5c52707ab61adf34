"""Fixtures for the shared kit's messaging tests: a scratch database and a scratch stream."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Literal

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, Uuid
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from riskwatch_shared.db.base import new_metadata
from riskwatch_shared.db.migrate import drop_database, ensure_database
from riskwatch_shared.db.session import create_engine, create_session_factory
from riskwatch_shared.events.base import Event, register
from riskwatch_shared.events.streams import DEADLETTER_STREAM, StreamSpec
from riskwatch_shared.messaging.bus import MessageBus, ensure_streams
from riskwatch_shared.testing.fixtures import Infra

TEST_STREAM = StreamSpec("RWTEST", ("rwtest.>",), max_age_seconds=3600)


@register
class Pinged(Event, frozen=True, kw_only=True):
    type: Literal["rwtest.pinged.v1"] = "rwtest.pinged.v1"
    source: str = "tests"
    n: int = 0


METADATA: MetaData = new_metadata()
HANDLED = Table(
    "handled",
    METADATA,
    Column("event_id", Uuid, primary_key=True),
    Column("consumer", String(100), nullable=False),
    Column("n", Integer, nullable=False),
)


@pytest.fixture(scope="session")
async def messaging_db(infra: Infra) -> AsyncIterator[str]:
    url = infra.database_url(f"rwtest_shared_{uuid.uuid4().hex[:8]}")
    await ensure_database(url)
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(METADATA.create_all)
    await engine.dispose()
    yield url
    await drop_database(url)


@pytest.fixture
async def engine(messaging_db: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(messaging_db)
    async with engine.begin() as conn:
        for table in ("handled", "outbox", "inbox"):
            await conn.exec_driver_sql(f"TRUNCATE {table}")
    yield engine
    await engine.dispose()


@pytest.fixture
def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


@pytest.fixture
async def bus(infra: Infra) -> AsyncIterator[MessageBus]:
    bus = MessageBus(infra.nats_url, name="rwtest")
    await bus.connect()
    await ensure_streams(bus.js, specs=(TEST_STREAM, DEADLETTER_STREAM))
    await bus.js.purge_stream(TEST_STREAM.name)
    yield bus
    await bus.close()
