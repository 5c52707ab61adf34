"""Inbox messages name their customer (issue 22): a watch-list message has no alert, so a
relationship manager's inbox shows it by the customer it is about.

Revision ID: notify_0010_inbox_customer
Revises: notify_0009_config_audit
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "notify_0010_inbox_customer"
down_revision: str | None = "notify_0009_config_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("inbox_messages", sa.Column("customer_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    op.drop_column("inbox_messages", "customer_id")
