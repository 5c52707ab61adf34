"""Create a service's database if missing and run its Alembic migrations."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

from riskwatch_shared.settings import to_asyncpg_dsn


async def ensure_database(url: str) -> bool:
    """CREATE DATABASE when it does not exist. Returns True when it was created."""
    target = make_url(url)
    db_name = target.database
    if not db_name:
        raise ValueError("the database URL names no database")
    admin_dsn = to_asyncpg_dsn(target.set(database="postgres").render_as_string(False))
    conn = await asyncpg.connect(admin_dsn)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", db_name)
        if exists:
            return False
        try:
            await conn.execute(f'CREATE DATABASE "{db_name}"')
        except asyncpg.DuplicateDatabaseError:
            return False
        return True
    finally:
        await conn.close()


async def drop_database(url: str) -> None:
    target = make_url(url)
    admin_dsn = to_asyncpg_dsn(target.set(database="postgres").render_as_string(False))
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')
    finally:
        await conn.close()


def alembic_config(alembic_ini: Path, url: str) -> Config:
    config = Config(str(alembic_ini))
    config.set_main_option("script_location", str(alembic_ini.parent / "migrations"))
    config.attributes["database_url"] = url
    return config


def run_migrations(alembic_ini: Path, url: str, revision: str = "head") -> None:
    """Blocking: create the database and upgrade it. Call from a thread inside an event loop."""
    asyncio.run(ensure_database(url))
    command.upgrade(alembic_config(alembic_ini, url), revision)


def downgrade(alembic_ini: Path, url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(alembic_ini, url), revision)
