"""Alembic operations for the outbox and inbox tables, the same in every service's migrations."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from riskwatch_shared.db.base import OUTBOX_TOAST_TUPLE_TARGET


def create_messaging_tables() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("seq", name="uq_outbox_seq"),
    )
    op.create_index(
        "ix_outbox_unpublished", "outbox", ["seq"], postgresql_where=sa.text("published_at IS NULL")
    )
    op.create_index("ix_outbox_published_at", "outbox", ["published_at"])
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(120), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column(
            "processed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("consumer", "event_id", name="pk_inbox"),
    )
    op.create_index("ix_inbox_processed_at", "inbox", ["processed_at"])


def drop_messaging_tables() -> None:
    op.drop_table("inbox")
    op.drop_table("outbox")


def slim_messaging_tables() -> None:
    """Outbox as a queue, inbox with a BRIN pruning index (each service's migration after
    `create_messaging_tables`).

    The relay deletes a row in the transaction that publishes it, instead of setting
    `published_at` (a non-HOT update: a new version of the 1-3 KB row plus an entry in every
    index) and purging it a day later. So `published_at`, its index and the partial index of
    unpublished rows go, and `seq` (the relay's key) becomes the primary key in place of the
    uuid `id`, which stays as the event's `Nats-Msg-Id`. Payloads stay inline and
    uncompressed up to ~8 KB (`toast_tuple_target`): no pglz work for a row that lives
    milliseconds.
    """
    op.execute("DELETE FROM outbox WHERE published_at IS NOT NULL")  # sent: left for the purge
    op.drop_index("ix_outbox_published_at", table_name="outbox")
    op.drop_index("ix_outbox_unpublished", table_name="outbox")
    op.drop_constraint("pk_outbox", "outbox", type_="primary")
    op.drop_constraint("uq_outbox_seq", "outbox", type_="unique")
    op.create_primary_key("pk_outbox", "outbox", ["seq"])
    op.drop_column("outbox", "published_at")
    op.execute(f"ALTER TABLE outbox SET (toast_tuple_target = {OUTBOX_TOAST_TUPLE_TARGET})")
    op.drop_index("ix_inbox_processed_at", table_name="inbox")
    op.create_index("ix_inbox_processed_at", "inbox", ["processed_at"], postgresql_using="brin")


def unslim_messaging_tables() -> None:
    """Undo `slim_messaging_tables`: the tables as `create_messaging_tables` makes them."""
    op.execute("ALTER TABLE outbox RESET (toast_tuple_target)")
    op.drop_index("ix_inbox_processed_at", table_name="inbox")
    op.create_index("ix_inbox_processed_at", "inbox", ["processed_at"])
    op.add_column("outbox", sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))
    op.drop_constraint("pk_outbox", "outbox", type_="primary")
    op.create_primary_key("pk_outbox", "outbox", ["id"])
    op.create_unique_constraint("uq_outbox_seq", "outbox", ["seq"])
    op.create_index(
        "ix_outbox_unpublished", "outbox", ["seq"], postgresql_where=sa.text("published_at IS NULL")
    )
    op.create_index("ix_outbox_published_at", "outbox", ["published_at"])


def add_outbox_traceparent() -> None:
    """The W3C `traceparent` the relay sends with each event (nullable: rows staged before)."""
    op.add_column("outbox", sa.Column("traceparent", sa.String(55), nullable=True))


def drop_outbox_traceparent() -> None:
    op.drop_column("outbox", "traceparent")
