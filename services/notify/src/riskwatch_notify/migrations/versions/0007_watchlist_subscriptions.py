"""Subscriptions to the watch list's events (issue 22): a team or person subscribes to
entries, reviews, exits and reviews due (`watchlist_events`), with or without alerts
(`alerts`: false for a subscription to the watch list only).

Revision ID: notify_0007_warning
Revises: notify_0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision: str = "notify_0007_warning"
down_revision: str | None = "notify_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "subscriptions",
        sa.Column("watchlist_events", ARRAY(sa.String(20)), nullable=False, server_default="{}"),
    )
    op.add_column(
        "subscriptions",
        sa.Column("alerts", sa.Boolean(), nullable=False, server_default=sa.text("true")),
    )


def downgrade() -> None:
    op.drop_column("subscriptions", "alerts")
    op.drop_column("subscriptions", "watchlist_events")
