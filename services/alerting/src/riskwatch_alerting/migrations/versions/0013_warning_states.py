"""Credit early warning (issue 22 item 3): each customer's indicators with their level, since
when and their first amber and red (the lead time counts from them); the segment baselines
the segment triggers read; the review-due notice of a watch-list entry, sent once per date.

Revision ID: alerting_0013_warning
Revises: alerting_0012_console360
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "alerting_0013_warning"
down_revision: str | None = "alerting_0012_console360"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _at(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "warning_states",
        sa.Column("customer_id", sa.Uuid(), primary_key=True),
        sa.Column("indicator", sa.String(60), primary_key=True),
        sa.Column("level", sa.String(10)),
        _at("since"),
        _at("first_amber_at"),
        _at("first_red_at"),
        sa.Column("value", sa.Float()),
        sa.Column("detail", JSONB(), nullable=False),
        sa.Column("segment", sa.String(100)),
        _at("updated_at", nullable=False),
    )
    op.create_index("ix_warning_states_first_amber_at", "warning_states", ["first_amber_at"])
    op.create_table(
        "warning_movements",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), primary_key=True),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("indicator", sa.String(60), nullable=False),
        sa.Column("change", sa.String(20), nullable=False),
        sa.Column("from_level", sa.String(10)),
        sa.Column("to_level", sa.String(10)),
        _at("at", nullable=False),
        sa.Column("detail", JSONB(), nullable=False),
    )
    op.create_index("ix_warning_movements_at", "warning_movements", ["at"])
    op.create_index("ix_warning_movements_customer", "warning_movements", ["customer_id", "at"])
    op.create_table(
        "warning_baselines",
        sa.Column("segment", sa.String(100), primary_key=True),
        sa.Column("metric", sa.String(60), primary_key=True),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column("percentiles", JSONB(), nullable=False),
        _at("computed_at", nullable=False),
    )
    op.add_column("watchlist_entries", sa.Column("review_due_notified", sa.Date()))


def downgrade() -> None:
    op.drop_column("watchlist_entries", "review_due_notified")
    op.drop_table("warning_baselines")
    op.drop_table("warning_movements")
    op.drop_table("warning_states")
