"""Credit records say how many days the oldest unpaid instalment is overdue and the monthly
instalments due (the early-warning catalogue's early arrears and instalment-to-income).

Revision ID: customer_0006_warning
Revises: customer_0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "customer_0006_warning"
down_revision: str | None = "customer_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("credit_records", sa.Column("days_past_due", sa.Integer()))
    op.add_column("credit_records", sa.Column("monthly_instalment", sa.Numeric(20, 4)))


def downgrade() -> None:
    op.drop_column("credit_records", "monthly_instalment")
    op.drop_column("credit_records", "days_past_due")
