"""Maker-checker for managed lists used by active rules: list_proposals and list_audit
(issue 23).

Revision ID: alerting_0018_lists
Revises: alerting_0017_backtest_jobs
"""

from collections.abc import Sequence

from alembic import op

from riskwatch_shared.db.governance import governance_tables

revision: str = "alerting_0018_lists"
down_revision: str | None = "alerting_0017_backtest_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for name, columns in governance_tables("list"):
        op.create_table(name, *columns)


def downgrade() -> None:
    op.drop_table("list_audit")
    op.drop_table("list_proposals")
