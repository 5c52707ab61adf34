"""Declarative base factory with a naming convention, the outbox/inbox tables, and a model's
Core table."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Uuid,
    func,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def table_of(model: Any) -> Table:
    """The Core table of a declarative model (typed): bulk and raw statements skip the ORM's
    per-row bookkeeping."""
    return cast(Table, model.__table__)


# The largest toast_tuple_target PostgreSQL accepts with 8 KB pages.
OUTBOX_TOAST_TUPLE_TARGET = 8160


def new_metadata() -> MetaData:
    """Each service owns one MetaData (its own database); outbox and inbox live in it too."""
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    outbox_table(metadata)
    inbox_table(metadata)
    return metadata


def outbox_table(metadata: MetaData) -> Table:
    """A queue: a row lives from the producer's commit until the relay's, which publishes it
    and deletes it in one transaction. One index (the `seq` primary key, publication order);
    `id` is the event's id and `Nats-Msg-Id`, unique by construction (uuid4), unindexed."""
    return Table(
        "outbox",
        metadata,
        Column("id", Uuid, nullable=False),
        # Publication order = commit order of the rows' sequence numbers.
        Column("seq", BigInteger, Identity(always=True), primary_key=True),
        Column("subject", String(200), nullable=False),
        Column("payload", LargeBinary, nullable=False),
        # The W3C trace context the relay sends in the message's `traceparent` header.
        Column("traceparent", String(55), nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        # A row lives milliseconds: payloads up to ~8 KB stay inline and uncompressed rather
        # than be pglz-compressed on insert and decompressed by the relay past 2 KB.
        postgresql_with={"toast_tuple_target": OUTBOX_TOAST_TUPLE_TARGET},
    )


def inbox_table(metadata: MetaData) -> Table:
    return Table(
        "inbox",
        metadata,
        Column("consumer", String(120), nullable=False),
        Column("event_id", Uuid, nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("consumer", "event_id"),
        # Rows arrive in processed_at order: a BRIN index finds a pruning range at a fraction
        # of a b-tree's upkeep per claimed event.
        Index("ix_inbox_processed_at", "processed_at", postgresql_using="brin"),
    )
