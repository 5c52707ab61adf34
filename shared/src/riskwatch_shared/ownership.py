"""Relationship managers see and act on only their own customers: the one rule every service
applies, and the small owner projection a service keeps from customer events to apply it.

An RM (the `relationship_manager` role and nothing broader) is confined to the customers whose
`relationship_manager` is their staff id (or their subject when they have none); anyone else
sees everyone. Another RM's customer, and what hangs off it (alerts, scores, notifications),
is answered 404, exactly as a customer that does not exist: an RM learns nothing of it.

The projection (`customer_owners`: customer id -> relationship manager) is fed in the
consumer's transaction by `customer.created.v1` / `customer.updated.v1` (scoring) or by
`alerting.alert_raised.v1`, which carries the customer's RM when raised (notify); an older
snapshot never overwrites a newer one (redeliveries, replays).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Column, DateTime, MetaData, String, Table, Uuid, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_shared.errors import NotFound
from riskwatch_shared.events.alerting import (
    AlertRaised,
    CustomerEnteredWatchlist,
    CustomerExitedWatchlist,
    WatchlistReviewDue,
    WatchlistReviewed,
)
from riskwatch_shared.events.base import Event
from riskwatch_shared.events.customer import CustomerCreated, CustomerUpdated
from riskwatch_shared.security import Identity

# Matches no relationship manager: an RM-only caller without any id sees nobody.
NOBODY = "\x00"
OWNERS_TABLE = "customer_owners"


def owner_scope(identity: Identity) -> str | None:
    """The relationship manager a caller is confined to, or None when they see everyone."""
    if identity.is_relationship_manager_only:
        return identity.staff_id or identity.subject or NOBODY
    return None


def may_see(identity: Identity, relationship_manager: str | None) -> bool:
    owner = owner_scope(identity)
    return owner is None or relationship_manager == owner


def require_visible(identity: Identity, relationship_manager: str | None, what: str) -> None:
    """404 (as for something that does not exist) unless the caller may see it."""
    if not may_see(identity, relationship_manager):
        raise NotFound(f"no {what}")


# --- the owner projection -------------------------------------------------------------------


def owners_table(metadata: MetaData) -> Table:
    """customer id -> relationship manager, as the customer service last said."""
    return Table(
        OWNERS_TABLE,
        metadata,
        Column("customer_id", Uuid, primary_key=True),
        Column("relationship_manager", String(200), nullable=True),
        # The event time of the snapshot stored: an older one never overwrites it.
        Column("as_of", DateTime(timezone=True), nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        sa.Index("ix_customer_owners_relationship_manager", "relationship_manager"),
    )


def create_owners_table() -> None:
    """The Alembic operation creating `customer_owners` (a service's migration calls it)."""
    from alembic import op

    op.create_table(
        OWNERS_TABLE,
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("relationship_manager", sa.String(200), nullable=True),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("customer_id", name=f"pk_{OWNERS_TABLE}"),
    )
    op.create_index(
        "ix_customer_owners_relationship_manager", OWNERS_TABLE, ["relationship_manager"]
    )


def drop_owners_table() -> None:
    from alembic import op

    op.drop_table(OWNERS_TABLE)


_WATCHLIST_EVENTS = (
    CustomerEnteredWatchlist,
    WatchlistReviewed,
    CustomerExitedWatchlist,
    WatchlistReviewDue,
)


def _owner_of_event(event: Event) -> tuple[uuid.UUID, str | None] | None:
    if isinstance(event, CustomerCreated | CustomerUpdated):
        return event.customer_id, event.customer.relationship_manager
    if isinstance(event, AlertRaised) and event.customer_id is not None:
        return event.customer_id, event.relationship_manager
    # A watch-list event names the customer's RM when alerting knew one (never unassigns).
    if isinstance(event, _WATCHLIST_EVENTS) and event.relationship_manager is not None:
        return event.customer_id, event.relationship_manager
    return None


def owner_rows(events: Iterable[Event]) -> list[dict[str, Any]]:
    """The newest owner of each customer the events in `events` speak of (pure)."""
    newest: dict[uuid.UUID, dict[str, Any]] = {}
    for event in events:
        found = _owner_of_event(event)
        if found is None:
            continue
        customer_id, relationship_manager = found
        seen = newest.get(customer_id)
        if seen is None or seen["as_of"] <= event.occurred_at:
            newest[customer_id] = {
                "customer_id": customer_id,
                "relationship_manager": relationship_manager,
                "as_of": event.occurred_at,
            }
    return list(newest.values())


async def record_owners(session: AsyncSession, table: Table, events: Iterable[Event]) -> int:
    """Upsert the owners the customer events in `events` carry; returns how many rows."""
    rows = owner_rows(events)
    if not rows:
        return 0
    statement = pg_insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.customer_id],
        set_={
            "relationship_manager": statement.excluded.relationship_manager,
            "as_of": statement.excluded.as_of,
            "updated_at": func.now(),
        },
        where=table.c.as_of <= statement.excluded.as_of,
    )
    await session.execute(statement, rows)
    return len(rows)


async def owner_of(session: AsyncSession, table: Table, customer_id: uuid.UUID) -> str | None:
    """The customer's relationship manager, None when unknown or unassigned."""
    statement = select(table.c.relationship_manager).where(table.c.customer_id == customer_id)
    value: str | None = (await session.execute(statement)).scalar_one_or_none()
    return value


async def require_customer_visible(
    session: AsyncSession, table: Table, identity: Identity, customer_id: uuid.UUID
) -> None:
    """404 unless the caller may see the customer (RMs: only their own, as projected)."""
    if owner_scope(identity) is None:
        return
    require_visible(identity, await owner_of(session, table, customer_id), "such customer")
