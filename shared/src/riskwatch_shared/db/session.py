"""Async engine and session handling."""

from __future__ import annotations

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def create_engine(url: str, *, pool_size: int = 10, pre_ping: bool = False) -> AsyncEngine:
    # No pre-ping by default: it costs three statements per checkout on the hot path, and a
    # connection broken by a database restart is dropped from the pool on its first error.
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=pre_ping,
        # SQL parameters are customers' personal data: never in an error message or a log.
        hide_parameters=True,
        # Behind a transaction-mode pooler prepared statements break; names stay unique anyway.
        connect_args={"server_settings": {"application_name": "riskwatch"}},
    )


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def transaction_connection(session: AsyncSession) -> asyncpg.Connection:
    """The session's asyncpg connection, inside the session's transaction (begun if not yet).

    Hot paths send their batch statements here, skipping SQLAlchemy's per-row parameter
    processing, and they still commit or roll back with everything else the session does.
    """
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    assert isinstance(driver, asyncpg.Connection), "the engine runs on asyncpg"
    if not driver.is_in_transaction():
        await session.execute(text("SELECT 1"))  # SQLAlchemy opens its transaction lazily
    return driver
