"""The pre-authorisation read pool against the real database: bounded, and never stuck."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from riskwatch_scoring.config import Settings
from riskwatch_scoring.read_pool import ReadPool
from riskwatch_shared.settings import to_asyncpg_dsn

from .builders import created, wait_for_version
from .conftest import ScoringHarness


def _pool(database_url: str, max_size: int) -> ReadPool:
    return ReadPool(
        to_asyncpg_dsn(Settings(database_url=database_url).sqlalchemy_url), max_size=max_size
    )


async def test_reads_share_at_most_max_size_connections(scoring: ScoringHarness) -> None:
    customer_id = uuid.uuid4()
    await scoring.publish(created(customer_id))
    await wait_for_version(scoring.runtime.engine, customer_id, 1)
    pool = _pool(scoring.database_url, max_size=2)
    try:
        rows = await asyncio.gather(*(pool.read_state(customer_id, -1) for _ in range(20)))
        assert all(row["version"] == 1 and row["state"] is not None for row in rows)
        current = await pool.read_state(customer_id, 1)
        assert current["version"] == 1
        assert current["state"] is None  # the caller's cached copy is current
        assert await pool.read_state(uuid.uuid4(), -1) is None
        assert pool._slots == 2
    finally:
        await pool.close()


async def test_a_failed_read_gives_its_slot_back(scoring: ScoringHarness) -> None:
    pool = _pool(scoring.database_url, max_size=1)
    try:
        with pytest.raises(Exception):  # noqa: B017 - whatever asyncpg raises for a bad id
            await pool.read_state("not-a-uuid", -1)  # type: ignore[arg-type]
        rows = await asyncio.wait_for(
            asyncio.gather(*(pool.read_state(uuid.uuid4(), -1) for _ in range(5))), timeout=10
        )
        assert rows == [None] * 5
        assert pool._slots == 1
    finally:
        await pool.close()
