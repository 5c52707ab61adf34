"""Risk-control measures on customers; interactions remember the alert and the actor's name.

Revision ID: customer_0004
Revises: customer_0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "customer_0004"
down_revision: str | None = "customer_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("interactions", sa.Column("staff_name", sa.String(200)))
    op.add_column("interactions", sa.Column("alert_id", sa.Uuid()))
    op.create_table(
        "risk_measures",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("customer_id", sa.Uuid(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("account_id", sa.Uuid()),
        sa.Column("limit_amount", sa.Numeric(20, 4)),
        sa.Column("limit_currency", sa.CHAR(3)),
        sa.Column("list_id", sa.Uuid()),
        sa.Column("list_name", sa.String(200)),
        sa.Column("list_value", sa.String(200)),
        sa.Column("reason", sa.Text()),
        sa.Column("alert_id", sa.Uuid()),
        sa.Column("taken_by", sa.String(200)),
        sa.Column("taken_by_name", sa.String(200)),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lifted_by", sa.String(200)),
        sa.Column("lifted_at", sa.DateTime(timezone=True)),
        sa.Column("lift_reason", sa.Text()),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    )
    op.create_index("ix_risk_measures_customer", "risk_measures", ["customer_id", "taken_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_risk_measures_customer", table_name="risk_measures")
    op.drop_table("risk_measures")
    op.drop_column("interactions", "alert_id")
    op.drop_column("interactions", "staff_name")
