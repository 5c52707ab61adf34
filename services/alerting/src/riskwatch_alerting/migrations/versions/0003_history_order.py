"""Evaluation history keeps its arrival order.

Revision ID: alerting_0003
Revises: alerting_0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "alerting_0003"
down_revision: str | None = "alerting_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "evaluation_history",
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
    )
    op.create_index("ix_alerts_rule_id", "alerts", ["rule_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_alerts_rule_id", table_name="alerts")
    op.drop_column("evaluation_history", "seq")
