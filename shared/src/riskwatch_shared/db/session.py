"""Async engine and session handling."""

from __future__ import annotations

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
        # Behind a transaction-mode pooler prepared statements break; names stay unique anyway.
        connect_args={"server_settings": {"application_name": "riskwatch"}},
    )


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
