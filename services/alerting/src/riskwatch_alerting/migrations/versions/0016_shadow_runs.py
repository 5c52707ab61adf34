"""Shadow runs (issue 23 item 2): a proposed rule version evaluated on live traffic beside the
active rules without raising alerts; its would-be hits are stored for the comparison.

Revision ID: alerting_0016_shadow
Revises: alerting_0015_health
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "alerting_0016_shadow"
down_revision: str | None = "alerting_0015_health"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "shadow_runs",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "proposal_id",
            sa.Uuid(),
            sa.ForeignKey("rule_proposals.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "rule_id", sa.Uuid(), sa.ForeignKey("rules.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("started_by", sa.String(200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
        sa.Column("stopped_by", sa.String(200)),
        sa.Column("stopped_at", sa.DateTime(timezone=True)),
        sa.Column("stop_reason", sa.String(40)),
        sa.Column("hit_count", sa.BigInteger(), nullable=False, server_default="0"),
    )
    # One running shadow per proposal; the event path loads the running ones.
    op.create_index(
        "uq_shadow_runs_running",
        "shadow_runs",
        ["proposal_id"],
        unique=True,
        postgresql_where=sa.text("status = 'running'"),
    )
    op.create_index("ix_shadow_runs_rule", "shadow_runs", ["rule_id", "started_at"])
    op.create_table(
        "shadow_hits",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), primary_key=True),
        sa.Column(
            "run_id",
            sa.Uuid(),
            sa.ForeignKey("shadow_runs.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(120), nullable=False),
        sa.Column("customer_id", sa.Uuid()),
        sa.Column("transaction_id", sa.Uuid()),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dedup_value", sa.String(400), nullable=False),
        sa.Column("evidence", sa.LargeBinary(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    )
    op.create_index("ix_shadow_hits_run", "shadow_hits", ["run_id", "occurred_at", "id"])


def downgrade() -> None:
    op.drop_table("shadow_hits")
    op.drop_table("shadow_runs")
