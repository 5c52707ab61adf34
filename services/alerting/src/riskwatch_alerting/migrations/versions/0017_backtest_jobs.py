"""Backtests as jobs (issue 23 item 3): a backtest is queued, claimed by any replica's runner
(SKIP LOCKED, under a lease the runner renews), run off the live event loop, and its
progress, caps and result live in this table.

Revision ID: alerting_0017_backtest_jobs
Revises: alerting_0016_shadow
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "alerting_0017_backtest_jobs"
down_revision: str | None = "alerting_0016_shadow"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOW = sa.text("now()")


def upgrade() -> None:
    # A replay reads the history in keyset pages ordered by (occurred_at, seq): with the
    # index on occurred_at alone each page sorted every later row of the range. The new
    # index serves every query the old one did; built without blocking the event path.
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_evaluation_history_replay",
            "evaluation_history",
            ["occurred_at", "seq"],
            postgresql_concurrently=True,
            if_not_exists=True,
        )
        op.drop_index(
            "ix_evaluation_history_occurred_at",
            table_name="evaluation_history",
            postgresql_concurrently=True,
            if_exists=True,
        )
    op.create_table(
        "backtest_jobs",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
        sa.Column("idempotency_key", sa.String(200)),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("rule_id", sa.Uuid()),
        sa.Column("rule_version", sa.Integer()),
        sa.Column("definition", JSONB(), nullable=False),
        sa.Column("range_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("range_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("events_replayed", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("events_evaluated", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("hits", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("replayed_until", sa.DateTime(timezone=True)),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("lease_owner", sa.String(200)),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True)),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True)),
        sa.Column("deadline_at", sa.DateTime(timezone=True)),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("result", JSONB()),
        sa.Column("error", sa.Text()),
    )
    op.create_index("ix_backtest_jobs_listed", "backtest_jobs", ["created_at", "id"])
    op.create_index("ix_backtest_jobs_owner", "backtest_jobs", ["created_by", "created_at"])
    # Only unfinished jobs are claimed and counted against the caps: a small partial index.
    op.create_index(
        "ix_backtest_jobs_unfinished",
        "backtest_jobs",
        ["status", "created_at"],
        postgresql_where=sa.text("status IN ('queued', 'running')"),
    )
    op.create_index(
        "uq_backtest_jobs_idempotency",
        "backtest_jobs",
        ["created_by", "idempotency_key"],
        unique=True,
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_table("backtest_jobs")
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_evaluation_history_occurred_at",
            "evaluation_history",
            ["occurred_at"],
            postgresql_concurrently=True,
            if_not_exists=True,
        )
        op.drop_index(
            "ix_evaluation_history_replay",
            table_name="evaluation_history",
            postgresql_concurrently=True,
            if_exists=True,
        )
