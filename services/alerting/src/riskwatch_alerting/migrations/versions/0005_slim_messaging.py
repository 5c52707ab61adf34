"""Outbox rows deleted as they are published; BRIN index on inbox.processed_at.

Revision ID: alerting_0005
Revises: alerting_0004_json_bytea
"""

from collections.abc import Sequence

from riskwatch_shared.db.migration_ops import slim_messaging_tables, unslim_messaging_tables

revision: str = "alerting_0005"
down_revision: str | None = "alerting_0004_json_bytea"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    slim_messaging_tables()


def downgrade() -> None:
    unslim_messaging_tables()
