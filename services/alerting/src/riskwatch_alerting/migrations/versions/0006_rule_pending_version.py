"""Rules: an edit of an active rule is a pending draft version until an admin activates it.

Revision ID: alerting_0006
Revises: alerting_0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "alerting_0006"
down_revision: str | None = "alerting_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("rules", sa.Column("pending_version", sa.Integer()))


def downgrade() -> None:
    op.drop_column("rules", "pending_version")
