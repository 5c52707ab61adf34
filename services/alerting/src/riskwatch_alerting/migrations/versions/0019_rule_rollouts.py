"""Percentage rollouts (issue 23 item 2): an approved version of an active rule evaluated for a
deterministic share of customers (`rollout_percent`) beside the live version until completed.

Revision ID: alerting_0019_rollout
Revises: alerting_0018_lists
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "alerting_0019_rollout"
down_revision: str | None = "alerting_0018_lists"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("rules", sa.Column("rollout_version", sa.Integer()))
    op.add_column("rules", sa.Column("rollout_percent", sa.Integer()))


def downgrade() -> None:
    op.drop_column("rules", "rollout_percent")
    op.drop_column("rules", "rollout_version")
