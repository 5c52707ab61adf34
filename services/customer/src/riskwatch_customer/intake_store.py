"""The SQL of transaction intake, on a raw asyncpg connection (the hot path skips the ORM).

The intake's own asyncpg pool lives beside the service's SQLAlchemy engine (`main.py`). The
write is ONE statement: the transactions (one array parameter per column, unnest), their
`customer.transaction_received.v1` outbox rows and the relay's NOTIFY. A single statement is
atomic on its own, so the common case is one round trip and one commit; callers that need
more statements in the same transaction (an Idempotency-Key) open one around it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import asyncpg

from riskwatch_customer.domain.reference_data import in_minor_units
from riskwatch_customer.models import Transaction
from riskwatch_shared.db.base import table_of
from riskwatch_shared.db.bulk import array_type
from riskwatch_shared.events.base import type_of
from riskwatch_shared.events.common import TransactionData
from riskwatch_shared.events.customer import TransactionReceived
from riskwatch_shared.messaging.outbox import OUTBOX_CHANNEL

RECEIVED_SUBJECT = type_of(TransactionReceived)

# (column, PostgreSQL type) of the transactions table, in `TransactionData`'s field order
# after `transaction_id` (the stored row is the event's payload): the types from the table.
_TABLE = table_of(Transaction)
TRANSACTION_COLUMNS: tuple[tuple[str, str], ...] = tuple(
    (name, array_type(_TABLE.c[name]))
    for name in TransactionData.__struct_fields__
    if name != "transaction_id"
)
_NAMES = ", ".join(name for name, _ in TRANSACTION_COLUMNS)
_ARRAYS = ", ".join(
    f"${n}::{sql_type}[]" for n, (_, sql_type) in enumerate(TRANSACTION_COLUMNS, start=2)
)
_EVENT_IDS = len(TRANSACTION_COLUMNS) + 2


# Rows whose customer is unknown, or whose account is unknown or somebody else's, are left
# out by the same statement; ON CONFLICT DO NOTHING on the unique external id makes concurrent
# identical sends safe (the later ones wait for the first to commit, then insert nothing). An
# outbox row is written only for a transaction actually inserted, in the items' order.
def _store_statement(items: str) -> str:
    """The write, from `items`: a relation of (id, the columns, event_id, payload, position)."""
    return f"""
WITH item AS ({items}), stored AS (
    INSERT INTO transactions (id, {_NAMES})
    SELECT id, {_NAMES} FROM item i
    WHERE EXISTS (SELECT 1 FROM customers c WHERE c.id = i.customer_id)
      AND (i.account_id IS NULL OR EXISTS (
          SELECT 1 FROM accounts a WHERE a.id = i.account_id AND a.customer_id = i.customer_id))
    ON CONFLICT (external_id) DO NOTHING
    RETURNING external_id
), staged AS (
    INSERT INTO outbox (id, subject, payload, traceparent)
    SELECT i.event_id, '{RECEIVED_SUBJECT}', i.payload, ${_EVENT_IDS + 2}::text
    FROM item i JOIN stored s ON s.external_id = i.external_id
    ORDER BY i.position
    RETURNING 1
)
SELECT s.external_id, (SELECT pg_notify('{OUTBOX_CHANNEL}', '') WHERE EXISTS (SELECT 1 FROM staged))
FROM stored s
"""


# Many rows: one array parameter per column. One row: plain parameters, far cheaper to bind.
_STORE_MANY = _store_statement(
    f"SELECT * FROM unnest($1::uuid[], {_ARRAYS},"
    f" ${_EVENT_IDS}::uuid[], ${_EVENT_IDS + 1}::bytea[])"
    f" WITH ORDINALITY AS t(id, {_NAMES}, event_id, payload, position)"
)
_STORE_ONE = _store_statement(
    "SELECT $1::uuid AS id, "
    + ", ".join(
        f"${n}::{sql_type} AS {name}"
        for n, (name, sql_type) in enumerate(TRANSACTION_COLUMNS, start=2)
    )
    + f", ${_EVENT_IDS}::uuid AS event_id, ${_EVENT_IDS + 1}::bytea AS payload, 1 AS position"
)


async def store_transactions(
    conn: asyncpg.Connection,
    rows: Sequence[dict[str, Any]],
    events: Sequence[tuple[uuid.UUID, bytes]],
    traceparent: str | None = None,
) -> set[str]:
    """Insert new transactions with their outbox rows (event id, payload; the request's W3C
    `traceparent`) in ONE statement; returns the external ids actually inserted. `rows` must
    hold distinct external ids."""
    if not rows:
        return set()
    if len(rows) == 1:
        [row], [(event_id, payload)] = rows, events
        values = [row["transaction_id"], *[row[name] for name, _ in TRANSACTION_COLUMNS]]
        external_id = await conn.fetchval(_STORE_ONE, *values, event_id, payload, traceparent)
        return {external_id} if external_id is not None else set()
    columns = [[row["transaction_id"] for row in rows]]
    columns += [[row[name] for row in rows] for name, _ in TRANSACTION_COLUMNS]
    columns += [[event_id for event_id, _ in events], [payload for _, payload in events]]
    records = await conn.fetch(_STORE_MANY, *columns, traceparent)
    return {record[0] for record in records}


_INTAKE_REFS = (
    "SELECT 'c' AS kind, id, id AS customer_id FROM customers WHERE id = ANY($1::uuid[]) "
    "UNION ALL SELECT 'a', id, customer_id FROM accounts WHERE id = ANY($2::uuid[])"
)


@dataclass(frozen=True)
class IntakeRefs:
    customers: set[uuid.UUID]
    account_owner: dict[uuid.UUID, uuid.UUID]


async def fetch_intake_refs(
    conn: asyncpg.Connection, customer_ids: set[uuid.UUID], account_ids: set[uuid.UUID]
) -> IntakeRefs:
    """Which customers and accounts exist (and whose the accounts are): one query."""
    refs = IntakeRefs(set(), {})
    for kind, row_id, customer_id in await conn.fetch(
        _INTAKE_REFS, list(customer_ids), list(account_ids)
    ):
        if kind == "c":
            refs.customers.add(row_id)
        else:
            refs.account_owner[row_id] = customer_id
    return refs


_SELECT_DATA = f"SELECT id, {_NAMES} FROM transactions"


def _transaction_data(record: asyncpg.Record) -> dict[str, Any]:
    """A stored row as the `TransactionData` fields, in their order (amount in minor units)."""
    data = {"transaction_id": record["id"]}
    data.update((name, record[name]) for name, _ in TRANSACTION_COLUMNS)
    amount: Decimal = data["amount"]
    data["amount"] = in_minor_units(amount, data["currency"])
    return data


async def transactions_by_external_ids(
    conn: asyncpg.Connection, external_ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    if not external_ids:
        return {}
    records = await conn.fetch(f"{_SELECT_DATA} WHERE external_id = ANY($1::text[])", external_ids)
    return {record["external_id"]: _transaction_data(record) for record in records}


async def transaction_by_id(
    conn: asyncpg.Connection, transaction_id: uuid.UUID
) -> dict[str, Any] | None:
    record = await conn.fetchrow(f"{_SELECT_DATA} WHERE id = $1", transaction_id)
    return _transaction_data(record) if record is not None else None


async def idempotency_key(conn: asyncpg.Connection, key: str) -> tuple[str, uuid.UUID] | None:
    """(request fingerprint, transaction id) remembered for this key, if any."""
    record = await conn.fetchrow(
        "SELECT request_fingerprint, transaction_id FROM idempotency_keys WHERE key = $1", key
    )
    return (record[0], record[1]) if record is not None else None


async def remember_idempotency_key(
    conn: asyncpg.Connection, *, key: str, fingerprint: str, transaction_id: uuid.UUID
) -> bool:
    """True when the key is now ours; False when another request holds it already."""
    inserted = await conn.fetchval(
        "INSERT INTO idempotency_keys (key, request_fingerprint, transaction_id, created_at) "
        "VALUES ($1, $2, $3, now()) ON CONFLICT (key) DO NOTHING RETURNING key",
        key,
        fingerprint,
        transaction_id,
    )
    return inserted is not None
