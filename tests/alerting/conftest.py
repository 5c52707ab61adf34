"""Fixtures of the alerting tests: a freshly migrated database on the real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import riskwatch_alerting
from riskwatch_shared.db.session import create_engine, create_session_factory
from riskwatch_shared.testing.fixtures import Infra, migrated_database

ALEMBIC_INI = Path(riskwatch_alerting.__file__).parent / "alembic.ini"


@pytest.fixture
async def alerting_db(infra: Infra) -> AsyncIterator[str]:
    async for url in migrated_database(infra, ALEMBIC_INI, "alerting"):
        yield url


@pytest.fixture
async def session_factory(alerting_db: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(alerting_db, pool_size=4)
    yield create_session_factory(engine)
    await engine.dispose()
