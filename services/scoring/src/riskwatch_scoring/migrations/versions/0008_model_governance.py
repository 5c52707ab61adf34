"""Maker-checker for which model serves: model_proposals and model_audit (issue 23).

Revision ID: scoring_0008
Revises: scoring_0007
"""

from collections.abc import Sequence

from alembic import op

from riskwatch_shared.db.governance import governance_tables

revision: str = "scoring_0008"
down_revision: str | None = "scoring_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for name, columns in governance_tables("model"):
        op.create_table(name, *columns)


def downgrade() -> None:
    op.drop_table("model_audit")
    op.drop_table("model_proposals")
