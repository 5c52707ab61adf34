"""Outbox rows deleted as they are published; BRIN index on inbox.processed_at.

Revision ID: notify_0003
Revises: notify_0002
"""

from collections.abc import Sequence

from riskwatch_shared.db.migration_ops import slim_messaging_tables, unslim_messaging_tables

revision: str = "notify_0003"
down_revision: str | None = "notify_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    slim_messaging_tables()


def downgrade() -> None:
    unslim_messaging_tables()
