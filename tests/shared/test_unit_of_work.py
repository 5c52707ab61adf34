"""The kit's unit of work (issue 19): a route only flushes; the kit commits before the response
is sent, so a commit that fails is the caller's 409, never a 2xx over nothing stored; what a
route raised stores nothing (outbox rows included); `after_commit` actions run only once the
change is durable. Through a real service app (`create_service_app`), real PostgreSQL and NATS.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from fastapi import APIRouter
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import registry

from riskwatch_shared.app import SessionDep, create_service_app
from riskwatch_shared.db.unit_of_work import after_commit
from riskwatch_shared.errors import Conflict
from riskwatch_shared.messaging.outbox import add_events
from riskwatch_shared.security import SYSTEM_IDENTITY
from riskwatch_shared.settings import ServiceSettings
from riskwatch_shared.testing import running_app
from riskwatch_shared.testing.fixtures import Infra

from .conftest import HANDLED, Pinged


@dataclass
class HandledRow:
    event_id: uuid.UUID
    consumer: str
    n: int


registry().map_imperatively(HandledRow, HANDLED)


@dataclass
class Journal:
    """What the after-commit actions saw: the rows committed at the time each one ran."""

    committed_rows_seen: list[int] = field(default_factory=list)


def _id(n: int) -> uuid.UUID:
    return uuid.UUID(int=n)


def uow_router(engine: AsyncEngine, journal: Journal) -> APIRouter:
    router = APIRouter(prefix="/v1/uow-test")

    async def count_committed() -> None:
        # Another connection: it sees only what is committed.
        async with engine.connect() as conn:
            journal.committed_rows_seen.append(
                int(await conn.scalar(select(func.count()).select_from(HANDLED)) or 0)
            )

    @router.post("/rows/{n}")
    async def add_row(n: int, session: SessionDep) -> dict[str, int]:
        """Adds a row without flushing: it reaches the database at the kit's commit."""
        session.add(HandledRow(event_id=_id(n), consumer="uow", n=n))
        after_commit(session, count_committed)
        return {"stored": n}

    @router.post("/rows/{n}/flushed")
    async def add_flushed_row(n: int, session: SessionDep) -> dict[str, int]:
        """Writes at once: a duplicate fails inside the route."""
        await session.execute(insert(HANDLED).values(event_id=_id(n), consumer="uow", n=n))
        after_commit(session, count_committed)
        return {"stored": n}

    @router.post("/rows/{n}/refused")
    async def refuse_after_writing(n: int, session: SessionDep) -> dict[str, int]:
        await session.execute(insert(HANDLED).values(event_id=_id(n), consumer="uow", n=n))
        await add_events(session, Pinged(n=n))
        after_commit(session, count_committed)
        raise Conflict("refused after writing")

    return router


@pytest.fixture
async def service(
    infra: Infra, messaging_db: str, engine: AsyncEngine
) -> AsyncIterator[tuple[httpx.AsyncClient, Journal]]:
    journal = Journal()
    settings = ServiceSettings(
        service_name="uowtest", database_url=messaging_db, NATS_URL=infra.nats_url
    )
    app = create_service_app(
        settings=settings,
        title="unit of work test",
        description="",
        routers=[uow_router(engine, journal)],
    )
    async with running_app(app, identity=SYSTEM_IDENTITY) as (client, _runtime):
        yield client, journal


async def _rows(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(HANDLED)) or 0)


async def _outbox_rows(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.exec_driver_sql("SELECT count(*) FROM outbox")).scalar() or 0)


async def test_a_route_that_only_adds_is_committed_before_its_answer(
    service: tuple[httpx.AsyncClient, Journal], engine: AsyncEngine
) -> None:
    client, journal = service
    response = await client.post("/v1/uow-test/rows/1")
    assert response.status_code == 200, response.text
    assert await _rows(engine) == 1
    # The after-commit action ran before the answer, and saw the row committed.
    assert journal.committed_rows_seen == [1]


async def test_a_unique_violation_at_the_commit_is_a_409_not_a_2xx(
    service: tuple[httpx.AsyncClient, Journal], engine: AsyncEngine
) -> None:
    client, journal = service
    assert (await client.post("/v1/uow-test/rows/2")).status_code == 200
    duplicate = await client.post("/v1/uow-test/rows/2")
    assert duplicate.status_code == 409, duplicate.text
    assert duplicate.headers["content-type"].startswith("application/problem+json")
    problem = duplicate.json()
    assert problem["status"] == 409
    assert "00000000" not in problem["detail"]  # the constraint's name, never the value
    assert await _rows(engine) == 1
    assert journal.committed_rows_seen == [1]  # nothing ran after the failed commit


async def test_a_unique_violation_at_a_flush_in_the_route_is_a_409(
    service: tuple[httpx.AsyncClient, Journal], engine: AsyncEngine
) -> None:
    client, journal = service
    assert (await client.post("/v1/uow-test/rows/3/flushed")).status_code == 200
    duplicate = await client.post("/v1/uow-test/rows/3/flushed")
    assert duplicate.status_code == 409, duplicate.text
    assert duplicate.headers["content-type"].startswith("application/problem+json")
    assert await _rows(engine) == 1
    assert journal.committed_rows_seen == [1]


async def test_what_a_route_raised_stores_nothing_outbox_included(
    service: tuple[httpx.AsyncClient, Journal], engine: AsyncEngine
) -> None:
    client, journal = service
    refused = await client.post("/v1/uow-test/rows/4/refused")
    assert refused.status_code == 409, refused.text
    assert await _rows(engine) == 0
    assert await _outbox_rows(engine) == 0
    assert journal.committed_rows_seen == []
