"""The watch list (issue 22 item 3): customers followed closely, with an owner, a review date,
required actions and exit criteria, and the history of their reviews. And the alert desk's SLA
sort over all alerts (0010's index covers the open ones only).

Revision ID: alerting_0011_deskapi
Revises: alerting_0010_deskapi
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "alerting_0011_deskapi"
down_revision: str | None = "alerting_0010_deskapi"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = sa.text("status = 'active'")


def _at(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "watchlist_entries",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("customer_name", sa.String(300)),
        sa.Column("relationship_manager", sa.String(200)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("review_due", sa.Date(), nullable=False),
        sa.Column("required_actions", JSONB(), nullable=False),
        sa.Column("exit_criteria", sa.Text(), nullable=False),
        sa.Column("origin", sa.String(20), nullable=False),
        sa.Column("origin_ref", sa.String(200)),
        _at("entered_at"),
        sa.Column("entered_by", sa.String(200), nullable=False),
        sa.Column("entered_by_name", sa.String(200)),
        _at("last_reviewed_at", nullable=True),
        _at("exited_at", nullable=True),
        sa.Column("exited_by", sa.String(200)),
        sa.Column("exit_reason", sa.Text()),
    )
    op.create_index(
        "uq_watchlist_active_customer",
        "watchlist_entries",
        ["customer_id"],
        unique=True,
        postgresql_where=ACTIVE,
    )
    op.create_index("ix_watchlist_entered_at", "watchlist_entries", ["entered_at"])
    op.create_index(
        "ix_watchlist_active_review_due",
        "watchlist_entries",
        ["review_due"],
        postgresql_where=ACTIVE,
    )
    op.create_table(
        "watchlist_reviews",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), primary_key=True),
        sa.Column(
            "entry_id",
            sa.Uuid(),
            sa.ForeignKey("watchlist_entries.id", ondelete="CASCADE"),
            nullable=False,
        ),
        _at("at"),
        sa.Column("reviewer", sa.String(200), nullable=False),
        sa.Column("reviewer_name", sa.String(200)),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("next_review_due", sa.Date(), nullable=False),
    )
    op.create_index("ix_watchlist_reviews_entry_id", "watchlist_reviews", ["entry_id"])
    op.create_index("ix_alerts_sla_due_at_id", "alerts", ["sla_due_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_alerts_sla_due_at_id", table_name="alerts")
    op.drop_table("watchlist_reviews")
    op.drop_table("watchlist_entries")
