"""Bulk statements built from a table: column types from the Table, rows as NamedTuples."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import NamedTuple

import pytest
from sqlalchemy import (
    Column,
    DateTime,
    Identity,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Uuid,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from riskwatch_shared.db.bulk import UnnestInsert, array_type, unnest_insert, unnest_rows
from riskwatch_shared.db.session import create_session_factory, transaction_connection

METADATA = MetaData()
PAYMENTS = Table(
    "bulk_payments",
    METADATA,
    Column("seq", Integer, Identity(), primary_key=True),
    Column("id", Uuid, nullable=False),
    Column("payee", String(5), nullable=False),
    Column("amount", Numeric(12, 2), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("blob", LargeBinary),
)


class Payment(NamedTuple):
    id: uuid.UUID
    payee: str
    amount: Decimal
    at: datetime
    blob: bytes | None


def test_types_come_from_the_table_without_lengths_or_precisions() -> None:
    types = [array_type(PAYMENTS.c[name]) for name in Payment._fields]
    assert types == ["uuid", "text", "numeric", "timestamp with time zone", "bytea"]
    assert unnest_rows(PAYMENTS, ("id", "payee"), start=3) == (
        "unnest($3::uuid[], $4::text[]) AS t(id, payee)"
    )


def test_a_row_field_that_is_no_column_is_refused() -> None:
    class Wrong(NamedTuple):
        id: uuid.UUID
        payer: str

    with pytest.raises(ValueError, match="bulk_payments has no column payer"):
        unnest_insert(PAYMENTS, Wrong)


def test_rows_become_one_list_per_column() -> None:
    insert = UnnestInsert(PAYMENTS, ("id", "payee"))
    first, second = uuid.uuid4(), uuid.uuid4()
    assert insert.args([(first, "a"), (second, "b")]) == [[first, second], ["a", "b"]]
    assert insert.args([]) == [[], []]


@pytest.fixture
async def payments(engine: AsyncEngine) -> AsyncEngine:
    async with engine.begin() as conn:
        await conn.run_sync(PAYMENTS.drop, checkfirst=True)
        await conn.run_sync(PAYMENTS.create)
    return engine


async def test_rows_are_inserted_in_their_order_and_the_table_still_checks_them(
    payments: AsyncEngine,
) -> None:
    at = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    rows = [
        Payment(uuid.uuid4(), f"p{n}", Decimal("10.25") * n, at, b"{}" if n % 2 else None)
        for n in range(50)
    ]
    insert = unnest_insert(PAYMENTS, Payment, ordered=True)
    sessions = create_session_factory(payments)
    async with sessions() as session, session.begin():
        await (await transaction_connection(session)).execute(insert.sql, *insert.args(rows))
    async with payments.connect() as conn:
        stored = (
            await conn.exec_driver_sql(
                "SELECT id, payee, amount, at, blob FROM bulk_payments ORDER BY seq"
            )
        ).all()
    assert [tuple(row) for row in stored] == rows
    # No length in the cast: a value too long for the column is refused, never cut.
    too_long = [Payment(uuid.uuid4(), "payee-too-long", Decimal(1), at, None)]
    with pytest.raises(Exception, match="too long"):
        async with sessions() as session, session.begin():
            await (await transaction_connection(session)).execute(
                insert.sql, *insert.args(too_long)
            )
