"""Maker-checker for escalation policies: escalation_policy_proposals and
escalation_policy_audit (issue 23).

Revision ID: notify_0008
Revises: notify_0007_warning
"""

from collections.abc import Sequence

from alembic import op

from riskwatch_shared.db.governance import governance_tables

revision: str = "notify_0008"
down_revision: str | None = "notify_0007_warning"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for name, columns in governance_tables("escalation_policy"):
        op.create_table(name, *columns)


def downgrade() -> None:
    op.drop_table("escalation_policy_audit")
    op.drop_table("escalation_policy_proposals")
