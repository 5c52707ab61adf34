"""The migrations build exactly what models.py describes, and go down and up again."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from riskwatch_notify.models import Base
from riskwatch_shared.db.migrate import downgrade, run_migrations
from riskwatch_shared.testing.fixtures import Infra, migrated_database

from .conftest import ALEMBIC_INI


def _differences(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


async def test_migrations_match_the_models_and_reverse(infra: Infra) -> None:
    async for url in migrated_database(infra, ALEMBIC_INI, "notifymig"):
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                assert await conn.run_sync(_differences) == []
            await asyncio.to_thread(downgrade, ALEMBIC_INI, url, "notify_0001")
            async with engine.connect() as conn:
                assert await conn.run_sync(_tables) == {"alembic_version", "inbox", "outbox"}
            await asyncio.to_thread(run_migrations, ALEMBIC_INI, url)
            async with engine.connect() as conn:
                assert "notifications" in await conn.run_sync(_tables)
                assert await conn.run_sync(_differences) == []
        finally:
            await engine.dispose()
