"""customer_state storage: blobs kept inline and uncompressed, new and locked rows written in
one statement."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_scoring import repository
from riskwatch_shared.db.session import create_engine, create_session_factory


@pytest.fixture
async def session(scoring_db: str) -> AsyncIterator[AsyncSession]:
    engine = create_engine(scoring_db, pool_size=1)
    try:
        async with create_session_factory(engine)() as session:
            yield session
    finally:
        await engine.dispose()


def _blob(size: int) -> bytes:
    """Very compressible, like the JSON states: the default 2 KB target would pglz it."""
    return (b'{"buckets":[[1700000000,1,12.5],' * size)[:size]


async def _stored(session: AsyncSession, customer_id: uuid.UUID) -> tuple[int, int, bytes]:
    row = (
        await session.execute(
            text(
                "SELECT version, pg_column_size(state) AS stored, state "
                "FROM customer_state WHERE customer_id = :id"
            ),
            {"id": customer_id},
        )
    ).one()
    return row.version, row.stored, row.state


async def test_a_state_blob_up_to_8_kb_is_stored_inline_uncompressed(
    session: AsyncSession,
) -> None:
    customer_id, blob = uuid.uuid4(), _blob(6_000)
    async with session.begin():
        options = await session.scalar(
            text("SELECT reloptions FROM pg_class WHERE relname = 'customer_state'")
        )
        await repository.write_states(session, inserted=[(customer_id, 1, blob, None)], updated=[])
    async with session.begin():
        version, stored, state = await _stored(session, customer_id)
    assert options == ["toast_tuple_target=8160"]
    assert (version, state) == (1, blob)
    assert stored >= len(blob)  # compressed it would be a fraction of it


async def test_new_and_locked_states_are_written_in_one_call(session: AsyncSession) -> None:
    known, new = uuid.uuid4(), uuid.uuid4()
    async with session.begin():
        await repository.write_states(session, inserted=[(known, 1, b"known-1", None)], updated=[])
    async with session.begin():
        locked = await repository.lock_states(session, {known: 1, new: -1})
        await repository.write_states(
            session, inserted=[(new, 1, b"new-1", None)], updated=[(known, 2, b"known-2", None)]
        )
    async with session.begin():
        known_row, new_row = await _stored(session, known), await _stored(session, new)
    assert [row["customer_id"] for row in locked] == [known]
    assert (known_row[0], known_row[2]) == (2, b"known-2")
    assert (new_row[0], new_row[2]) == (1, b"new-1")


async def test_inserting_a_state_that_exists_fails_loudly(session: AsyncSession) -> None:
    known, other = uuid.uuid4(), uuid.uuid4()
    async with session.begin():
        await repository.write_states(session, inserted=[(known, 1, b"known-1", None)], updated=[])
        await repository.write_states(session, inserted=[(other, 1, b"other-1", None)], updated=[])
    with pytest.raises(asyncpg.UniqueViolationError):
        async with session.begin():
            await repository.write_states(
                session,
                inserted=[(known, 1, b"again", None)],
                updated=[(other, 2, b"other-2", None)],
            )
    async with session.begin():
        rows = [await _stored(session, known), await _stored(session, other)]
    assert [(version, state) for version, _, state in rows] == [(1, b"known-1"), (1, b"other-1")]
