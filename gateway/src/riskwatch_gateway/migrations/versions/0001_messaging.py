"""Outbox and inbox tables.

Revision ID: gateway_0001
Revises:
"""

from collections.abc import Sequence

from riskwatch_shared.db.migration_ops import create_messaging_tables, drop_messaging_tables

revision: str = "gateway_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_messaging_tables()


def downgrade() -> None:
    drop_messaging_tables()
