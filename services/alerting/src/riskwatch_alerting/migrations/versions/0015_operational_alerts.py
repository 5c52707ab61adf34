"""Detection health (issue 23 item 5): operational alerts, raised when a rule fires far above
its own baseline or a model drifts; one per subject a day, none while one is open.

Revision ID: alerting_0015_health
Revises: alerting_0014_governance
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "alerting_0015_health"
down_revision: str | None = "alerting_0014_governance"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "operational_alerts",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("subject_type", sa.String(10), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("subject_name", sa.String(200), nullable=False),
        sa.Column("severity", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.Column("figures", postgresql.JSONB(), nullable=False),
        sa.Column("owners", postgresql.JSONB(), nullable=False),
        sa.Column("owner_team", sa.String(120)),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("repeats", sa.Integer(), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True)),
        sa.Column("acknowledged_by", sa.String(200)),
        sa.Column("comment", sa.Text()),
    )
    op.create_index(
        "uq_operational_alerts_day",
        "operational_alerts",
        ["kind", "subject_id", "day"],
        unique=True,
    )
    op.create_index(
        "uq_operational_alerts_open",
        "operational_alerts",
        ["kind", "subject_id"],
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_index("ix_operational_alerts_raised_at", "operational_alerts", ["raised_at"])


def downgrade() -> None:
    op.drop_table("operational_alerts")
